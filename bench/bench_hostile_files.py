"""Benchmark: files made to hurt, answered by real gunicorn sync workers, against an ordinary file.

Acceptance (issue 12, part 3): the worst file of each kind is answered in <= 2 s with a worker's RSS growing
by <= 150 MB, measured against gunicorn (bench_http.py's settings: -w 2 -k sync) on 127.0.0.1, the RSS read
from /proc, next to an ordinary genuine file of the same kind in the same run:

* ``/v/<code>`` (anonymous): the demo's signed letter (baseline; the issued bytes are checked in-process), the
  same letter saved again by a PDF viewer (ordinary, but checked in the isolated child); with 2,000 empty
  incremental updates; with junk after %%EOF up to the 15 MB upload limit; with one update whose object stream
  inflates to 70 MB (77 KB on disk: it passes the cheap counts, so only the time/memory budget stops it);
* the public complaint form (anonymous), one photo: a 12-megapixel camera JPEG (baseline); a 9,400 x 9,400
  RGBA PNG of 363 KB; a 9,400 x 9,400 progressive JPEG (the oversized JPEG: ``draft`` cannot shrink it);
* the request form (the demo resident, logged in), five photos in one request: five camera JPEGs (baseline);
  five 9,400 x 9,400 PNGs; and a PDF document: the 2,000-update letter, the inflating one;
* the draft flood: the request form opened again and again, never sent, each time with eight ~9 MB PDFs:
  one ordinary PDF draft (baseline); each flood request, next to the same 72 MB body sent to a bare Flask app
  (a second gunicorn) that only parses it; the total stored against DRAFT_UPLOAD_QUOTA_MB.

Peak RSS per request: before each request the workers' peak is reset (``/proc/<pid>/clear_refs`` = 5, root),
after it the growth is max over the workers of VmHWM - VmRSS before. The isolated PDF check runs in a child
of the worker: its memory is not the worker's (it is capped by RLIMIT_AS, VERIFY_CHECK_MEMORY_MB).

The cost of the isolation itself on a genuine letter is measured in-process (the same imports as a worker):
``letters.examine_pdf`` inline, through ``isolation.run_isolated`` (fork), and in a fresh interpreter.

The instance: a temp dir (SQLite, ``flask db upgrade``, the demo data seeded in-process with the instance
folders in the temp dir; the demo's signed letters are real PAdES letters made by the app's signing code), one
extra service with eight optional documents, served through a small WSGI module that builds the app exactly
as app.py does and points its folders (and raised rate limits) at the temp dir.

    .venv/bin/python bench/bench_hostile_files.py [--rounds 3] [--flood 6] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import bench_http as bh  # noqa: E402  (gunicorn settings, server start/stop, login)

MAX_SECONDS = 2.0
MAX_GROWTH_MB = 150.0
SERVICE = "bench_berkas"
WSGI = '''"""The app as app.py builds it, with the bench's folders and rate limits (read at request time)."""
import json
import os

from sempelmas import create_app

app = create_app()
app.config.update(json.loads(os.environ["HOSTILE_BENCH_CONFIG"]))
'''
BARE = '''"""A bare Flask app that receives a multipart form and reads every file (Werkzeug's parse, nothing else)."""
from flask import Flask, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 82 * 1024 * 1024


@app.post("/terima")
def receive():
    return str(sum(len(f.read()) for f in request.files.values()))
