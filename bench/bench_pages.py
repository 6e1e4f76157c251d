"""Benchmark: every page of every role at p95 <= 100 ms with 20 concurrent clients, 100,000 requests seeded.

Acceptance (issue 14, "Remove what serves a benchmark"): on the demo data grown to 100,000 requests with
bench_queue.py's seeding, served by gunicorn with the Makefile's `serve` settings (2 sync workers), every page
of every role answers at p95 <= 100 ms under a load of 20 concurrent keep-alive clients.

The script builds a throw-away instance in a temp dir: SQLite, the migrations (`flask db upgrade`), the demo
data (`flask seed-demo`: accounts, officials, CA, three signed letters), then bench_queue.py's ``seed()``
(20,000 residents, 10,000 resident accounts, 100,000 requests over four years, ~7,000 open), all in one child
process with the app built as bench/batch_app.py builds it (configuration from the environment, instance folder
in the temp dir). It starts two gunicorns with the same settings (``-w 2 -k sync``, no access log, 127.0.0.1,
free ports): the real app (with the page cache off, ``PAGE_CACHE_ENTRIES=0``, where that switch still exists)
and bench/baseline_app.py (one route, one primary-key lookup, a tiny template), the bare figure of this machine
in this run.

It then signs in as each demo role (resident, pendamping, RT head, staff, signing official, admin; plus the
public pages signed out) and crawls: from the role's home, the links of its menu, its pages and their htmx
fragments (``hx-get``), GET only, one URL per route and set of query keys (the first found: one request detail,
one letter, one account...), at most ``--max-pages`` per role. A page counts if it answers 200 with HTML;
files (PDF, images, exports) are left out. Nothing is posted, so nothing changes but what a GET itself writes
(the audit record of a viewed request).

Each page is then loaded by 20 concurrent clients for ``--duration`` seconds after ``--warmup`` seconds, and
its p50/p95/max latency and req/s recorded, with the CPU time the two workers spent per request (from /proc:
what the page costs, which other processes on a shared machine do not change, while they do lengthen the
latencies); the baseline is measured first and last. Load generator: **wrk**
(with a Lua script for p95) when it is on the PATH (``make bench-deps`` or ``apt-get install -y wrk``);
otherwise a small Python generator in its own process (one thread, non-blocking sockets, 20 connections;
latency from the connect or send to the last byte; gunicorn's sync workers close the connection after each
response, so both generators reconnect as needed). No ``Accept-Encoding`` is sent, as wrk sends none.

Output: one line per page, worst p95 first, the count over 100 ms, ``RESULT: PASS`` if none.

    .venv/bin/python bench/bench_pages.py [--duration 4] [--warmup 1] [--clients 20] [--only /warga/]
                                           [--roles warga,rt] [--keep] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import json
import os
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PYTHON = sys.executable
HOST = "127.0.0.1"
TARGET_P95_MS = 100.0
USER_AGENT = "sempelmas-bench/1.0"  # the same for login and load (Flask-Login's session protection)
#: the Makefile's `serve` settings, no access log (as bench_http.py)
GUNICORN = ["--workers", "2", "--worker-class", "sync", "--timeout", "90", "--no-control-socket",
            "--graceful-timeout", "5"]

#: role → (login, password); None: signed out
ROLES = {
    "publik": (None, None),
    "warga": ("3576034101900001", "warga-demo"),
    "pendamping": ("pendamping", "pendamping-demo"),
    "rt": ("rt01", "rt01-demo"),
    "petugas": ("petugas", "petugas-demo"),
    "lurah": ("lurah", "lurah-demo"),
    "admin": ("admin", "admin-demo"),
}
#: where each role's crawl starts (its menu is on every page, so it is followed from there)
START = {
    "publik": ["/", "/login", "/layanan", "/pengaduan", "/v/{code}"],
    "warga": ["/warga/"],
    "pendamping": ["/warga/pendamping"],
    "rt": ["/rt/"],
    "petugas": ["/petugas/"],
    "lurah": ["/penandatangan/"],
    "admin": ["/admin/"],
}
#: never requested: files, downloads, the session's end, endpoints that answer for scripts
SKIP = re.compile(r"(^/static/|^/berkas/|\.(pdf|png|jpg|svg|ico|crt|pem|json|xlsx|csv|js|webmanifest)$|/unduh"
                  r"|/foto$|/ktp$|/pratinjau|/surat$|^/profil/logo|^/pwa/|^/logout|/keluar$|^/sw\.js|^/offline"
                  r"|^/daftar/cek-nik)")
LINK = re.compile(r'''(?:href|hx-get)="([^"#]*)"''')
HTMX = re.compile(r'''hx-get="([^"#]*)"''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- the data ----------------------------------------------------------------------------------------------

def prepare(env: dict, reuse: bool = False) -> dict:
    """Migrate, seed the demo, grow it to 100,000 requests (bench_queue.seed), in a child process; returns the
    app's URL rules and a demo letter's verification code. ``reuse``: migrate only (data seeded before)."""
    script = f"""
