"""Benchmark: a 20,000-row population-register upsert through the API (POST /api/v1/residents), in-process.

Acceptance (issue 16): 20,000 rows through the API in <= 15 s.

The rows are bench_import.py's realistic register (families sharing a KK, ~1.5 % wrong rows, ~0.5 % NIK/birth
date disagreements), sent as JSON batches of ``--batch`` rows (default 5,000: the API's limit) through the Flask
test client with a real key (Bearer auth, scope check, rate limit, marshmallow in and out, the service, one
commit per batch). Each stage gets a fresh migrated database and runs twice: run #1 into the empty register (all
created), run #2 the same batches again (must be all unchanged: idempotent by NIK). Stages, in the same run:

* ``import``  - the baseline: the same rows as one CSV through the register import's service
                (``register_apply.apply`` + commit), as the CLI/worker runs it, without process start-up;
* ``service`` - the batches straight into ``services.integration.residents.upsert_batch`` + commit (no HTTP):
                the cost of the batching itself;
* ``api``     - the batches through POST /api/v1/residents.

A row whose NIK came in an earlier *batch* is made a wrong NIK (a digit dropped) first: across batches a
repeated NIK is an update (last one wins), so run #2 would not be "unchanged" for it; inside one batch (and in
the file) it is a duplicate error in both paths. So the three stages see the same valid rows and must report the
same counts. With ``--database-url postgresql+psycopg:///x`` (or BENCH_DATABASE_URL) each stage runs in a
scratch PostgreSQL database created next to it and dropped afterwards.

    .venv/bin/python bench/bench_api_upsert.py [--rows 20000] [--batch 5000] [--database-url URL] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import PgScratch, Register, write_csv  # noqa: E402

MAX_SECONDS = 15.0
FIELDS = ["nik", "no_kk", "nama", "tempat_lahir", "tanggal_lahir", "jenis_kelamin", "alamat", "rt", "rw", "agama",
          "status_perkawinan", "pekerjaan", "kewarganegaraan"]


def batches_of(rows: list[list], size: int) -> list[list[dict]]:
    """The register as API batches; a NIK already sent in an earlier batch becomes a wrong one (see above)."""
    sent: set[str] = set()
    out = []
    for start in range(0, len(rows), size):
        chunk = [[str(v) for v in r] for r in rows[start:start + size]]
        for r in chunk:
            if r[0] in sent:
                r[0] = r[0][:15]
        sent.update(r[0] for r in chunk)
        out.append([dict(zip(FIELDS, r, strict=True)) for r in chunk])
    return out


@contextlib.contextmanager
def database(base_url: str | None, work: Path, label: str):
    if base_url:
        with PgScratch(base_url) as url:
            yield url
    else:
        yield f"sqlite:///{work / (label + '.db')}"


def make_app(url: str, work: Path):
    from flask_migrate import upgrade

    from sempelmas import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "INSTANCE_PATH": str(work),
                      "UPLOAD_DIR": str(work / "uploads"), "API_RATE_LIMIT": "100000 per minute"})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    return app


def counts_import(summary: dict) -> tuple:
    return summary["new"], summary["changed"], summary["unchanged"], summary["errors"]


def stage_import(app, batches, work: Path, runs: list):
    from sempelmas.extensions import db
    from sempelmas.services.people import register_apply

    path = work / "register.csv"
    write_csv([[r[f] for f in FIELDS] for b in batches for r in b], path)
    with app.app_context():
        for n in (1, 2):
            t = time.perf_counter()
            summary = register_apply.apply(path, actor_id=None)
            db.session.commit()
            runs.append(("import", n, time.perf_counter() - t, counts_import(summary)))


def stage_service(app, batches, runs: list):
    from sempelmas.extensions import db
    from sempelmas.services.integration import residents

    with app.app_context():
        for n in (1, 2):
            t = time.perf_counter()
            total = [0, 0, 0, 0]
            for b in batches:
                r = residents.upsert_batch(b)
                db.session.commit()
                for i, v in enumerate((r.created, r.updated, r.unchanged, r.errors)):
                    total[i] += v
            runs.append(("service", n, time.perf_counter() - t, tuple(total)))


def stage_api(app, batches, runs: list, profile: bool):
    from sempelmas.extensions import db
    from sempelmas.services.integration import clients

    with app.app_context():
        _client, key = clients.create_client(clients.Settings(
            name="Bench Dukcapil", scopes=["residents:write"], allowed_sources=[]), actor=None)
        db.session.commit()
    http = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    prof = cProfile.Profile() if profile else None
    for n in (1, 2):
        t = time.perf_counter()
        total = [0, 0, 0, 0]
        if prof and n == 1:
            prof.enable()
        for b in batches:
            resp = http.post("/api/v1/residents", json={"rows": b}, headers=headers)
            if resp.status_code != 200:
                raise SystemExit(f"API answered {resp.status_code}: {resp.get_data(as_text=True)[:500]}")
            body = resp.get_json()
            for i, k in enumerate(("created", "updated", "unchanged", "rejected")):
                total[i] += body[k]
        if prof and n == 1:
            prof.disable()
        runs.append(("api", n, time.perf_counter() - t, tuple(total)))
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    ap.add_argument("--profile", action="store_true", help="cProfile of the API's run #1")
    args = ap.parse_args()
    os.environ.setdefault("SEMPELMAS_ENV", "development")

    batches = batches_of(Register(args.rows).build(), args.batch)
    print(f"{args.rows} rows in {len(batches)} batches of <= {args.batch}; database: "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}")
    runs: list[tuple] = []
    with tempfile.TemporaryDirectory(prefix="api-upsert-bench-") as tmp:
        work = Path(tmp)
        for label in ("import", "service", "api"):
            with database(args.database_url, work, label) as url:
                app = make_app(url, work)
                if label == "import":
                    stage_import(app, batches, work, runs)
                elif label == "service":
                    stage_service(app, batches, runs)
                else:
                    stage_api(app, batches, runs, args.profile)
                with app.app_context():
                    from sempelmas.extensions import db
                    db.session.remove()
                    db.engine.dispose()

    base = {n: s for label, n, s, _c in runs if label == "import"}
    print(f"\n{'stage':8} {'run':>4} {'seconds':>8} {'x import':>9}   created/updated/unchanged/errors")
    for label, n, secs, c in runs:
        print(f"{label:8} {n:>4} {secs:>8.2f} {secs / base[n]:>9.2f}   {'/'.join(map(str, c))}")
    problems = []
    expected = {n: c for label, n, _s, c in runs if label == "import"}
    for label, n, secs, c in runs:
        if c != expected[n]:
            problems.append(f"{label} run #{n} counts {c} differ from the import's {expected[n]}")
        if n == 2 and (c[0] or c[1]):
            problems.append(f"{label} run #2 changed rows: {c} (must be idempotent)")
        if label == "api" and secs > MAX_SECONDS:
            problems.append(f"api run #{n}: {secs:.2f} s > {MAX_SECONDS} s")
    for p in problems:
        print("PROBLEM:", p)
    print(f"\nacceptance: {args.rows} rows through the API <= {MAX_SECONDS:.0f} s (run #1 and run #2)")
    print("RESULT:", "FAIL" if problems else "PASS")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
