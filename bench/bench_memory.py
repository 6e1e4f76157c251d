"""Benchmark: the memory of one deployment, every process counted, idle and busy; how many fit on a 4 GB server.

Goal (issue 17): one deployment ≤ 180 MB PSS idle and ≤ 250 MB busy, all its processes counted (gunicorn master,
web workers, the job worker, the notifier), so that 18 kelurahan fit on one 4 GB server next to PostgreSQL.

One real deployment, started as production starts it: gunicorn with deploy/sempelmas-web.service's settings
(``--workers 3 --worker-class sync --timeout 90 --access-logfile``), ``flask worker`` and ``flask notify-worker``
(deploy/sempelmas-worker.service, sempelmas-notify.service), the app built from the environment
(bench/batch_app.py: only its instance folder is the run's temp dir) on a scratch database: PostgreSQL
(``--database-url``, a database this script creates and drops) or SQLite in the temp dir (the default).
The demo data is seeded and ``--letters`` requests are put in the signing queue.

PSS (proportional set size: shared pages divided among the processes sharing them, so the sum over the processes
is what they cost together) is read from /proc/<pid>/smaps_rollup:

1. idle: after start and one request to /login per worker (what a deployment costs between its visitors);
2. busy: sampled every 0.5 s while 6 clients (anonymous verification page /v/<code>, the resident's pages, the
   staff queue, the signer's queue, the letter preview PDF) request pages and the lurah signs ``--letters``
   letters one by one (PDF, QR and signing libraries loaded in the workers that served them), the peak per
   process; then once more after the load (what stays).

Each variant named by ``--variants`` is a fresh deployment on the same data, and a bare Flask app
(bench/baseline_app.py) runs under gunicorn with the same worker settings in the same run (``--preload`` where the
variant preloads). Variants (VARIANTS below): ``default``: as deployed before issue 17 (no gunicorn config, two
background processes); ``preload``: deploy/gunicorn.conf.py (preload_app, gc.freeze, post_fork);
``preload-pdf``: plus SEMPELMAS_PRELOAD_PDF=1 (PDF/signing libraries imported in the master); ``combined`` and
``combined-pdf``: the same with ``flask background`` instead of ``flask worker`` + ``flask notify-worker``;
``gthread``: 1 worker × 4 threads, preloaded, ``flask background`` (``gthread-2``: × 2 threads);
``gthread-arena2``: plus MALLOC_ARENA_MAX=2 (glibc's per-thread malloc arenas capped).

Capacity: (4096 MB − the PostgreSQL allowance (``--pg-mb``, 512 MB by default: shared_buffers 128 MB plus ~18 × 4
backends of ~5 MB each and the OS's own ~150 MB) − 256 MB for the OS, nginx and redis) ÷ the busy total.

    .venv/bin/python bench/bench_memory.py [--database-url postgresql+psycopg:///sempelmas_bench_memory_e]
        [--variants default,preload,gthread] [--workers 3] [--letters 12] [--load-seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from signing_queue_seed import seed_signing_queue  # bench/ is on sys.path: the scripts run as bench/<name>.py

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
HOST = "127.0.0.1"
USER_AGENT = "sempelmas-bench/1.0"
IDLE_GOAL_MB, BUSY_GOAL_MB, KELURAHAN = 180.0, 250.0, 18
SERVER_MB, OS_MB = 4096.0, 256.0
LURAH = ("lurah", "lurah-demo", "lurah-ttd-demo")
#: client → (login, password, pages); "{code}" is a demo letter's verification code, "{tn}" a waiting request
CLIENTS = {
    "publik": (None, None, ["/v/{code}", "/login"]),
    "warga": ("3576034101900001", "warga-demo", ["/warga/", "/warga/permohonan"]),
    "petugas": ("petugas", "petugas-demo", ["/petugas/", "/petugas/permohonan", "/petugas/surat"]),
    "sekretaris": ("sekretaris", "sekretaris-demo", ["/penandatangan/", "/penandatangan/permohonan/{tn}",
                                                      "/penandatangan/permohonan/{tn}/pratinjau.pdf"]),
    "publik2": (None, None, ["/v/{code}"]),
    "rt": ("rt01", "rt01-demo", ["/rt/", "/rt/permohonan"]),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pss_kb(pid: int) -> int:
    """The process's PSS in kB (0 once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else 0


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return sorted(out)