import json, sys
from datetime import UTC, datetime
sys.path[:0] = [{str(ROOT)!r}, {str(BENCH)!r}]
from flask_migrate import upgrade
from batch_app import build
import bench_queue
from sempelmas.extensions import db
app = build()
with app.app_context():
    upgrade(directory={str(ROOT / "migrations")!r})
    from sempelmas.services.kelurahan import demo
    if {reuse!r}:
        probes = {{"seconds": 0, "open": 0}}
    else:
        demo.seed(); db.session.commit()
        probes = bench_queue.seed(datetime.now(UTC))
    rules = sorted({{r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}})
    print(json.dumps({{"code": demo.DEMO_LETTER_CODES[0], "rules": rules, "seconds": probes["seconds"],
                      "open": probes["open"]}}))
"""
    done = subprocess.run([PYTHON, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"preparing the data failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- servers -----------------------------------------------------------------------------------------------

def start_gunicorn(name: str, app: str, chdir: Path, env: dict, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    log = workdir / f"gunicorn-{name}.log"
    proc = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", *GUNICORN, "-b", f"{HOST}:{port}", "--chdir", str(chdir),
         "--error-logfile", str(log), app],
        env=env, cwd=chdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn ({name}) did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to the master we started; if it hangs, SIGKILL its own process group (start_new_session)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# --- signing in and crawling -------------------------------------------------------------------------------

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def login(port: int, username: str, password: str) -> str:
    """Sign in like a browser (CSRF token from /login); returns the Cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    base = f"http://{HOST}:{port}"
    with opener.open(base + "/login", timeout=30) as resp:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', resp.read().decode()).group(1)
    form = urllib.parse.urlencode({"identifier": username, "password": password, "csrf_token": token})
    with opener.open(base + "/login", data=form.encode(), timeout=30) as resp:
        if urllib.parse.urlsplit(resp.url).path.rstrip("/") in ("", "/login"):
            raise SystemExit(f"login as {username} failed")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def get(port: int, path: str, cookie: str, htmx: bool = False) -> tuple[int, str, dict]:
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    if htmx:
        headers["HX-Request"] = "true"
    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", headers=headers)
    try:
        with opener.open(req, timeout=120) as resp:
            return resp.status, resp.read().decode("utf-8", "replace"), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


def rule_matcher(rules: list[str]):
    """path → the app's URL rule it matches (None: not an app page)."""
    from werkzeug.routing import Map, Rule

    adapter = Map([Rule(r, endpoint=r) for r in rules]).bind("localhost")

    def match(path: str) -> str | None:
        try:
            endpoint, _args = adapter.match(path, method="GET")
        except Exception:  # NotFound, RequestRedirect, MethodNotAllowed
            return None
        return endpoint
    return match