'''


# ------------------------------------------------------------------------------------------- files

def camera_photo(seed: int) -> bytes:
    """A 4000 x 3000 JPEG like a phone's (~4 MB): bench_submit.py's."""
    import bench_submit

    return bench_submit.camera_photo(seed)


def big_pdf(seed: int, mb: float = 9.0) -> bytes:
    """A real one-page PDF of ``mb`` MB (an uncompressible scan): what a resident may upload."""
    import io
    import random

    from PIL import Image

    rng = random.Random(seed)
    side = int((mb * 1024 * 1024 / 0.6) ** 0.5)  # JPEG of RGB noise at Pillow's default quality: ~0.6 B/px
    img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buf = io.BytesIO()
    img.save(buf, "PDF")
    return buf.getvalue()


def multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "bench" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# ------------------------------------------------------------------------------------------- workers

def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


@dataclass
class Sample:
    status: int
    seconds: float
    growth_mb: float  # peak RSS over the request minus RSS before, the worker that grew most
    kept_mb: float  # RSS after minus RSS before (what the worker keeps)
    body: str


class Client:
    def __init__(self, server: bh.Server):
        self.server = server
        self.cookie = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 120) -> Sample:
        pids = worker_pids(self.server.proc.pid)
        before = {}
        for pid in pids:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak to the current RSS
            before[pid] = status_kb(pid, "VmRSS")
        conn = http.client.HTTPConnection(bh.HOST, self.server.port, timeout=timeout)
        hdrs = {"User-Agent": bh.USER_AGENT, **({"Cookie": self.cookie} if self.cookie else {}), **(headers or {})}
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
            status = resp.status
        except (ConnectionError, http.client.HTTPException, TimeoutError) as e:
            text, status = f"({type(e).__name__}: {e})", 0
        seconds = time.perf_counter() - started
        if status:
            for header in resp.msg.get_all("Set-Cookie") or []:
                if header.startswith("session="):  # an anonymous form's CSRF token lives in the session
                    self.cookie = header.split(";", 1)[0]
        conn.close()
        growth = kept = 0.0
        for pid in pids:
            try:
                growth = max(growth, (status_kb(pid, "VmHWM") - before[pid]) / 1024)
                kept = max(kept, (status_kb(pid, "VmRSS") - before[pid]) / 1024)
            except OSError:  # the worker was killed (gunicorn's timeout): it grew until then
                growth = float("nan")
        return Sample(status, seconds, growth, kept, text)


# ------------------------------------------------------------------------------------------- instance

def build_instance(workdir: Path, env: dict) -> dict:
    """Migrate, seed the demo (real signed letters) and a service with eight optional documents."""
    bh.run([bh.PYTHON, "-m", "flask", "--app", "app", "db", "upgrade"], env, "flask db upgrade")
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "DATABASE_URL", "SEMPELMAS_ENV")})
    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.letters import Letter
    from sempelmas.services.kelurahan import demo
    from sempelmas.services.letters import store as letter_store
    from sempelmas.services.requests import catalogue

    app = create_app()
    app.config.update(json.loads(env["HOSTILE_BENCH_CONFIG"]))
    with app.app_context():
        demo.seed()
        lines = "\n".join(f"dok{i} | Dokumen {i} | tidak | tidak" for i in range(1, 9))
        reqs, _e = catalogue.parse_requirement_lines(lines)
        fields, _e = catalogue.parse_field_lines("keperluan | Keperluan | text | ya")
        catalogue.save_service(None, {"code": SERVICE, "name": "Surat uji berkas", "classification_code": "470",
                                      "letter_template": "domisili", "needs_rt_endorsement": False,
                                      "enabled": True}, reqs, fields)
        db.session.commit()
        code = demo.DEMO_LETTER_CODES[0]
        letter = db.session.query(Letter).filter_by(verify_code=code).one()
        pdf = letter_store.read_pdf(letter)
        db.session.remove()
        db.engine.dispose()
    return {"code": code, "letter": pdf}


def verify_token(client: Client, code: str) -> str:
    page = client.request("GET", f"/v/{code}")
    return re.search(r'name="token" value="([^"]+)"', page.body).group(1)


def form_page(client: Client) -> tuple[str, str]:
    page = client.request("GET", f"/warga/ajukan/{SERVICE}")
    if page.status != 200:
        raise SystemExit(f"/warga/ajukan/{SERVICE} answered {page.status}")
    key = re.search(r'name="kunci" value="([^"]+)"', page.body).group(1)
    return key, bh.csrf_from(page.body)


def complaint_fields(client: Client) -> dict:
    page = client.request("GET", "/pengaduan")
    key = re.search(r'name="kunci" type="hidden" value="([^"]+)"', page.body).group(1)
    return {"csrf_token": bh.csrf_from(page.body), "kunci": key, "name": "Budi Santoso", "phone": "0812-3456-7890",
            "email": "", "category": "pelayanan", "subject": "Uji berkas", "body": "Antrean terlalu lama di loket."}


# ------------------------------------------------------------------------------------------- cases

@dataclass
class Case:
    name: str
    kind: str  # which baseline it is compared with
    size: int
    run: object  # () -> Sample
    expect: str  # a phrase the answer must carry (the clear message, or the genuine result)
    baseline: bool = False
    judged: bool = True
    samples: list[Sample] = field(default_factory=list)


def cases(anon: Client, resident: Client, inst: dict, hostile) -> list[Case]:
    code, letter = inst["code"], inst["letter"]

    def verify(data: bytes):
        def run():
            body, ctype = multipart({"token": verify_token(anon, code)}, [("berkas", "surat.pdf", data)])
            return anon.request("POST", f"/v/{code}", body, {"Content-Type": ctype})
        return run

    def complaint(data: bytes, name: str):
        def run():
            body, ctype = multipart(complaint_fields(anon), [("photo", name, data)])
            return anon.request("POST", "/pengaduan", body, {"Content-Type": ctype})
        return run

    def request_form(files: list[tuple[str, bytes]]):
        def run():
            key, csrf = form_page(resident)
            body, ctype = multipart({"csrf_token": csrf, "kunci": key, "f_keperluan": "Uji berkas"},
                                    [(f"berkas_dok{i}", name, data) for i, (name, data) in enumerate(files, 1)])
            return resident.request("POST", f"/warga/ajukan/{SERVICE}?kunci={urllib.parse.quote(key)}", body,
                                    {"Content-Type": ctype})
        return run

    junk = hostile.pdf_with_junk(letter, 0)
    junk += b"0" * (15 * 1024 * 1024 - 1024 - len(junk))  # up to the 15 MB upload limit
    updates = hostile.pdf_with_empty_updates(letter, 2000)
    saved = hostile.pdf_saved_again(letter)  # ordinary, not the issued bytes: checked in the isolated child
    inflating = hostile.pdf_with_inflating_update(letter, 70)
    png = hostile.png_bomb()
    progressive = hostile.progressive_jpeg(9400, "RGB")
    photos = [camera_photo(i) for i in range(5)]
    return [
        Case("genuine letter", "pdf", len(letter), verify(letter), "sama persis", baseline=True),
        Case("letter saved by a viewer", "pdf", len(saved), verify(saved), "ditambah setelah ditandatangani",
             judged=False),
        Case("2000 empty updates", "pdf", len(updates), verify(updates), "lapis perubahan"),
        Case("junk after %%EOF", "pdf", len(junk), verify(junk), "jauh lebih besar dari surat"),
        Case("inflating update", "pdf", len(inflating), verify(inflating), "melebihi batas"),
        Case("camera JPEG 12 MP", "photo", len(photos[0]), complaint(photos[0], "kamera.jpg"), "?baru=1",
             baseline=True),
        Case("PNG 9400x9400 RGBA", "photo", len(png), complaint(png, "bom.png"), "Gambar terlalu besar"),
        Case("progressive JPEG 9400x9400", "photo", len(progressive), complaint(progressive, "besar.jpg"),
             "Gambar terlalu besar"),
        Case("5 camera JPEGs", "form", sum(map(len, photos)),
             request_form([(f"kamera{i}.jpg", p) for i, p in enumerate(photos)]), 'id="review"', baseline=True),
        Case("5 PNG 9400x9400", "form", 5 * len(png), request_form([(f"bom{i}.png", png) for i in range(5)]),
             "Gambar terlalu besar"),
        Case("document: 2000 updates", "form", len(updates), request_form([("dok.pdf", updates)]),
             "lapis perubahan"),
        Case("document: inflating update", "form", len(inflating), request_form([("dok.pdf", inflating)]),
             "melebihi batas"),
    ]


def flood(resident: Client, bare: Client, n: int) -> tuple[Sample, list[Sample], list[Sample], int]:
    """One ordinary draft, then ``n`` forms opened and never sent, each with eight ~9 MB PDFs; each flood request
    is followed by the same body sent to the bare app (what receiving 72 MB costs at that moment)."""
    small = big_pdf(99, 1.0)
    key, csrf = form_page(resident)
    body, ctype = multipart({"csrf_token": csrf, "kunci": key, "f_keperluan": "x"}, [("berkas_dok1", "kk.pdf", small)])
    base = resident.request("POST", f"/warga/ajukan/{SERVICE}?kunci={urllib.parse.quote(key)}", body,
                            {"Content-Type": ctype})
    pdfs = [big_pdf(i) for i in range(8)]
    samples, bare_samples = [], []
    for _ in range(n):
        key, csrf = form_page(resident)
        body, ctype = multipart({"csrf_token": csrf, "kunci": key, "f_keperluan": "x"},
                                [(f"berkas_dok{i}", f"scan{i}.pdf", p) for i, p in enumerate(pdfs, 1)])
        samples.append(resident.request("POST", f"/warga/ajukan/{SERVICE}?kunci={urllib.parse.quote(key)}", body,
                                        {"Content-Type": ctype}))
        bare_samples.append(bare.request("POST", "/terima", body, {"Content-Type": ctype}))
    return base, samples, bare_samples, sum(map(len, pdfs))


# ------------------------------------------------------------------------------------------- isolation cost

ISOLATION_PROBE = r'''
import json, os, statistics, sys, time
os.environ.update(json.loads(sys.argv[1]))
sys.path.insert(0, os.environ["BENCH_ROOT"])
from sempelmas import create_app
from sempelmas.services.files import isolation
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import signing as pki
app = create_app()
app.config.update(json.loads(os.environ["HOSTILE_BENCH_CONFIG"]))
runs = int(sys.argv[2])
found = {}
with app.app_context():
    letters._preload_parsers()
    roots = pki.trust_roots_der()
    def median_ms(fn):
        fn()
        out = []
        for _ in range(runs):
            t = time.perf_counter(); fn(); out.append((time.perf_counter() - t) * 1000)
        return statistics.median(out)
    for name, path in (("genuine", sys.argv[3]), ("saved", sys.argv[4])):
        data = open(path, "rb").read()
        assert letters.examine_pdf(data, roots)["verdict"] == "checked"
        found[name] = {
            "inline": median_ms(lambda: letters.examine_pdf(data, roots)),
            "forked": median_ms(lambda: isolation.run_isolated(letters.examine_pdf, data, roots, wall_seconds=5,
                                                               memory_bytes=256 << 20))}
    found["fork_only"] = median_ms(lambda: isolation.run_isolated(int, wall_seconds=5, memory_bytes=256 << 20))
    found["rss_mb"] = int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1]) / 1024