def prepare(env: dict, letters: int) -> tuple[str, list[str]]:
    """Migrate, seed the demo, put ``letters`` + 1 requests in the signing queue (a child process, so this one keeps
    no database handle). Returns a demo letter's verification code and the waiting tracking numbers."""
    return seed_signing_queue(env, letters + 1, PYTHON)


class Browser:
    """One person: a cookie and a keep-alive connection."""

    def __init__(self, port: int):
        self.port, self.cookie, self.conn = port, "", None

    def login(self, username: str, password: str) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("User-Agent", USER_AGENT)]
        base = f"http://{HOST}:{self.port}"
        with opener.open(base + "/login", timeout=60) as resp:
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', resp.read().decode()).group(1)
        form = urllib.parse.urlencode({"identifier": username, "password": password, "csrf_token": token})
        with opener.open(base + "/login", data=form.encode(), timeout=60) as resp:
            if urllib.parse.urlsplit(resp.url).path.rstrip("/") in ("", "/login"):
                raise SystemExit(f"login as {username} failed")
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        hdrs = {"User-Agent": USER_AGENT, "Cookie": self.cookie}
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
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
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return resp.status, data.decode("utf-8", "replace")
        raise AssertionError("unreachable")


class Deployment:
    """The processes of one deployment (or of the bare app): started, measured, stopped."""

    def __init__(self, name: str, env: dict, workdir: Path, web: list[str], background: list[list[str]],
                 app: str = "batch_app:app"):
        self.name, self.env = name, env
        self.port = free_port()
        self.log = workdir / f"{name}.log"
        logf = self.log.open("ab")
        argv = [PYTHON, "-m", "gunicorn", *web, "-b", f"{HOST}:{self.port}", "--chdir", str(BENCH),
                "--access-logfile", str(workdir / f"{name}-access.log"), "--error-logfile", str(self.log), app]
        self.web = subprocess.Popen(argv, env=env, cwd=BENCH, stdin=subprocess.DEVNULL, stdout=logf,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.background = {
            cmd[-1]: subprocess.Popen([PYTHON, "-m", "flask", "--app", "batch_app", *cmd], env=env, cwd=BENCH,
                                      stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                      start_new_session=True)
            for cmd in background}
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/login", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # it answers (the bare app has no /login)
            except OSError:
                if self.web.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"{name}: gunicorn did not start:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.3)

    def processes(self) -> dict[str, int]:
        """label → pid of every process of the deployment now."""
        procs = {"gunicorn master": self.web.pid}
        for i, pid in enumerate(children(self.web.pid), 1):
            procs[f"web worker {i}"] = pid
        for cmd, p in self.background.items():
            procs[f"flask {cmd}"] = p.pid
        return procs

    def sample(self) -> dict[str, int]:
        return {label: pss_kb(pid) for label, pid in self.processes().items()}

    def stop(self) -> None:
        for p in [self.web, *self.background.values()]:
            if p.poll() is None:
                p.terminate()
        for p in [self.web, *self.background.values()]:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)  # start_new_session: only this process's group
                p.wait(timeout=5)


def warm(port: int, path: str, n: int) -> None:
    """``n`` concurrent requests, so each worker has answered at least once (sync workers take one at a time)."""
    def one():
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=60).read()
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def settle(dep: Deployment, seconds: float = 3.0) -> dict[str, int]:
    time.sleep(seconds)
    return dep.sample()


