"""Benchmark: the staff queue and its search with 100,000 requests and 20,000 residents, in-process.

Acceptance (issue 3, "Figures to reach"): with 100,000 requests and 20,000 residents seeded, the
staff queue's first page and a filtered page render in <= 50 ms at p95, search by NIK or by tracking
number in <= 20 ms at p95, and a queue page costs the same number of SQL queries whatever its size.

The script migrates a fresh SQLite file under /tmp (``flask db upgrade``, ``flask seed-demo`` for the
profile, the catalogue and the demo staff account), then bulk-inserts (SQLAlchemy Core executemany)
20,000 residents in 5,000 households over 6 RWs / 36 RTs, 10,000 resident accounts and 100,000
requests spread over four years: the older ones final (selesai, ditolak, dibatalkan), the last 45
days a mix of every status (about 7,000 open, many of them overdue). It then logs in as the demo
staff member ("petugas") with the Flask test client and times, in turns (every round measures each
case once), ``--runs`` requests of each page after a warm-up, wall time per request; alongside, the
bare baseline (bench/baseline_app.py: one route, one primary-key lookup, a tiny template) through
its own test client in the same process and run.

    .venv/bin/python bench/bench_queue.py [--runs 50] [--keep] [--database-url URL]

``--database-url`` runs against another database (e.g. PostgreSQL); it must be empty, it is
migrated and filled, and it is left as is afterwards (drop it yourself). Events (the timeline rows)
are not seeded: the queue does not read them.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
STAFF_LOGIN, STAFF_PASSWORD = "petugas", "petugas-demo"
RESIDENTS, REQUESTS, ACCOUNTS_PER_HOUSEHOLD = 20_000, 100_000, 2
QUEUE_P95_MS, SEARCH_P95_MS = 50.0, 20.0

OPEN_MIX = [  # the last 45 days: (status, weight)
    ("menunggu_pengantar", 10), ("dikembalikan", 3), ("diajukan", 25), ("diperiksa", 15),
    ("perlu_perbaikan", 7), ("menunggu_ttd", 10), ("selesai", 25), ("ditolak", 3), ("dibatalkan", 2),
]
OLD_MIX = [("selesai", 88), ("ditolak", 7), ("dibatalkan", 5)]
FINAL = {"selesai", "ditolak", "dibatalkan"}
NAMES = ["AHMAD", "BUDI", "SUGENG", "JOKO", "AGUS", "HERU", "EKO", "WAHYU", "RUDI", "YUSUF", "SRI", "SITI",
         "ENDANG", "DEWI", "RINA", "YULI", "WATI", "NINGSIH", "ANI", "LESTARI"]
SURNAMES = ["SANTOSO", "WIBOWO", "SAPUTRA", "HIDAYAT", "KURNIAWAN", "SETIAWAN", "PRASETYO", "NUGROHO",
            "GUNAWAN", "SUSANTO", "HARTONO", "PURNOMO"]


def run_flask(argv: list[str], env: dict) -> None:
    done = subprocess.run([PYTHON, "-m", "flask", "--app", "app", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def seed(now: datetime) -> dict:
    """Bulk-insert residents, accounts and requests; returns probes for the searches."""
    from sqlalchemy import insert, select

    from sempelmas.extensions import db
    from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
    from sempelmas.models.catalogue import ServiceVersion
    from sempelmas.models.requests import LetterRequest, TrackingCounter
    from sempelmas.models.residents import Resident
    from sempelmas.services.people.passwords import hash_password

    rng = random.Random(3)
    started = time.perf_counter()
    households = RESIDENTS // 4
    residents, kk_of = [], []
    for i in range(RESIDENTS):
        household, member = divmod(i, 4)
        rw = 1 + household % 6
        rt = 1 + (household // 6) % 6 + (rw - 1) * 6  # 6 RTs in each RW, numbered across the kelurahan
        female = member in (1, 3)
        birth = date(1950 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28))
        day = birth.day + (40 if female else 0)
        nik = f"3576{i // 10000:02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{i % 10000:04d}"
        kk = f"357603{household:010d}"
        kk_of.append(household)
        residents.append({
            "id": i + 1, "nik": nik, "kk_number": kk,
            "full_name": f"{rng.choice(NAMES)} {SURNAMES[household % len(SURNAMES)]}",
            "birth_place": "MOJOKERTO", "birth_date": birth, "gender": "P" if female else "L",
            "address": f"Jl. Uji No. {household}", "rt": f"{rt:03d}", "rw": f"{rw:03d}", "religion": "ISLAM",
            "citizenship": "WNI", "source": "impor", "created_at": now.replace(tzinfo=None),
            "updated_at": now.replace(tzinfo=None),
        })
    first_id = (db.session.scalar(select(Resident.id).order_by(Resident.id.desc()).limit(1)) or 0) + 1
    for r in residents:
        r["id"] += first_id - 1
    for chunk in range(0, len(residents), 5000):
        db.session.execute(insert(Resident), residents[chunk:chunk + 5000])

    password = hash_password("warga-bench")
    first_user = (db.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0) + 1
    users, grants = [], []
    account_of_household: dict[int, list[int]] = {}
    for household in range(households):
        for member in range(ACCOUNTS_PER_HOUSEHOLD):
            resident = residents[household * 4 + member]
            uid = first_user + len(users)
            users.append({"id": uid, "full_name": resident["full_name"].title(), "status": AccountStatus.VERIFIED,
                          "password_hash": password, "resident_id": resident["id"], "auth_version": 1,
                          "failed_logins": 0, "created_at": now.replace(tzinfo=None)})
            grants.append({"user_id": uid, "role": Role.RESIDENT, "granted_at": now.replace(tzinfo=None)})
            account_of_household.setdefault(household, []).append(uid)
    for chunk in range(0, len(users), 5000):
        db.session.execute(insert(User), users[chunk:chunk + 5000])
        db.session.execute(insert(RoleGrant), grants[chunk:chunk + 5000])

    versions = list(db.session.execute(select(ServiceVersion.id)).scalars())
    staff_id = db.session.scalar(select(User.id).where(User.username == STAFF_LOGIN))
    now_naive = now.astimezone(UTC).replace(tzinfo=None)
    start = now_naive - timedelta(days=4 * 365)
    recent_from = now_naive - timedelta(days=45)
    open_statuses, open_weights = zip(*OPEN_MIX, strict=True)
    old_statuses, old_weights = zip(*OLD_MIX, strict=True)
    n_recent = REQUESTS // 10
    moments = sorted(
        [start + timedelta(seconds=rng.randrange(int((recent_from - start).total_seconds())))
         for _ in range(REQUESTS - n_recent)]
        + [recent_from + timedelta(seconds=rng.randrange(45 * 86400)) for _ in range(n_recent)])
    # continue after the demo's own requests (seed-demo made a few)
    seq_by_year: dict[int, int] = {c.year: c.last for c in db.session.scalars(select(TrackingCounter))}
    rows = []
    for moment in moments:
        year = moment.year
        seq_by_year[year] = seq_by_year.get(year, 0) + 1
        status = rng.choices(open_statuses, open_weights)[0] if moment >= recent_from \
            else rng.choices(old_statuses, old_weights)[0]
        household = rng.randrange(households)
        subject = residents[household * 4 + rng.randrange(4)]["id"]
        due = (moment + timedelta(days=1 + rng.randrange(3))).replace(hour=8, minute=30, second=0)
        claimed = staff_id if status in ("diperiksa", "perlu_perbaikan", "menunggu_ttd", "selesai", "ditolak") \
            else None
        rows.append({
            "tracking_number": f"JGL-{year}-{seq_by_year[year]:06d}", "service_version_id": rng.choice(versions),
            "applicant_user_id": rng.choice(account_of_household[household]), "subject_resident_id": subject,
            "answers": {"keperluan": "Persyaratan administrasi"}, "status": status,
            "needs_paper_pengantar": False, "claimed_by_id": claimed, "submitted_at": moment, "due_at": due,
            "closed_at": due if status in FINAL else None, "updated_at": moment, "version": 1,
        })
    for chunk in range(0, len(rows), 5000):
        db.session.execute(insert(LetterRequest), rows[chunk:chunk + 5000])
    db.session.commit()
    seconds = time.perf_counter() - started

    open_subjects = [r for r in rows if r["status"] not in FINAL]
    probe = rng.choice(open_subjects)
    nik = next(r["nik"] for r in residents if r["id"] == probe["subject_resident_id"])
    return {"seconds": seconds, "nik": nik, "tracking": rows[len(rows) // 2]["tracking_number"],
            "tracking_prefix": rows[len(rows) // 2]["tracking_number"][:13], "open": len(open_subjects)}


def login(client) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    resp = client.post("/login", data={"identifier": STAFF_LOGIN, "password": STAFF_PASSWORD,
                                       "csrf_token": token.group(1)})
    if resp.status_code not in (302, 303) or "/petugas" not in resp.headers.get("Location", ""):
        raise SystemExit(f"login as {STAFF_LOGIN} failed: {resp.status_code} {resp.headers.get('Location')}")


def timed(client, url: str, headers: dict | None = None) -> float:
    t = time.perf_counter()
    resp = client.get(url, headers=headers or {})
    body = resp.get_data()
    elapsed = (time.perf_counter() - t) * 1000
    if resp.status_code != 200 or not body:
        raise SystemExit(f"{url} answered {resp.status_code}")
    return elapsed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=50, help="timed requests per case")
    ap.add_argument("--database-url", help="an empty database to use instead of a fresh SQLite file")
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file (path printed)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sempelmas-bench-queue-", dir="/tmp"))
    url = args.database_url or f"sqlite:///{tmp / 'app.db'}"
    env = {**os.environ, "SECRET_KEY": "bench-" + uuid.uuid4().hex, "DATABASE_URL": url,
           "SEMPELMAS_ENV": "development", "BASELINE_DB": str(tmp / "baseline.db")}
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "DATABASE_URL", "SEMPELMAS_ENV", "BASELINE_DB")})
    print(f"database: {url if args.database_url else tmp / 'app.db'}")
    t = time.perf_counter()
    run_flask(["db", "upgrade"], env)
    run_flask(["seed-demo"], env)
    subprocess.run([PYTHON, str(BENCH / "baseline_app.py"), "init", env["BASELINE_DB"]], check=True, timeout=60)
    print(f"migrate + seed-demo: {time.perf_counter() - t:.1f} s")

    sys.path[:0] = [str(ROOT), str(BENCH)]
    import baseline_app

    from sempelmas import create_app
    from sempelmas.extensions import db
    from tests.query_counter import count_queries

    app = create_app()
    now = datetime.now(UTC)
    with app.app_context():
        probes = seed(now)
    print(f"bulk seed: {RESIDENTS:,} residents, {RESIDENTS // 4 * ACCOUNTS_PER_HOUSEHOLD:,} accounts, "
          f"{REQUESTS:,} requests ({probes['open']:,} open) in {probes['seconds']:.1f} s")

    client = app.test_client()
    login(client)
    base = baseline_app.app.test_client()

    cases = [
        ("baseline (bare Flask page)", base, "/orang/1", None, None),
        ("queue, first page", client, "/petugas/permohonan", None, QUEUE_P95_MS),
        ("queue, first page (htmx fragment)", client, "/petugas/permohonan", {"HX-Request": "true"}, QUEUE_P95_MS),
        ("queue, filtered: diajukan + RW 002 + overdue", client,
         "/petugas/permohonan?status=diajukan&rw=002&overdue=1", {"HX-Request": "true"}, QUEUE_P95_MS),
        ("queue, filtered: all statuses + service + RT 008, newest", client,
         "/petugas/permohonan?status=semua&service=domisili&rt=008&order=terbaru", {"HX-Request": "true"},
         QUEUE_P95_MS),
        ("queue, page 20 of the open requests", client, "/petugas/permohonan?page=20", {"HX-Request": "true"},
         QUEUE_P95_MS),
        ("search by NIK", client, f"/petugas/permohonan?q={probes['nik']}", {"HX-Request": "true"}, SEARCH_P95_MS),
        ("search by tracking number", client, f"/petugas/permohonan?q={probes['tracking']}",
         {"HX-Request": "true"}, SEARCH_P95_MS),
        ("search by tracking-number prefix", client, f"/petugas/permohonan?q={probes['tracking_prefix']}",
         {"HX-Request": "true"}, SEARCH_P95_MS),
        ("search by name (info)", client, "/petugas/permohonan?q=wahyu%20hidayat", {"HX-Request": "true"}, None),
    ]
    # the same pages with the counts bar re-counted on every request (QUEUE_COUNTS_CACHE_SECONDS=0),
    # as after an action: shown, not judged
    uncached = {"queue, first page", "queue, filtered: diajukan + RW 002 + overdue", "search by NIK",
                "search by tracking number"}
    cases += [(f"{name} [counts re-read]", c, path, headers, None) for name, c, path, headers, _l in cases
              if name in uncached]
    cache_seconds = app.config["QUEUE_COUNTS_CACHE_SECONDS"]

    def fetch(name, c, path, headers) -> float:
        app.config["QUEUE_COUNTS_CACHE_SECONDS"] = 0 if name.endswith("[counts re-read]") else cache_seconds
        return timed(c, path, headers)

    for name, c, path, headers, _limit in cases:  # warm-up: templates compiled, pools and caches filled
        for _ in range(5):
            fetch(name, c, path, headers)
    samples: dict[str, list[float]] = {name: [] for name, *_rest in cases}
    for _ in range(args.runs):
        for name, c, path, headers, _limit in cases:
            samples[name].append(fetch(name, c, path, headers))
    app.config["QUEUE_COUNTS_CACHE_SECONDS"] = cache_seconds

    queries = {}
    for size in (10, 100):
        with app.app_context(), count_queries() as statements:
            client.get(f"/petugas/permohonan?per_page={size}")
        queries[size] = len(statements)

    baseline_p50 = statistics.median(samples[cases[0][0]])
    print(f"counts bar: re-read at most every {cache_seconds} s per worker for page views, at once after an action")
    print(f"\n{'case':58} {'p50 ms':>8} {'p95 ms':>8} {'x base':>7} {'target':>8}  verdict")
    failed = False
    for name, _c, _path, _headers, limit in cases:
        p50, p95 = statistics.median(samples[name]), pct(samples[name], 95)
        verdict = "" if limit is None else ("PASS" if p95 <= limit else "FAIL")
        failed |= verdict == "FAIL"
        target = f"<= {limit:.0f}" if limit else ""
        print(f"{name:58} {p50:8.2f} {p95:8.2f} {p50 / baseline_p50:7.1f} {target:>8}  {verdict}")
    same = queries[10] == queries[100]
    failed |= not same
    print(f"\nSQL statements per queue page (whole request): page size 10: {queries[10]}, "
          f"page size 100: {queries[100]}  {'PASS' if same else 'FAIL'}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if not args.keep and not args.database_url:
        for p in tmp.iterdir():
            p.unlink()
        tmp.rmdir()
    print(f"\nRESULT: {'FAIL' if failed else 'PASS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