print(json.dumps(found))
'''

FRESH = r'''
import sys, time
t = time.perf_counter()
import io
from pypdf import PdfReader
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
data = open(sys.argv[1], "rb").read()
len(PdfReader(io.BytesIO(data)).pages)
validate_pdf_signature(PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[-1],
                       ValidationContext(trust_roots=[], allow_fetching=False))
'''


def isolation_cost(env: dict, letter: Path, saved: Path, runs: int) -> dict:
    out = subprocess.run([bh.PYTHON, "-c", ISOLATION_PROBE, json.dumps({**env, "BENCH_ROOT": str(ROOT)}), str(runs),
                          str(letter), str(saved)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise SystemExit(f"isolation probe failed:\n{out.stderr[-2000:]}")
    found = json.loads(out.stdout.strip().splitlines()[-1])
    fresh = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([bh.PYTHON, "-c", FRESH, str(letter)], cwd=ROOT, env=env, capture_output=True, timeout=120,
                       check=True)
        fresh.append((time.perf_counter() - t) * 1000)
    found["fresh_interpreter"] = statistics.median(fresh)
    return found


# ------------------------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flood", type=int, default=6, help="forms flooded with eight ~9 MB PDFs each")
    ap.add_argument("--isolation-runs", type=int, default=30)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root: resetting a worker's peak RSS writes /proc/<pid>/clear_refs", file=sys.stderr)
        return 2
    from tests import hostile_files as hostile

    workdir = Path(tempfile.mkdtemp(prefix="sempelmas-bench-hostile-"))
    server = bare = None
    try:
        cfg = {"UPLOAD_DIR": str(workdir / "uploads"), "LETTER_DIR": str(workdir / "letters"),
               "PKI_DIR": str(workdir / "pki"), "COMPLAINT_RATE_LIMIT": "100000 per hour",
               "VERIFY_RATE_LIMIT": "100000 per minute", "LOGIN_RATE_LIMIT": "1000 per minute"}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
        env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=f"sqlite:///{workdir / 'app.db'}",
                   SEMPELMAS_ENV="development", HOSTILE_BENCH_CONFIG=json.dumps(cfg),
                   PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        inst = build_instance(workdir, env)
        (workdir / "hostile_wsgi.py").write_text(WSGI)
        (workdir / "bare_wsgi.py").write_text(BARE)
        server = bh.start_gunicorn("app", "hostile_wsgi:app", workdir, env, workdir)
        bare = bh.start_gunicorn("bare", "bare_wsgi:app", workdir, env, workdir)
        bh.wait_ready(server, "/")
        bh.wait_ready(bare, "/")
        anon = Client(server)
        resident = Client(server)
        resident.cookie = "session=" + bh.login(server)

        from sempelmas.config import DefaultConfig as D

        def setting(name):
            return getattr(D, name, "-")  # "-": a checkout without the bounds (to measure the "before")

        print(f"gunicorn {' '.join(bh.GUNICORN_SETTINGS)}; {os.cpu_count()} CPUs; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; budgets: verify {setting('VERIFY_CHECK_SECONDS')} s "
              f"/ {setting('VERIFY_CHECK_MEMORY_MB')} MB, photo {setting('IMAGE_MAX_DECODE_MB')} MB, request "
              f"{setting('IMAGE_REQUEST_MAX_DECODE_MB')} MB, draft quota {setting('DRAFT_UPLOAD_QUOTA_MB')} MB")
        todo = cases(anon, resident, inst, hostile)
        for case in todo:  # warm-up: every code path once (imports, templates, the first fork)
            case.run()
        for r in range(args.rounds):
            for case in todo:
                s = case.run()
                case.samples.append(s)
                print(f"  round {r + 1}: {case.name:<27} {s.status} {s.seconds:6.3f} s  peak +{s.growth_mb:6.1f} MB  "
                      f"kept +{s.kept_mb:5.1f} MB")
        base, flood_samples, bare_samples, per_request = flood(resident, Client(bare), args.flood)
        stored = sum(p.stat().st_size for p in (workdir / "uploads" / "dokumen").glob("*"))

        failed = False
        print(f"\n{'case':<28} {'size':>9} {'status':>6} {'median s':>9} {'max s':>7} {'peak MB':>8} "
              f"{'vs base s':>9}  verdict (<= {MAX_SECONDS:.0f} s, <= {MAX_GROWTH_MB:.0f} MB; the phrase answered)")
        bases = {c.kind: c for c in todo if c.baseline}
        for case in todo:
            times = [s.seconds for s in case.samples]
            growth = max(s.growth_mb for s in case.samples)
            said = all(case.expect in s.body for s in case.samples)
            statuses = sorted({s.status for s in case.samples})
            ref = bases[case.kind]
            ratio = statistics.median(times) / statistics.median(s.seconds for s in ref.samples)
            if case.baseline or not case.judged:
                verdict = "baseline" if case.baseline else "(ordinary copy)"
                verdict += "" if said else " (unexpected answer!)"
                failed |= not said
            else:
                ok = said and max(times) <= MAX_SECONDS and growth <= MAX_GROWTH_MB and 500 not in statuses
                failed |= not ok
                verdict = "PASS" if ok else "FAIL" + ("" if said else " (no clear message)")
            print(f"{case.name:<28} {case.size / 1024:>7.0f}KB {'/'.join(map(str, statuses)):>6} "
                  f"{statistics.median(times):>9.3f} {max(times):>7.3f} {growth:>8.1f} {ratio:>8.1f}x  {verdict}")

        quota = getattr(D, "DRAFT_UPLOAD_QUOTA_MB", 0)
        refused = [s for s in flood_samples if "Ruang berkas sementara" in s.body]
        print(f"\ndraft flood: {args.flood} forms never sent, each with eight PDFs ({per_request / 2**20:.1f} MB a "
              f"request; {args.flood * per_request / 2**20:.0f} MB sent)")
        print(f"  baseline (one 1 MB PDF draft): {base.status} {base.seconds:.3f} s, peak +{base.growth_mb:.1f} MB")
        for i, (s, b) in enumerate(zip(flood_samples, bare_samples, strict=True), 1):
            print(f"  form {i}: {s.status} {s.seconds:6.3f} s  peak +{s.growth_mb:6.1f} MB  "
                  f"{s.body.count('Ruang berkas sementara')} file(s) refused for the quota; the same body to a bare "
                  f"app {b.seconds:.3f} s")
        flood_ok = (stored <= quota * 2**20 and refused
                    and all(s.seconds <= MAX_SECONDS and s.growth_mb <= MAX_GROWTH_MB for s in refused))
        failed |= not flood_ok
        print(f"  stored on disk: {stored / 2**20:.1f} MB (quota {quota} MB); requests answered with the quota "
              f"message: {len(refused)}, slowest {max((s.seconds for s in refused), default=0):.3f} s, peak "
              f"+{max((s.growth_mb for s in refused), default=0):.1f} MB  {'PASS' if flood_ok else 'FAIL'}")

        letter_file = workdir / "genuine.pdf"
        letter_file.write_bytes(inst["letter"])
        saved_file = workdir / "saved.pdf"
        saved_file.write_bytes(hostile.pdf_saved_again(inst["letter"]))
        if not (ROOT / "sempelmas" / "services" / "files" / "isolation.py").exists():
            print("\nRESULT:", "FAIL" if failed else "PASS", "(no isolation module in this checkout)")
            return 1 if failed else 0
        cost = isolation_cost(env, letter_file, saved_file, args.isolation_runs)
        print(f"\nisolation cost, in-process with the app imported (RSS {cost['rss_mb']:.0f} MB), median of "
              f"{args.isolation_runs}: letters.examine_pdf (pypdf + pyHanko) inline and through run_isolated (fork)")
        for name, label in (("genuine", "the issued letter"), ("saved", "the letter saved by a viewer")):
            c = cost[name]
            print(f"  {label:<30} inline {c['inline']:6.1f} ms  forked {c['forked']:6.1f} ms  "
                  f"(+{c['forked'] - c['inline']:.1f} ms)")
        print(f"  an empty isolated call        {cost['fork_only']:6.1f} ms; in a fresh interpreter (imports "
              f"included) {cost['fresh_interpreter']:.0f} ms")
        print("\nRESULT:", "FAIL" if failed else "PASS")
        return 1 if failed else 0
    finally:
        for running in (server, bare):
            if running is not None:
                bh.stop(running)
        if args.keep:
            print(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