def load(dep: Deployment, code: str, waiting: list[str], seconds: float) -> tuple[dict[str, int], dict, int]:
    """Pages from every client plus the lurah signing; returns (peak PSS per process, errors, letters signed)."""
    peak: dict[str, int] = {}
    errors: dict[str, int] = {}
    stop = threading.Event()
    lock = threading.Lock()
    preview_tn = waiting[-1]  # the sekretaris previews the one request the lurah leaves unsigned

    def browse(name: str, username: str | None, password: str | None, pages: list[str]) -> None:
        b = Browser(dep.port)
        if username:
            b.login(username, password)
        i = 0
        while not stop.is_set():
            page = pages[i % len(pages)].format(code=code, tn=preview_tn)
            i += 1
            status, _body = b.request("GET", page)
            if status >= 400:
                with lock:
                    errors[page] = errors.get(page, 0) + 1
            stop.wait(0.05)

    signed = [0]

    def sign() -> None:
        b = Browser(dep.port)
        b.login(LURAH[0], LURAH[1])
        for tn in waiting[:-1]:
            if stop.is_set():
                return
            _s, html = b.request("GET", f"/penandatangan/permohonan/{tn}")
            action = f"/penandatangan/permohonan/{tn}/tanda-tangan"
            form = re.search(r'<form[^>]*action="' + re.escape(action) + r'".*?</form>', html, re.S)
            if not form:
                with lock:
                    errors["sign form missing"] = errors.get("sign form missing", 0) + 1
                continue
            fields = dict(re.findall(r'name="(csrf_token|version)"[^>]*value="([^"]*)"', form.group(0)))
            body = urllib.parse.urlencode({**fields, "passphrase": LURAH[2]})
            status, _b = b.request("POST", action, body)
            if status in (200, 303):
                signed[0] += 1
            else:
                with lock:
                    errors[f"sign → {status}"] = errors.get(f"sign → {status}", 0) + 1

    threads = [threading.Thread(target=browse, args=(n, u, p, pages), daemon=True)
               for n, (u, p, pages) in CLIENTS.items()]
    threads.append(threading.Thread(target=sign, daemon=True))
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or threads[-1].is_alive():
        for label, kb in dep.sample().items():
            peak[label] = max(peak.get(label, 0), kb)
        time.sleep(0.5)
        if time.monotonic() > deadline + 300:
            break
    stop.set()
    for t in threads:
        t.join(timeout=30)
    return peak, errors, signed[0]


def mb(kb: int) -> float:
    return kb / 1024


def table(rows: list[tuple[str, dict[str, int]]]) -> None:
    labels = []
    for _n, d in rows:
        labels += [label for label in d if label not in labels]
    print(f"  {'process':<22}" + "".join(f"{n:>12}" for n, _ in rows))
    for label in labels:
        print(f"  {label:<22}" + "".join(f"{mb(d[label]):>10.1f}MB" if label in d else f"{'-':>12}"
                                        for _n, d in rows))
    print(f"  {'TOTAL':<22}" + "".join(f"{mb(sum(d.values())):>10.1f}MB" for _n, d in rows))


CONF = ["-c", str(ROOT / "deploy" / "gunicorn.conf.py")]  # preload_app, gc.freeze, post_fork
TWO = [["worker"], ["notify-worker"]]
VARIANTS = {
    # name → (gunicorn settings beyond workers/bind/logs, background commands, environment)
    "default": (["--worker-class", "sync"], TWO, {}),  # as deployed before issue 17
    "preload": ([*CONF, "--worker-class", "sync"], TWO, {}),
    "preload-pdf": ([*CONF, "--worker-class", "sync"], TWO, {"SEMPELMAS_PRELOAD_PDF": "1"}),
    "combined": ([*CONF, "--worker-class", "sync"], [["background"]], {}),
    "combined-pdf": ([*CONF, "--worker-class", "sync"], [["background"]], {"SEMPELMAS_PRELOAD_PDF": "1"}),
    "gthread": ([*CONF, "--worker-class", "gthread", "--threads", "4"], [["background"]], {}),
    "gthread-2": ([*CONF, "--worker-class", "gthread", "--threads", "2"], [["background"]], {}),
    "gthread-arena2": ([*CONF, "--worker-class", "gthread", "--threads", "4"], [["background"]],
                       {"MALLOC_ARENA_MAX": "2"}),
}


