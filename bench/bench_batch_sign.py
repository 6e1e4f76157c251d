"""Benchmark: every role's pages while two officials each sign a batch of 100 letters at the same moment.

Acceptance (issue 13): during the two batches, every page answers at p95 <= 300 ms; both batch requests
answer at once (the letters are signed by each batch's own process, services/letters/batch_signing.py); all 200
letters are signed, numbered without gap or repeat, each with its result in its job.

Real gunicorn with the Makefile's settings (2 sync workers, --timeout 90, access log), the app built as
`make run` builds it (configuration from the environment, SQLite in WAL mode) with its instance folder in a
temporary directory (bench/batch_app.py), the demo data (Kelurahan Jagalan: `flask seed-demo`'s accounts,
officials, CA and three signed letters) and 200 requests of the demo resident waiting for a signature.

A load loop (Python threads, one keep-alive connection each; wrk is not needed) plays one person per role:
anonymous visitor (/login, a letter's public verification page), resident, RT head, staff, the two officials
and the admin. Each person requests their pages in turn with ``--think`` seconds between requests; every
request's latency is recorded with its page. Two phases in the same run, same load:

1. baseline: ``--baseline`` seconds without batches;
2. batches: the lurah and the sekretaris post their batch of 100 at the same moment (a barrier), then their
   browsers poll the batch page every second (htmx), as the page does; the phase lasts until both jobs end.

Per page: requests, p50, p95 and max in each phase; the verdict is p95 <= 300 ms during the batches for every
page, no error status, both batch requests answered within 2 s, 200 letters signed.

    .venv/bin/python bench/bench_batch_sign.py [--baseline 20] [--think 0.2] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from pathlib import Path

from signing_queue_seed import seed_signing_queue  # bench/ is on sys.path: the scripts run as bench/<name>.py

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
HOST = "127.0.0.1"
TARGET_P95_MS = 300.0
START_WITHIN_S = 2.0
BATCH = 100
USER_AGENT = "sempelmas-bench/1.0"
#: the Makefile's `serve` settings (2 workers by default)
GUNICORN = ["--workers", "2", "--worker-class", "sync", "--timeout", "90", "--no-control-socket",
            "--graceful-timeout", "5"]

#: person → (login, password, pages); "{code}" is a demo letter's verification code
PEOPLE = {
    "publik": (None, None, ["/login", "/v/{code}"]),
    "warga": ("3576034101900001", "warga-demo", ["/warga/", "/warga/permohonan"]),
    "rt": ("rt01", "rt01-demo", ["/rt/", "/rt/permohonan"]),
    "petugas": ("petugas", "petugas-demo", ["/petugas/", "/petugas/permohonan", "/petugas/surat"]),
    "lurah": ("lurah", "lurah-demo", ["/penandatangan/"]),
    "sekretaris": ("sekretaris", "sekretaris-demo", ["/penandatangan/"]),
    "admin": ("admin", "admin-demo", ["/admin/", "/admin/impor"]),
}
SIGNING = {"lurah": "lurah-ttd-demo", "sekretaris": "sekretaris-ttd-demo"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def prepare(workdir: Path, env: dict) -> str:
    """Migrate, seed the demo, and put 2 × BATCH requests in the signing queue (in a child process, so this
    process keeps no database handle). Returns a demo letter's verification code."""
    return seed_signing_queue(env, 2 * BATCH, PYTHON)[0]


class Person:
    """One browser: a cookie, a keep-alive connection, and the latencies of its requests."""

    def __init__(self, name: str, port: int):
        self.name, self.port = name, port
        self.cookie = ""
        self.conn: http.client.HTTPConnection | None = None

    def login(self, username: str, password: str) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("User-Agent", USER_AGENT)]
        base = f"http://{HOST}:{self.port}"
        with opener.open(base + "/login", timeout=30) as resp:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', resp.read().decode()).group(1)
        form = urllib.parse.urlencode({"identifier": username, "password": password, "csrf_token": token})
        with opener.open(base + "/login", data=form.encode(), timeout=30) as resp:
            if urllib.parse.urlsplit(resp.url).path.rstrip("/") in ("", "/login"):
                raise SystemExit(f"login as {username} failed")
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None
                ) -> tuple[int, float, str, dict]:
        """One request on the keep-alive connection (reopened when gunicorn closed it): status, ms, body."""
        hdrs = {"User-Agent": USER_AGENT, "Cookie": self.cookie, **(headers or {})}
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            ms = (time.perf_counter() - t0) * 1000
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return resp.status, ms, data.decode("utf-8", "replace"), dict(resp.getheaders())
        raise AssertionError("unreachable")


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.phase = "warm-up"
        self.samples: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.errors: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, page: str, status: int, ms: float) -> None:
        with self.lock:
            key = (self.phase, page)
            self.samples[key].append(ms)
            if status >= 400:
                self.errors[key].append(status)


