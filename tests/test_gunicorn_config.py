"""deploy/gunicorn.conf.py as deployed: the app preloaded in the master, the workers forked from it (sharing its
pages), and nothing of the database opened before the fork (issue 17: memory per deployment)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rollup(pid: int) -> dict[str, int]:
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+) kB", text, re.M)}


def children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
            for c in (task / "children").read_text().split()]


@pytest.fixture
def served(tmp_path):
    if not Path("/proc/self/smaps_rollup").exists():
        pytest.skip("needs Linux /proc")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
    database = tmp_path / "app.db"
    env.update(SECRET_KEY="gunicorn-config-test", DATABASE_URL=f"sqlite:///{database}",
               PKI_DIR=str(tmp_path / "pki"), SEMPELMAS_ENV="development")
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(CONF), "--workers", "2",
                             "--worker-class", "sync", "--no-control-socket", "--graceful-timeout", "2",
                             "-b", f"127.0.0.1:{port}", "--error-logfile", str(log), "app:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield proc, port, database
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this server's processes
            proc.wait(timeout=5)


def test_workers_forked_from_the_preloaded_app_share_its_pages_and_every_one_answers(served):
    proc, port, _database = served
    statuses: list[int] = []

    def get():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30) as resp:
            statuses.append(resp.status)

    threads = [threading.Thread(target=get) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 6
    workers = children(proc.pid)
    assert len(workers) == 2
    for pid in workers:
        # the app's modules were imported by the master: a worker shares them (a worker importing its own copy
        # shares only the interpreter and its libraries, ~10 MB)
        shared = rollup(pid)["Shared_Clean"] + rollup(pid)["Shared_Dirty"]
        assert shared > 40 * 1024, f"worker {pid} shares only {shared} kB with the master"


def test_the_master_holds_no_database_file_open_for_the_workers_to_inherit(served):
    proc, _port, database = served
    opened = []
    for fd in Path(f"/proc/{proc.pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            opened.append(os.readlink(fd))
    assert not [p for p in opened if p.startswith(str(database))], opened