def main() -> int:  # noqa: C901, PLR0915 - one run, in order
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default="", help="a PostgreSQL server URL naming a database to create+drop")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--workers", type=int, default=3, help="web workers (deploy/sempelmas-web.service: 3)")
    ap.add_argument("--letters", type=int, default=12, help="letters the lurah signs per variant")
    ap.add_argument("--load-seconds", type=float, default=20.0)
    ap.add_argument("--pg-mb", type=float, default=512.0, help="PostgreSQL's allowance on the 4 GB server")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    for v in variants:
        if v not in VARIANTS:
            raise SystemExit(f"unknown variant {v!r}: one of {', '.join(VARIANTS)}")

    workdir = Path(tempfile.mkdtemp(prefix="sempelmas-bench-memory-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
    base_env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, SEMPELMAS_ENV="development",
                    SEMPELMAS_VERIFY_RATE_LIMIT="100000 per minute", PYTHONPATH=f"{ROOT}:{BENCH}")
    pg_db = ""
    if args.database_url:
        url = urllib.parse.urlsplit(args.database_url)
        pg_db = url.path.lstrip("/")
        if not re.fullmatch(r"sempelmas_bench_\w+", pg_db):
            raise SystemExit("--database-url must name a scratch database sempelmas_bench_*: it is dropped")
    results: list[tuple[str, dict, dict, dict]] = []
    deps: list[Deployment] = []
    try:
        bare_db = workdir / "bare.db"
        subprocess.run([PYTHON, str(BENCH / "baseline_app.py"), "init", str(bare_db)], check=True)
        for variant in variants:
            web_settings, background, variant_env = VARIANTS[variant]
            vdir = workdir / variant
            (vdir / "instance").mkdir(parents=True)
            env = {**base_env, **variant_env, "BENCH_INSTANCE": str(vdir / "instance"),
                   "PKI_DIR": str(vdir / "instance" / "pki")}
            if pg_db:
                subprocess.run(["dropdb", "--if-exists", pg_db], check=True)
                subprocess.run(["createdb", pg_db], check=True)
                env["DATABASE_URL"] = args.database_url
            else:
                env["DATABASE_URL"] = f"sqlite:///{vdir / 'app.db'}"
            t0 = time.monotonic()
            code, waiting = prepare(env, args.letters)
            workers = 1 if "gthread" in web_settings else args.workers
            web = ["--workers", str(workers), *web_settings, "--timeout", "90", "--no-control-socket",
                   "--graceful-timeout", "5"]
            print(f"\n== {variant}: {' '.join(f'{k}={v}' for k, v in variant_env.items())} "
                  f"gunicorn {' '.join(web).replace(str(ROOT) + '/', '')}; background: "
                  f"{', '.join('flask ' + ' '.join(c) for c in background)} "
                  f"(data ready in {time.monotonic() - t0:.0f} s)")
            dep = Deployment(variant, env, vdir, web, background)
            deps.append(dep)
            warm(dep.port, "/login", workers * 3)
            idle = settle(dep)
            peak, errors, signed = load(dep, code, waiting, args.load_seconds)
            after = settle(dep)
            dep.stop()
            deps.remove(dep)
            if errors:
                print(f"  errors under load: {errors}")
            print(f"  letters signed: {signed}/{len(waiting) - 1}")

            bare_env = {**base_env, **variant_env, "BASELINE_DB": str(bare_db)}
            bare_web = [a for a in web if a not in CONF] + (["--preload"] if CONF[1] in web else [])
            bare = Deployment(f"{variant}-bare", bare_env, vdir, bare_web, [], app="baseline_app:app")
            deps.append(bare)
            warm(bare.port, "/", workers * 3)
            bare_idle = settle(bare)
            bare.stop()
            deps.remove(bare)
            table([("idle", idle), ("busy peak", peak), ("after load", after), ("bare idle", bare_idle)])
            results.append((variant, idle, peak, bare_idle))
            if pg_db:
                subprocess.run(["dropdb", "--if-exists", pg_db], check=True)
    finally:
        for dep in deps:
            dep.stop()
        if pg_db:
            subprocess.run(["dropdb", "--if-exists", pg_db], check=False)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    room = SERVER_MB - args.pg_mb - OS_MB
    print(f"\nSummary ({'PostgreSQL' if pg_db else 'SQLite'}; {os.cpu_count()} CPUs). Room for deployments on "
          f"4 GB: {SERVER_MB:.0f} − PostgreSQL {args.pg_mb:.0f} − OS/nginx/redis {OS_MB:.0f} = {room:.0f} MB")
    print(f"  {'variant':<16}{'idle':>9}{'busy':>9}{'bare':>9}{'fit idle':>10}{'fit busy':>10}  goal ≤ "
          f"{IDLE_GOAL_MB:.0f}/{BUSY_GOAL_MB:.0f} MB, {KELURAHAN} fit")
    ok = False
    for variant, idle, peak, bare in results:
        i, b = mb(sum(idle.values())), mb(sum(peak.values()))
        met = i <= IDLE_GOAL_MB and b <= BUSY_GOAL_MB
        ok = ok or met
        print(f"  {variant:<16}{i:>8.0f}M{b:>8.0f}M{mb(sum(bare.values())):>8.0f}M{int(room // i):>10}"
              f"{int(room // b):>10}  {'meets the goal' if met else 'misses the goal'}")
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