def browse(person: Person, pages: list[str], rec: Recorder, stop: threading.Event, think: float) -> None:
    i = 0
    while not stop.is_set():
        page = pages[i % len(pages)]
        i += 1
        status, ms, _body, _h = person.request("GET", page)
        rec.add(re.sub(r"/v/\w+", "/v/<kode>", page), status, ms)
        stop.wait(think)


def start_batch(person: Person, passphrase: str, tracking: list[str], barrier: threading.Barrier,
                out: dict) -> None:
    _s, _ms, html, _h = person.request("GET", "/penandatangan/")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode([("csrf_token", token), ("passphrase", passphrase),
                                   *[("selected", tn) for tn in tracking]])
    barrier.wait()
    status, ms, _body, headers = person.request("POST", "/penandatangan/tanda-tangan", body)
    out[person.name] = (status, ms, headers.get("Location", ""))


def watch_batch(person: Person, url: str, rec: Recorder, stop: threading.Event) -> None:
    """The official's browser on the batch page: htmx asks for the fragment every second until it ends."""
    path = urllib.parse.urlsplit(url).path
    while not stop.is_set():
        status, ms, body, _h = person.request("GET", path, headers={"HX-Request": "true"})
        rec.add("/penandatangan/tanda-tangan/<job> (htmx)", status, ms)
        if 'hx-trigger="every 1s"' not in body:
            return
        stop.wait(1.0)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=float, default=20.0, help="seconds of load without batches")
    ap.add_argument("--think", type=float, default=0.2, help="seconds each person waits between requests")
    ap.add_argument("--max-batch-seconds", type=float, default=600.0)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (database, letters, logs)")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sempelmas-bench-batch-"))
    (workdir / "instance").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
    env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=f"sqlite:///{workdir / 'app.db'}",
               SEMPELMAS_ENV="development", BENCH_INSTANCE=str(workdir / "instance"),
               PKI_DIR=str(workdir / "instance" / "pki"), SEMPELMAS_VERIFY_RATE_LIMIT="100000 per minute",
               PYTHONPATH=str(ROOT))
    server = None
    try:
        t0 = time.monotonic()
        code = prepare(workdir, env)
        print(f"data: demo + {2 * BATCH} requests awaiting a signature ({time.monotonic() - t0:.0f} s)")
        port = free_port()
        log = workdir / "gunicorn.log"
        server = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", *GUNICORN, "-b", f"{HOST}:{port}", "--chdir", str(BENCH),
             "--access-logfile", str(workdir / "access.log"), "--error-logfile", str(log), "batch_app:app"],
            env=env, cwd=BENCH, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/login", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.3)

        people = {}
        for name, (username, password, _pages) in PEOPLE.items():
            people[name] = Person(name, port)
            if username:
                people[name].login(username, password)
        db = sqlite3.connect(f"file:{workdir / 'app.db'}?mode=ro", uri=True, timeout=30)
        waiting = [tn for (tn,) in db.execute(
            "SELECT tracking_number FROM letter_requests WHERE status = 'menunggu_ttd' ORDER BY id")]
        if len(waiting) < 2 * BATCH:
            raise SystemExit(f"{len(waiting)} requests await a signature, not {2 * BATCH}")
        left_alone = len(waiting) - 2 * BATCH  # the demo's own request waiting for a signature
        waiting = waiting[-2 * BATCH:]

        print(f"gunicorn {' '.join(GUNICORN)}; {len(PEOPLE)} people, think {args.think:g} s; "
              f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        rec = Recorder()
        stop = threading.Event()
        threads = [threading.Thread(target=browse, args=(people[n], [p.format(code=code) for p in pages], rec, stop,
                                                         args.think), daemon=True)
                   for n, (_u, _p, pages) in PEOPLE.items()]
        for t in threads:
            t.start()
        time.sleep(3)
        rec.phase = "baseline"
        time.sleep(args.baseline)

        # two officials, one batch of 100 each, posted at the same moment
        officials = {n: Person(f"{n}-batch", port) for n in SIGNING}
        for n, person in officials.items():
            person.cookie = people[n].cookie  # the same browser: their session
        barrier = threading.Barrier(len(officials))
        started: dict = {}
        rec.phase = "batches"
        t_batch = time.monotonic()
        posts = [threading.Thread(target=start_batch, args=(officials[n], SIGNING[n], chosen, barrier, started))
                 for n, chosen in zip(SIGNING, (waiting[:BATCH], waiting[BATCH:]), strict=True)]
        for t in posts:
            t.start()
        for t in posts:
            t.join(timeout=120)
        watchers = []
        for n in SIGNING:
            status, ms, location = started.get(f"{n}-batch", (0, float("nan"), ""))
            print(f"  {n}: POST /penandatangan/tanda-tangan → {status} in {ms:.0f} ms → {location}")
            if status == 303:
                watchers.append(threading.Thread(target=watch_batch, args=(officials[n], location, rec, stop),
                                                 daemon=True))
        for w in watchers:
            w.start()
        for w in watchers:
            w.join(timeout=max(1.0, args.max_batch_seconds - (time.monotonic() - t_batch)))
        batch_seconds = time.monotonic() - t_batch
        rec.phase = "after"
        stop.set()
        for t in threads:
            t.join(timeout=30)
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"batches ended after {batch_seconds:.1f} s; load average {load}")

        jobs = db.execute("SELECT status, progress, total, result FROM jobs WHERE kind = 'sign_batch' ORDER BY id"
                          ).fetchall()
        letters = db.execute("SELECT count(*), count(DISTINCT number), min(sequence), max(sequence) FROM letters"
                             ).fetchone()
        still_waiting = db.execute("SELECT count(*) FROM letter_requests WHERE status = 'menunggu_ttd'").fetchone()[0]
        db.close()
        signed_per_job = [json.loads(r[3] or "{}").get("signed", 0) for r in jobs]
        signer_pids = {json.loads(r[3] or "{}").get("pid") for r in jobs}
        workers = set(map(int, Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()))
        own_processes = bool(signer_pids) and not (signer_pids & (workers | {server.pid}))
        print(f"batches signed by processes {sorted(signer_pids)}; gunicorn workers {sorted(workers)}: "
              f"{'their own processes' if own_processes else 'NOT their own processes'}")
        print(f"jobs: {[(s, f'{p}/{t}') for s, p, t, _r in jobs]}; signed per job {signed_per_job}; "
              f"letters {letters[0]} ({letters[1]} distinct numbers, sequences {letters[2]}..{letters[3]}); "
              f"still waiting {still_waiting}\n")

        pages = sorted({page for (_phase, page) in rec.samples})
        print(f"{'page':<42} {'baseline n/p50/p95 ms':>24} {'during batches n/p50/p95/max ms':>34}  verdict "
              f"(p95 <= {TARGET_P95_MS:.0f} ms)")
        failed = False
        for page in pages:
            base = rec.samples.get(("baseline", page), [])
            during = rec.samples.get(("batches", page), [])
            errors = rec.errors.get(("batches", page), []) + rec.errors.get(("baseline", page), [])
            ok = bool(during) and pct(during, 95) <= TARGET_P95_MS and not errors
            failed |= not ok
            b = f"{len(base)}/{pct(base, 50):.0f}/{pct(base, 95):.0f}" if base else "-"
            d = f"{len(during)}/{pct(during, 50):.0f}/{pct(during, 95):.0f}/{max(during):.0f}" if during else "-"
            print(f"{page:<42} {b:>24} {d:>34}  {'PASS' if ok else 'FAIL'}"
                  + (f" (errors: {sorted(set(errors))})" if errors else ""))
        all_base = [v for (ph, _p), vs in rec.samples.items() if ph == "baseline" for v in vs]
        all_during = [v for (ph, _p), vs in rec.samples.items() if ph == "batches" for v in vs]
        print(f"{'all pages':<42} {len(all_base)}/{pct(all_base, 50):.0f}/{pct(all_base, 95):.0f}".ljust(67)
              + f" {len(all_during)}/{pct(all_during, 50):.0f}/{pct(all_during, 95):.0f}/{max(all_during):.0f}")
        starts_ok = all(started.get(f"{n}-batch", (0, 1e9))[0] == 303
                        and started[f"{n}-batch"][1] <= START_WITHIN_S * 1000 for n in SIGNING)
        signed_ok = signed_per_job == [BATCH, BATCH] and letters[0] == letters[1] and still_waiting == left_alone \
            and letters[3] - letters[2] + 1 == letters[0]
        print(f"\nbatch requests answered within {START_WITHIN_S:g} s: {'yes' if starts_ok else 'NO'}; "
              f"all {2 * BATCH} letters signed, numbers unique and gapless: {'yes' if signed_ok else 'NO'}")
        failed |= not (starts_ok and signed_ok and own_processes)
        print("\nRESULT:", "FAIL" if failed else "PASS")
        return 1 if failed else 0
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(server.pid, signal.SIGKILL)
        if args.keep:
            print(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