def crawl(role: str, port: int, cookie: str, starts: list[str], match, max_pages: int) -> tuple[list, list]:
    """Breadth-first over the role's links; one URL per (rule, query keys, htmx). Returns (pages, skipped)."""
    queue: deque[tuple[str, bool, str]] = deque((s, False, "start") for s in starts)
    seen_kinds: set = set()
    pages, skipped = [], []
    while queue and len(pages) < max_pages:
        path, htmx, via = queue.popleft()
        split = urllib.parse.urlsplit(path)
        if split.netloc and split.netloc != f"{HOST}:{port}":
            continue
        path = split.path + (f"?{split.query}" if split.query else "")
        rule = match(split.path)
        if rule is None or SKIP.search(split.path):
            continue
        kind = (rule, tuple(sorted(urllib.parse.parse_qs(split.query, keep_blank_values=True))), htmx)
        if kind in seen_kinds:
            continue
        seen_kinds.add(kind)
        status, body, headers = get(port, path, cookie, htmx)
        if status in (301, 302, 303, 307, 308):
            location = urllib.parse.urlsplit(headers.get("Location", ""))
            target = location.path + (f"?{location.query}" if location.query else "")
            if "/login" in target:
                skipped.append((path, f"redirects to {target}"))
            else:
                queue.appendleft((target, htmx, path))
            continue
        ctype = headers.get("Content-Type", "")
        if status != 200 or "text/html" not in ctype:
            skipped.append((path, f"{status} {ctype.split(';')[0]}"))
            continue
        pages.append({"role": role, "path": path, "rule": rule, "htmx": htmx, "bytes": len(body.encode()),
                      "via": via})
        hx = set(HTMX.findall(body))
        for link in LINK.findall(body):
            link = unescape(link)
            if link and not link.startswith(("mailto:", "tel:", "javascript:", "data:", "wa.me")):
                queue.append((urllib.parse.urljoin(path, link), link in hx, path))
    return pages, skipped


# --- load --------------------------------------------------------------------------------------------------

LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency.max,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def load_wrk(port: int, path: str, headers: dict, clients: int, seconds: float, lua: Path) -> dict:
    argv = [shutil.which("wrk"), "-t2", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(lua)]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(f"http://{HOST}:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    n, duration_us, p50, p95, mx, errors = map(int, re.search(r"RESULT (.*)", out).group(1).split())
    return {"n": n, "rps": n / (duration_us / 1e6), "p50": p50 / 1000, "p95": p95 / 1000, "max": mx / 1000,
            "errors": errors}


def load_python(port: int, path: str, headers: dict, clients: int, seconds: float) -> dict:
    """The Python generator, in its own process (this file with --generate)."""
    spec = json.dumps({"port": port, "path": path, "headers": headers, "clients": clients, "seconds": seconds})
    out = subprocess.run([PYTHON, __file__, "--generate"], input=spec, capture_output=True, text=True,
                         timeout=seconds + 120, check=True).stdout
    return json.loads(out)


def generate(spec: dict) -> dict:
    """`clients` connections, each sending the GET again as soon as its answer is in, for `seconds`."""
    port, clients, seconds = spec["port"], spec["clients"], spec["seconds"]
    head = "".join(f"{k}: {v}\r\n" for k, v in spec["headers"].items())
    raw = f"GET {spec['path']} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{head}\r\n".encode()
    sel = selectors.DefaultSelector()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    deadline = time.perf_counter() + seconds

    class Conn:
        __slots__ = ("sock", "t0", "buf", "need", "status", "close", "sent")

    def open_conn(c: Conn | None = None) -> Conn:
        c = c or Conn()
        c.sock = socket.socket()
        c.sock.setblocking(False)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.t0 = time.perf_counter()
        c.sock.connect_ex((HOST, port))
        c.sent = False
        c.buf, c.need, c.status, c.close = b"", None, 0, False
        sel.register(c.sock, selectors.EVENT_WRITE, c)
        return c

    def send(c: Conn, reuse: bool) -> None:
        if reuse:
            c.t0 = time.perf_counter()
            c.buf, c.need, c.status, c.close = b"", None, 0, False
        c.sock.sendall(raw)
        c.sent = True
        sel.modify(c.sock, selectors.EVENT_READ, c)

    for _ in range(clients):
        open_conn()
    while sel.get_map():
        for key, _ev in sel.select(timeout=1.0):
            c: Conn = key.data
            if not c.sent:
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    errors += 1
                    sel.unregister(c.sock)
                    c.sock.close()
                    if time.perf_counter() < deadline:
                        time.sleep(0.01)
                        open_conn(c)
                    continue
                send(c, reuse=False)
                continue
            try:
                chunk = c.sock.recv(262144)
            except OSError:
                chunk = b""
            eof = not chunk
            c.buf += chunk
            if c.need is None and b"\r\n\r\n" in c.buf:
                header, _sep, _rest = c.buf.partition(b"\r\n\r\n")
                lines = header.decode("latin-1").split("\r\n")
                c.status = int(lines[0].split()[1])
                fields = {k.strip().lower(): v.strip() for k, _s, v in (ln.partition(":") for ln in lines[1:])}
                c.close = fields.get("connection", "").lower() == "close"
                if "content-length" in fields:
                    c.need = len(header) + 4 + int(fields["content-length"])
            complete = (c.need is not None and len(c.buf) >= c.need) or (eof and c.status)
            if not complete and not eof:
                continue
            now = time.perf_counter()
            if complete:
                latencies.append((now - c.t0) * 1000)
                statuses[c.status] = statuses.get(c.status, 0) + 1
            else:
                errors += 1
            if now >= deadline:
                sel.unregister(c.sock)
                c.sock.close()
            elif c.close or eof:
                sel.unregister(c.sock)
                c.sock.close()
                open_conn(c)
            else:
                send(c, reuse=True)
    elapsed = seconds + max(0.0, time.perf_counter() - deadline)
    latencies.sort()
    return {"n": len(latencies), "rps": len(latencies) / elapsed, "p50": pct(latencies, 50),
            "p95": pct(latencies, 95), "max": latencies[-1] if latencies else float("nan"),
            "errors": errors + sum(n for s, n in statuses.items() if s != 200)}


def workers_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master's workers."""
    total = 0.0
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return float("nan")
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


# --- main --------------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=4.0, help="seconds of load per page (after the warm-up)")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each measurement")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--max-pages", type=int, default=40, help="pages per role at most")
    ap.add_argument("--roles", help="comma-separated roles (default: all): " + ",".join(ROLES))
    ap.add_argument("--only", help="measure only pages whose path contains this text")
    ap.add_argument("--python-load", action="store_true", help="use the Python generator even if wrk is there")
    ap.add_argument("--json", help="write every page's figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (database, logs)")
    ap.add_argument("--reuse", help="a temp dir kept by --keep: its data is migrated and used again (no seeding)")
    ap.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        print(json.dumps(generate(json.loads(sys.stdin.read()))))
        return 0

    use_wrk = bool(shutil.which("wrk")) and not args.python_load
    roles = args.roles.split(",") if args.roles else list(ROLES)
    if args.reuse:
        workdir = Path(args.reuse)
        args.keep = True
    else:
        workdir = Path(tempfile.mkdtemp(prefix="sempelmas-bench-pages-", dir="/tmp"))
        (workdir / "instance").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
    env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=f"sqlite:///{workdir / 'app.db'}",
               SEMPELMAS_ENV="development", BENCH_INSTANCE=str(workdir / "instance"),
               PKI_DIR=str(workdir / "instance" / "pki"), SEMPELMAS_VERIFY_RATE_LIMIT="1000000 per minute",
               PAGE_CACHE_ENTRIES="0", BASELINE_DB=str(workdir / "baseline.db"), PYTHONPATH=str(ROOT))
    servers: list[subprocess.Popen] = []
    lua = workdir / "p95.lua"
    lua.write_text(LUA)
    try:
        t0 = time.monotonic()
        data = prepare(env, reuse=bool(args.reuse))
        (workdir / "data.json").write_text(json.dumps(data))
        if not args.reuse:
            subprocess.run([PYTHON, str(BENCH / "baseline_app.py"), "init", env["BASELINE_DB"]], check=True,
                           timeout=60)
        print(f"data: demo + 100,000 requests ({data['open']:,} open), ready in {time.monotonic() - t0:.0f} s")
        app_proc, port = start_gunicorn("app", "batch_app:app", BENCH, env, workdir)
        servers.append(app_proc)
        base_proc, base_port = start_gunicorn("baseline", "baseline_app:app", BENCH, env, workdir)
        servers.append(base_proc)
        match = rule_matcher(data["rules"])

        pages, skipped = [], []
        for role in roles:
            username, password = ROLES[role]
            cookie = login(port, username, password) if username else ""
            found, left = crawl(role, port, cookie, [s.format(code=data["code"]) for s in START[role]], match,
                                args.max_pages)
            for p in found:
                p["cookie"] = cookie
            pages += found
            skipped += [(role, *s) for s in left]
            print(f"  {role}: {len(found)} pages")
        if args.only:
            pages = [p for p in pages if args.only in p["path"]]
        print(f"{len(pages)} pages; load: {'wrk' if use_wrk else 'Python generator'}, {args.clients} clients, "
              f"{args.warmup:g} s warm-up + {args.duration:g} s each; gunicorn {' '.join(GUNICORN)}; "
              f"{os.cpu_count()} CPUs; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        def run_load(p: int, path: str, headers: dict, seconds: float) -> dict:
            return (load_wrk(p, path, headers, args.clients, seconds, lua) if use_wrk
                    else load_python(p, path, headers, args.clients, seconds))

        def measure(p: int, path: str, headers: dict) -> dict:
            """The load's figures, and the workers' CPU time per request: what the page costs whatever else the
            machine runs meanwhile (the latencies grow with every other process on the CPUs)."""
            # gunicorn still serves what the last load left queued: wait until a plain page answers again
            get(p, "/orang/1" if p == base_port else "/login", "")
            headers = {"User-Agent": USER_AGENT, **headers}
            if args.warmup:
                run_load(p, path, headers, args.warmup)
            master = app_proc.pid if p == port else base_proc.pid
            before = workers_cpu(master)
            out = run_load(p, path, headers, args.duration)
            out["cpu_ms"] = (workers_cpu(master) - before) * 1000 / out["n"] if out["n"] else float("inf")
            return out

        baseline = [measure(base_port, "/orang/1", {})]
        print(f"baseline (bare Flask): p50 {baseline[0]['p50']:.1f} ms, p95 {baseline[0]['p95']:.1f} ms, "
              f"{baseline[0]['rps']:.0f} req/s, {baseline[0]['cpu_ms']:.2f} CPU ms/req")
        for i, page in enumerate(pages, 1):
            headers = {"Cookie": page["cookie"]} if page["cookie"] else {}
            if page["htmx"]:
                headers["HX-Request"] = "true"
            page.update(measure(port, page["path"], headers))
            if not page["n"]:
                page.update(errors=page["errors"] or 1, p50=float("inf"), p95=float("inf"), max=float("inf"))
            print(f"  [{i}/{len(pages)}] {page['role']:<10} {page['path'][:70]:<70} p95 {page['p95']:7.1f} ms "
                  f"{page['rps']:6.0f} req/s {page['cpu_ms']:5.1f} CPU ms/req", flush=True)
        baseline.append(measure(base_port, "/orang/1", {}))
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())

        pages.sort(key=lambda p: -p["p95"])
        over = [p for p in pages if p["p95"] > TARGET_P95_MS or p["errors"]]
        print(f"\nbaseline (bare Flask, /orang/1), first / last: p95 {baseline[0]['p95']:.1f} / "
              f"{baseline[1]['p95']:.1f} ms, {baseline[0]['rps']:.0f} / {baseline[1]['rps']:.0f} req/s, "
              f"{baseline[0]['cpu_ms']:.2f} / {baseline[1]['cpu_ms']:.2f} CPU ms/req; load average {load}\n")
        print(f"{'role':<10} {'page':<62} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'req/s':>6} {'CPU ms':>6} "
              f"{'KB':>5}  verdict")
        for p in pages:
            verdict = "PASS" if p["p95"] <= TARGET_P95_MS and not p["errors"] else "FAIL"
            name = p["path"] + (" (htmx)" if p["htmx"] else "")
            print(f"{p['role']:<10} {name[:62]:<62} {p['p50']:7.1f} {p['p95']:7.1f} {p['max']:7.0f} "
                  f"{p['rps']:6.0f} {p['cpu_ms']:6.1f} {p['bytes'] / 1024:5.0f}  {verdict}"
                  + (f" ({p['errors']} errors)" if p["errors"] else ""))
        if skipped:
            print("\nnot measured (not an HTML page, or an error):")
            for role, path, why in skipped:
                print(f"  {role:<10} {path}: {why}")
        print(f"\n{len(pages)} pages, {len(over)} over {TARGET_P95_MS:.0f} ms at p95 (or with errors); "
              f"median p95 {statistics.median(p['p95'] for p in pages):.1f} ms")
        if args.json:
            Path(args.json).write_text(json.dumps({"baseline": baseline, "pages": [
                {k: v for k, v in p.items() if k != "cookie"} for p in pages]}, indent=1))
        print("\nRESULT:", "FAIL" if over else "PASS")
        return 1 if over else 0
    finally:
        for proc in servers:
            stop(proc)
        if args.keep:
            print(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
