"""Benchmark: the 12-month XLSX register of outgoing letters with 30,000 letters.

Target (issue 6): <= 10 s and peak memory <= 300 MB. Each measurement runs in a child process (a fresh
interpreter) that reports its wall time and its maximum resident set size (``ru_maxrss``):

* export: the app (migrated SQLite, seeded by bench/dash_seed.py), signed in as a petugas through the test
  client, GET /petugas/laporan/register.xlsx for the 12 months ending this month (query, formatting,
  openpyxl write-only workbook, the audit entry); the file is then opened with openpyxl to check its rows;
* baseline: bare openpyxl (write-only), the same 8 columns and 30,000 rows of constant values with the same
  cell types and number formats, no database, no Flask: what the file alone costs.
The peak RSS includes the interpreter and its imports (``before``: the peak just before the export starts).
Wall and CPU time are both printed: on a shared machine the wall time also counts waiting for a CPU.

    .venv/bin/python bench/bench_export.py [--letters 30000] [--keep] [--reuse DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

TARGET_S = 10.0
TARGET_MB = 300.0


def _rss_mb() -> float:
    """Peak resident set size of this process so far (VmHWM). Not ru_maxrss: Linux carries the parent's
    peak over fork and exec into it, so a child of the seeding process would report the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _months_back(today: date) -> tuple[date, date]:
    start = date(today.year - 1, today.month, 1)
    start = date(start.year + (start.month == 12), start.month % 12 + 1, 1)  # 12 whole months incl. this one
    return start, today


def child_export(workdir: Path) -> dict:
    import dash_seed

    app = dash_seed.make_app(workdir / "bench.db", workdir)
    client = app.test_client()
    with app.app_context():
        dash_seed.login(client)
    start, end = _months_back(date.today())
    idle = _rss_mb()
    t, cpu = time.perf_counter(), _cpu()
    resp = client.get(f"/petugas/laporan/register.xlsx?periode=kustom&dari={start}&sampai={end}")
    data = resp.get_data()
    elapsed, cpu = time.perf_counter() - t, _cpu() - cpu
    peak = _rss_mb()
    assert resp.status_code == 200, resp.status_code
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(data), read_only=True).active
    rows = sum(1 for _ in ws.iter_rows(min_row=4)) if ws is not None else 0
    return {"seconds": elapsed, "cpu": cpu, "peak_mb": peak, "idle_mb": idle, "bytes": len(data), "rows": rows}


def child_baseline(n: int) -> dict:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    idle = _rss_mb()
    t, cpu = time.perf_counter(), _cpu()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Register")
    ws.freeze_panes = "A4"
    ws.append(["Buku Register Surat Keluar"])
    ws.append(["Periode"])
    ws.append(["No.", "Nomor surat", "Tanggal", "Layanan", "Nama", "Penandatangan", "Status", "Dicabut"])
    moment = datetime(2026, 3, 10, 11, 0)
    for i in range(n):
        d = WriteOnlyCell(ws, value=moment)
        d.number_format = "dd/mm/yyyy hh:mm"
        ws.append([i + 1, f"470/{i + 1:06d}/417.604.3/2026", d, "Surat Keterangan Domisili", "WARGA NOMOR 0001",
                   "Drs. SUGENG RAHARJO", "Sah", None])
    buf = io.BytesIO()
    wb.save(buf)
    return {"seconds": time.perf_counter() - t, "cpu": _cpu() - cpu, "peak_mb": _rss_mb(), "idle_mb": idle,
            "bytes": len(buf.getvalue()),
            "rows": n}


def run_child(*argv: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--letters", type=int, default=30_000)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reuse", type=Path)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind = args.child[0]
        result = child_export(Path(args.child[1])) if kind == "export" else child_baseline(int(args.child[1]))
        print(json.dumps(result))
        return 0

    import dash_seed

    workdir = args.reuse or Path(tempfile.mkdtemp(prefix="dash-export-"))
    keep = args.keep or bool(args.reuse)
    try:
        if not args.reuse:
            app = dash_seed.make_app(workdir / "bench.db", workdir)
            dash_seed.migrate(app)
            # ~85 % of requests end in a letter: seed enough requests for the letters asked
            info = dash_seed.seed(app, int(args.letters / 0.85) + 200, letters=True)
            print(f"seeded {info['requests']:,} requests and {info['letters']:,} letters in {info['seconds']:.1f} s")
        base = run_child("baseline", str(args.letters))
        export = run_child("export", str(workdir))
        print(f"\n{'':34} {'wall':>8} {'CPU':>8} {'peak RSS':>9} {'before':>8} {'file':>8} {'rows':>7}")
        for name, r in (("bare openpyxl write-only", base), ("/petugas/laporan/register.xlsx", export)):
            print(f"  {name:32} {r['seconds']:7.2f}s {r['cpu']:7.2f}s {r['peak_mb']:7.0f}MB {r['idle_mb']:6.0f}MB "
                  f"{r['bytes'] / 1e6:6.1f}MB {r['rows']:7,}")
        ok = export["seconds"] <= TARGET_S and export["peak_mb"] <= TARGET_MB
        print(f"\nRESULT: {'PASS' if ok else 'FAIL'}: register export {export['seconds']:.2f} s "
              f"(target <= {TARGET_S:.0f} s; "
              f"CPU {export['cpu']:.2f} s, {export['cpu'] / base['cpu']:.1f}x bare openpyxl's), "
              f"peak RSS {export['peak_mb']:.0f} MB (target <= {TARGET_MB:.0f} MB)")
        return 0 if ok else 1
    finally:
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
