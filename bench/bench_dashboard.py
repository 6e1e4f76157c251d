"""Benchmark: the staff/lurah dashboard /petugas/dasbor with 100,000 requests, in-process.

Target (issue 6): the dashboard renders in <= 200 ms with 100,000 requests. Measured with Flask's test client
(no HTTP server: the page's own cost), signed in as a petugas, after 3 warm-up requests, as the median of
``--runs`` GETs of the default period (this month) — plus, for information, "this year" (12 months of rows)
and the htmx fragment. The baseline in the same run: a bare route on the same app doing one primary-key
lookup and a tiny template (what any signed-in page costs at least).

The database is a fresh SQLite file in a temp dir, migrated with ``flask db upgrade`` and seeded by
bench/dash_seed.py (bulk INSERTs, a year of requests over 9 services and 12 RTs).

    .venv/bin/python bench/bench_dashboard.py [--requests 100000] [--runs 15] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import dash_seed  # noqa: E402

TARGET_MS = 200.0


def timed(client, url: str, runs: int, headers=None) -> float:
    for _ in range(3):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, (url, resp.status_code)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        resp = client.get(url, headers=headers)
        resp.get_data()
        samples.append((time.perf_counter() - t) * 1000)
        assert resp.status_code == 200
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (prints its path)")
    ap.add_argument("--reuse", type=Path, help="a directory kept by --keep: measure its database again")
    args = ap.parse_args()
    workdir = args.reuse or Path(tempfile.mkdtemp(prefix="dash-bench-"))
    args.keep = args.keep or bool(args.reuse)
    try:
        app = dash_seed.make_app(workdir / "bench.db", workdir)
        if not args.reuse:
            dash_seed.migrate(app)
            info = dash_seed.seed(app, args.requests, letters=False)
            print(f"seeded {info['requests']:,} requests in {info['seconds']:.1f} s")

        from flask import render_template_string
        from sqlalchemy import select

        from sempelmas.extensions import db
        from sempelmas.models.requests import LetterRequest

        @app.get("/_bench/bare")
        def bare():
            row = db.session.get(LetterRequest, 1234)
            number = db.session.scalar(select(LetterRequest.tracking_number).where(LetterRequest.id == row.id))
            return render_template_string("<!doctype html><title>bare</title><p>{{ n }}</p>", n=number)

        client = app.test_client()
        with app.app_context():
            dash_seed.login(client)
        results = [
            ("bare route (PK lookup + tiny template)", timed(client, "/_bench/bare", args.runs)),
            ("/petugas/dasbor (this month, default)", timed(client, "/petugas/dasbor", args.runs)),
            ("/petugas/dasbor htmx fragment (this month)",
             timed(client, "/petugas/dasbor", args.runs, headers={"HX-Request": "true"})),
            ("/petugas/dasbor?periode=30-hari", timed(client, "/petugas/dasbor?periode=30-hari", args.runs)),
            ("/petugas/dasbor?periode=tahun-ini (12 months)",
             timed(client, "/petugas/dasbor?periode=tahun-ini", args.runs)),
        ]
        print(f"\n{args.requests:,} requests, median of {args.runs} after 3 warm-up requests (in-process):")
        for name, ms in results:
            print(f"  {ms:8.1f} ms  {name}")
        main_ms = results[1][1]
        ok = main_ms <= TARGET_MS
        print(f"\nRESULT: {'PASS' if ok else 'FAIL'}: dashboard {main_ms:.1f} ms (target <= {TARGET_MS:.0f} ms), "
              f"{main_ms / results[0][1]:.1f}x the bare route")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
