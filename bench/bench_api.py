"""Benchmark: the API's letters register (GET /api/v1/letters) with 100,000 letters, in-process.

Acceptance (issue 16): a page of 100 in <= 50 ms (median). Measured with the Flask test client and a real key
(Bearer, scope letters:read; the rate limit raised for the run), as medians over ``--rounds`` after warm-ups:

* first page; a deep page (cursor near the 90,000th letter); filtered pages (status=dicabut: 2 % of the letters;
  type=sktm: a quarter; a status and a type no letter has: the whole range walked without migration 0033's
  indexes; both together; one day by date); the same first page with If-None-Match (304); with letters:pii (the
  NIK and one audit entry per page);
* baselines in the same run: the bare SQL query of the same 100 rows (same columns, same order), and a bare Flask
  route (its own minimal app on the same database) answering those rows with jsonify.

The database: a fresh SQLite file in a temp dir (``flask db upgrade``, then bench_verify's bulk seed: 100,000
requests and letters, every 50th revoked; a quarter then re-typed "sktm"), or with ``--database-url
postgresql+psycopg:///<scratch>`` a PostgreSQL database whose tables are DROPPED and rebuilt (never one you keep).

    .venv/bin/python bench/bench_api.py [--letters 100000] [--rounds 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

TARGET_MS = 50.0
PAGE = 100


def timed(fn, rounds: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--letters", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--database-url", help="a scratch PostgreSQL database (its tables are dropped)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    import bench_http as bh
    import bench_verify

    workdir = Path(tempfile.mkdtemp(prefix="sempelmas-bench-api-"))
    try:
        url = args.database_url or f"sqlite:///{workdir / 'app.db'}"
        if url.startswith("postgresql"):
            bench_verify.reset_postgres(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
        env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=url, SEMPELMAS_ENV="development")
        bh.run([bh.PYTHON, "-m", "flask", "--app", "app", "db", "upgrade"], env, "flask db upgrade")
        t0 = time.monotonic()
        bench_verify.seed(env, args.letters, workdir)
        return measure(env, url, workdir, args, time.monotonic() - t0)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(env: dict, url: str, workdir: Path, args, seed_seconds: float) -> int:
    from flask import Flask, jsonify
    from sqlalchemy import create_engine, func, select, text, update

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.letters import Letter
    from sempelmas.services.integration import clients, cursors

    app = create_app({"SECRET_KEY": env["SECRET_KEY"], "SQLALCHEMY_DATABASE_URI": url,
                      "INSTANCE_PATH": str(workdir / "instance"), "PUBLIC_URL": "https://layanan.jagalan.go.id"})
    with app.app_context():
        L = Letter.__table__.c
        db.session.execute(update(Letter).where(Letter.id % 4 == 0).values(service_code="sktm"))
        if url.startswith("postgresql"):
            db.session.commit()
            db.session.execute(text("ANALYZE letters"))
        db.session.commit()
        total = db.session.scalar(select(func.count()).select_from(Letter))
        deep_row = db.session.execute(select(L.signed_at, L.id).order_by(L.signed_at, L.id)
                                      .offset(int(total * 0.9)).limit(1)).one()
        deep = cursors.encode("letters", deep_row.signed_at, deep_row.id)
        month = db.session.execute(select(L.signed_at).order_by(L.signed_at).offset(total // 2).limit(1)).scalar()
        _c, key = clients.create_client(clients.Settings(name="Bench", scopes=["letters:read"], allowed_sources=[],
                                                         rate_limit="100000000 per minute"), actor=None)
        _c, pii_key = clients.create_client(clients.Settings(name="Bench PII", scopes=["letters:read", "letters:pii"],
                                                             allowed_sources=[], rate_limit="100000000 per minute"),
                                            actor=None)
        db.session.commit()
    db_name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"

    # baselines: the same rows by a bare query, and by a bare Flask route on its own engine
    engine = create_engine(url)
    bare_sql = (select(L.id, L.number, L.signed_at, L.service_code, L.title, L.signer_name, L.signer_position,
                       L.capacity, L.status, L.revoked_at, L.verify_code).order_by(L.signed_at, L.id).limit(PAGE))

    def bare_query():
        with engine.connect() as conn:
            return conn.execute(bare_sql).all()

    bare = Flask("baseline")

    @bare.get("/b")
    def rows():
        return jsonify([{"id": r.id, "number": r.number, "signed_at": r.signed_at.isoformat(),
                         "type": r.service_code, "title": r.title, "signer": r.signer_name,
                         "position": r.signer_position, "capacity": r.capacity, "status": r.status,
                         "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                         "code": r.verify_code} for r in bare_query()])

    bare_client = bare.test_client()
    real = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}

    def get(path: str, headers=None, expect=200):
        resp = real.get(path, headers=headers or auth)
        if resp.status_code != expect:
            raise SystemExit(f"{path} answered {resp.status_code}: {resp.data[:300]!r}")
        return resp

    first = get(f"/api/v1/letters?limit={PAGE}")
    assert len(first.json["items"]) == PAGE and first.json["has_more"]
    etag = first.headers["ETag"]
    deep_page = get(f"/api/v1/letters?limit={PAGE}&cursor={deep}").json
    assert len(deep_page["items"]) == PAGE
    month_from = month.date().isoformat()
    cases = [
        ("bare SQL query (baseline)", bare_query),
        ("bare Flask JSON route (baseline)", lambda: bare_client.get("/b")),
        ("first page", lambda: get(f"/api/v1/letters?limit={PAGE}")),
        ("deep page (cursor at 90 %)", lambda: get(f"/api/v1/letters?limit={PAGE}&cursor={deep}")),
        ("status=dicabut (2 %)", lambda: get(f"/api/v1/letters?limit={PAGE}&status=dicabut")),
        ("deep, status=dicabut", lambda: get(f"/api/v1/letters?limit={PAGE}&status=dicabut&cursor={deep}")),
        ("type=sktm (25 %)", lambda: get(f"/api/v1/letters?limit={PAGE}&type=sktm")),
        ("status=diganti (none)", lambda: get(f"/api/v1/letters?limit={PAGE}&status=diganti")),
        ("type=kelahiran (none)", lambda: get(f"/api/v1/letters?limit={PAGE}&type=kelahiran")),
        ("status=dicabut&type=sktm", lambda: get(f"/api/v1/letters?limit={PAGE}&status=dicabut&type=sktm")),
        (f"one day from {month_from}", lambda: get(f"/api/v1/letters?limit={PAGE}&date_from={month_from}"
                                                   f"&date_to={month_from}")),
        ("If-None-Match (304)", lambda: get(f"/api/v1/letters?limit={PAGE}", {**auth, "If-None-Match": etag}, 304)),
        ("with letters:pii (NIK, audited)", lambda: get(f"/api/v1/letters?limit={PAGE}",
                                                        {"Authorization": f"Bearer {pii_key}"})),
    ]
    print(f"{total:,} letters on {db_name} (seeded in {seed_seconds:.1f} s); pages of {PAGE}; "
          f"median of {args.rounds} after 3 warm-ups; {os.cpu_count()} CPUs; load "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results = {}
    for name, fn in cases:
        results[name] = timed(fn, args.rounds)
        print(f"  {name:40s} {results[name]:7.2f} ms")
    engine.dispose()
    worst = max(v for k, v in results.items() if "baseline" not in k)
    base = results["bare Flask JSON route (baseline)"]
    print(f"worst API page {worst:.2f} ms (target <= {TARGET_MS:.0f} ms); first page "
          f"{results['first page'] / base:.1f} x the bare route")
    ok = worst <= TARGET_MS
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
