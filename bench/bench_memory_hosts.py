"""Benchmark: what one more kelurahan would cost inside a process that already serves others (issue 17's proposal).

bench_memory.py shows one deployment per kelurahan cannot reach ≤ 180 MB idle / ≤ 250 MB busy. The design proposed
instead is one process set serving several kelurahan, each with its own database, ``instance/`` and CA, chosen by
host name. This measures the number that design rests on, without building it: in ONE Python process, N complete
apps (``create_app`` with its own instance folder and SQLite database, migrated, the demo seeded — its CA made and
three letters rendered and signed — and pages of each role requested through the test client), and the
process's PSS after each.
The first app carries the libraries (Flask, SQLAlchemy, xhtml2pdf, pyHanko…); each further app only its own state.

    .venv/bin/python bench/bench_memory_hosts.py [--apps 4]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAGES = ("/", "/login", "/v/Q7rTz2KpW9mXc4VbN8sJ")  # the last: a demo letter's verification page
ROLE_PAGES = (("3576034101900001", "warga-demo", ("/warga/", "/warga/ajukan/domisili")),
              ("petugas", "petugas-demo", ("/petugas/",)), ("lurah", "lurah-demo", ("/penandatangan/",)),
              ("admin", "admin-demo", ("/admin/",)))


def pss_mb() -> float:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no Pss in smaps_rollup")


def one_app(folder: Path):
    from flask_migrate import upgrade

    from sempelmas import create_app

    folder.mkdir()
    app = create_app({"INSTANCE_PATH": str(folder), "SECRET_KEY": os.urandom(32).hex(),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'sempelmas.db'}", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parents[1] / "migrations"))
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    statuses = []
    client = app.test_client()
    statuses += [client.get(p).status_code for p in PAGES]
    for user, password, pages in ROLE_PAGES:
        c = app.test_client()
        c.post("/login", data={"identifier": user, "password": password})
        statuses += [c.get(p, follow_redirects=True).status_code for p in pages]
    return app, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=4)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the migrations of every app would fill the screen
    before = pss_mb()
    print(f"process before any app: {before:.1f} MB PSS")
    kept, figures = [], []
    with tempfile.TemporaryDirectory(prefix="sempelmas-hosts-") as tmp:
        for i in range(args.apps):
            app, statuses = one_app(Path(tmp) / f"kelurahan{i + 1}")
            kept.append(app)
            gc.collect()
            now = pss_mb()
            figures.append(now)
            added = now - (figures[-2] if i else before)
            print(f"app {i + 1}: {now:6.1f} MB PSS (+{added:5.1f} MB)  pages {sorted(set(statuses))}")
    further = [b - a for a, b in zip(figures, figures[1:], strict=False)]
    if further:
        per_app = max(further)
        print(f"first app (libraries included): {figures[0] - before:.1f} MB; each further app: "
              f"{min(further):.1f}–{per_app:.1f} MB")
        room = 4096 - 512 - 256
        print(f"for comparison, one deployment per kelurahan (bench_memory.py, gthread-2 on PostgreSQL): 323 MB busy "
              f"→ {room // 323} fit in 4 GB; a shared process set adding ≤ {per_app:.0f} MB a kelurahan leaves room "
              f"for 18 with {room - 323 - 17 * per_app:.0f} MB to spare")
        # the design holds 18 when 17 further kelurahan fit beside one busy process set
        fits = 323 + 17 * per_app <= room
        print(f"RESULT: {'PASS' if fits else 'FAIL'} (18 kelurahan in one process set: "
              f"{323 + 17 * per_app:.0f} of {room} MB)")
        return 0 if fits else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
