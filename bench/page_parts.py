"""Where one page's time goes, in-process, on the data a ``bench_pages.py --keep`` run left behind.

Signs in as a demo role (Flask test client, the app as ``make run`` builds it on the kept database), then either

* times N requests of the page, and the share of the functions named with ``--part module:function`` (wrapped for
  this process only: the app's code is untouched);
* ``--sql``: every statement the page runs, each re-run 20 times on a plain sqlite3 connection (execution and
  fetch, without SQLAlchemy) with its row count and, with ``--plan``, SQLite's query plan;
* ``--profile``: cProfile over the N requests (``--sort tottime|cumulative``).

    .venv/bin/python bench/page_parts.py /tmp/sempelmas-bench-pages-XXXX petugas /petugas/dasbor \\
        --part sempelmas.services.accountability.service_stats:period_stats --part sempelmas.web.dash.routes:render

A path ending in " (htmx)" is asked as htmx asks (HX-Request). Not a figure of its own: the figure is
bench_pages.py's; this says which part of a page to work on.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import importlib
import os
import pstats
import re
import sqlite3
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
USER_AGENT = {"User-Agent": "sempelmas-bench/1.0"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path, help="a temp dir kept by bench_pages.py --keep")
    ap.add_argument("role", help="a demo role as bench_pages.py names them (warga, rt, petugas, lurah, admin...)")
    ap.add_argument("path")
    ap.add_argument("-n", type=int, default=100, help="requests to time")
    ap.add_argument("--part", action="append", default=[], help="module:function to time within the page")
    ap.add_argument("--sql", action="store_true", help="list the page's statements with their own time")
    ap.add_argument("--plan", action="store_true", help="with --sql: SQLite's query plan of each")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    args = ap.parse_args()

    work = args.dir.resolve()
    os.environ.update(SECRET_KEY="bench-page-parts", DATABASE_URL=f"sqlite:///{work / 'app.db'}",
                      SEMPELMAS_ENV="development", BENCH_INSTANCE=str(work / "instance"),
                      PKI_DIR=str(work / "instance" / "pki"))
    sys.path[:0] = [str(ROOT), str(BENCH)]
    from batch_app import app
    from bench_pages import ROLES

    client = app.test_client()
    username, password = ROLES[args.role]
    if username:
        html = client.get("/login", headers=USER_AGENT).get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        signed_in = client.post("/login", headers=USER_AGENT,
                                data={"identifier": username, "password": password, "csrf_token": token.group(1)})
        assert signed_in.status_code in (302, 303), f"signing in as {args.role}: {signed_in.status_code}"
    headers, path = dict(USER_AGENT), args.path
    if path.endswith(" (htmx)"):
        path, headers["HX-Request"] = path.removesuffix(" (htmx)"), "true"
    first = client.get(path, headers=headers)
    print(f"GET {args.path}: {first.status_code}, {len(first.data):,} bytes")

    if args.sql:
        from sqlalchemy import event

        from sempelmas.extensions import db

        statements = []
        with app.app_context():
            engine = db.engine

        def seen(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        event.listen(engine, "after_cursor_execute", seen)
        client.get(path, headers=headers)
        con = sqlite3.connect(work / "app.db")
        total = 0.0
        for statement, parameters in statements:
            t0 = time.perf_counter()
            for _ in range(20):
                rows = con.execute(statement, parameters).fetchall()
            ms = (time.perf_counter() - t0) / 20 * 1000
            total += ms
            print(f"{ms:7.2f} ms {len(rows):6d} rows  " + " ".join(statement.split())[:150])
            if args.plan:
                for step in con.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall():
                    print(f"{'':26}{step[-1]}")
        print(f"{total:7.2f} ms in {len(statements)} statements (SQLite alone)")
        return

    spent: dict[str, float] = collections.defaultdict(float)
    for spec in args.part:
        module_name, name = spec.split(":")
        module = importlib.import_module(module_name)
        original = getattr(module, name)

        def timed(*a, _original=original, _spec=spec, **k):
            t0 = time.perf_counter()
            try:
                return _original(*a, **k)
            finally:
                spent[_spec] += time.perf_counter() - t0

        setattr(module, name, timed)  # the name the page's module looks up; this process only
    t0 = time.perf_counter()
    for _ in range(args.n):
        client.get(path, headers=headers)
    print(f"{(time.perf_counter() - t0) / args.n * 1000:.2f} ms a request ({args.n} requests)")
    for spec, seconds in spent.items():
        print(f"  {spec}: {seconds / args.n * 1000:.2f} ms")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.n):
            client.get(path, headers=headers)
        profile.disable()
        pstats.Stats(profile).sort_stats(args.sort).print_stats(45)


if __name__ == "__main__":
    main()
