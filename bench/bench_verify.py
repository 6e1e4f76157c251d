"""Benchmark: the public verification page /v/<code> with 100,000 letters against a bare Flask route.

Acceptance: GET /v/<code> (random codes of the seeded letters) reaches >= 60 % of the requests/s of
bench/verify_baseline_app.py (one primary-key lookup in the same ``letters`` table of the same database,
a tiny template), both served in the same run by gunicorn with identical settings (bench_http.py's:
-w 2 -k sync, no access log) and loaded in turns by wrk on 127.0.0.1 only, each request picking one of
2,000 random letters (a wrk Lua script). The verification rate limit is raised for the run
(``SEMPELMAS_VERIFY_RATE_LIMIT``); the scan counter runs as configured (in memory, flushed every
VERIFY_SCAN_FLUSH_SECONDS / VERIFY_SCAN_FLUSH_HITS).

The database: a fresh SQLite file in a temp dir (``flask db upgrade``, then a bulk insert of a profile,
a service, 2,000 residents with accounts, 100,000 requests and their 100,000 letters), or with
``--database-url postgresql+psycopg:///sempelmas_verify`` a scratch PostgreSQL database whose tables are
DROPPED and rebuilt (never point it at a database you keep).

    .venv/bin/python bench/bench_verify.py [--letters 100000] [--rounds 3] [--duration 10]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import bench_http as bh  # noqa: E402  (the same gunicorn settings, server start/stop and wrk parsing)

MIN_RATIO = 0.60
SAMPLE = 2000


def seed(env: dict, n_letters: int, workdir: Path) -> list[tuple[int, str]]:
    """Bulk-insert the letters; returns a random sample of (id, code)."""
    os.environ.update({k: v for k, v in env.items() if k in ("SECRET_KEY", "DATABASE_URL", "SEMPELMAS_ENV")})
    from sqlalchemy import insert, select, text

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
    from sempelmas.models.letters import Letter, LetterStatus
    from sempelmas.models.profile import KelurahanProfile, Official
    from sempelmas.models.requests import LetterRequest
    from sempelmas.models.residents import Resident
    from sempelmas.services.kelurahan.demo import make_nik
    from sempelmas.services.letters.store import new_verify_code
    from sempelmas.services.requests import catalogue

    app = create_app({"SECRET_KEY": env["SECRET_KEY"], "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "INSTANCE_PATH": str(workdir / "instance")})
    rng = random.Random(4)
    with app.app_context():
        if db.session.scalar(select(KelurahanProfile).limit(1)) is None:
            db.session.add(KelurahanProfile(province_name="Jawa Timur", regency_name="Mojokerto",
                                            district_name="Kranggan", village_name="Jagalan",
                                            region_code="35.76.03.1004", address="Jl. Pemuda 2", timezone="WIB",
                                            tracking_prefix="JGL"))
        service = catalogue.save_service(None, {"code": "domisili", "name": "Surat Keterangan Domisili",
                                                "classification_code": "470", "letter_template": "domisili"},
                                         [], [])
        db.session.flush()
        version = catalogue.current_version(service)
        signer = User(username="lurah", full_name="Drs. Sugeng Raharjo", status=AccountStatus.VERIFIED,
                      password_hash="x")
        signer.roles.append(RoleGrant(role=Role.SIGNER))
        db.session.add(signer)
        db.session.flush()
        official = Official(name="Drs. SUGENG RAHARJO", position="lurah", position_title="Lurah Jagalan",
                            user_id=signer.id)
        db.session.add(official)
        db.session.commit()
        n_people = 2000
        db.session.execute(insert(Resident), [
            {"nik": make_nik(datetime(1960 + i % 40, 1 + i % 12, 1 + i % 28).date(), i % 2 == 1, 1 + i // 2),
             "kk_number": f"3576030101{i:06d}", "full_name": f"WARGA NOMOR {i:04d}", "birth_place": "MOJOKERTO",
             "birth_date": datetime(1960 + i % 40, 1 + i % 12, 1 + i % 28).date(), "gender": "P" if i % 2 else "L",
             "address": "Jl. Uji", "rt": f"{1 + i % 9:03d}", "rw": "001", "citizenship": "WNI", "source": "impor"}
            for i in range(n_people)])
        resident_ids = db.session.scalars(select(Resident.id).order_by(Resident.id)).all()
        niks = db.session.scalars(select(Resident.nik).order_by(Resident.id)).all()
        db.session.execute(insert(User), [
            {"full_name": f"Warga {i}", "status": AccountStatus.VERIFIED, "password_hash": "x", "resident_id": rid}
            for i, rid in enumerate(resident_ids)])
        user_ids = dict(db.session.execute(select(User.resident_id, User.id)
                                           .where(User.resident_id.is_not(None))).all())
        db.session.commit()
        start = datetime(2026, 1, 2, 2, 0)
        chunk = 10_000
        t0 = time.monotonic()
        for base in range(0, n_letters, chunk):
            rows = range(base, min(base + chunk, n_letters))
            db.session.execute(insert(LetterRequest), [
                {"tracking_number": f"JGL-2026-{i + 1:06d}", "service_version_id": version.id,
                 "applicant_user_id": user_ids[resident_ids[i % n_people]],
                 "subject_resident_id": resident_ids[i % n_people],
                 "answers": {"keperluan": "Melamar pekerjaan"}, "status": "selesai",
                 "submitted_at": start + timedelta(minutes=5 * i)} for i in rows])
            first_request = db.session.scalar(select(LetterRequest.id).where(
                LetterRequest.tracking_number == f"JGL-2026-{base + 1:06d}"))
            db.session.execute(insert(Letter), [
                {"request_id": first_request + (i - base), "number": f"470/{i + 1:06d}/417.604.3/2026",
                 "scope": "semua", "year": 2026, "sequence": i + 1, "verify_code": new_verify_code(),
                 "service_code": "domisili", "title": "Surat Keterangan Domisili",
                 "signed_at": start + timedelta(minutes=5 * i + 60), "signer_user_id": signer.id,
                 "official_id": official.id, "capacity": "", "stored_name": f"{uuid.uuid4().hex}.pdf",
                 "signer_name": official.name, "signer_position": official.position_title,
                 "subject_name": f"WARGA NOMOR {i % n_people:04d}", "subject_nik": niks[i % n_people],
                 "pdf_sha256": f"{rng.getrandbits(256):064x}", "pdf_size": 60_000,
                 "status": LetterStatus.VALID if i % 50 else LetterStatus.REVOKED,
                 "revoked_at": None if i % 50 else start + timedelta(days=30),
                 "revocation_reason": None if i % 50 else "Data keliru"} for i in rows])
            db.session.commit()
        if env["DATABASE_URL"].startswith("postgresql"):
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"seeded {n_letters:,} letters in {time.monotonic() - t0:.1f} s")
        ids = rng.sample(range(1, n_letters + 1), min(SAMPLE, n_letters))
        first = db.session.scalar(select(Letter.id).order_by(Letter.id).limit(1))
        pairs = db.session.execute(select(Letter.id, Letter.verify_code)
                                   .where(Letter.id.in_([first - 1 + i for i in ids]))).all()
        db.session.remove()
        db.engine.dispose()
    return [(i, c) for i, c in pairs]


def lua_script(path: Path, paths: list[str]) -> Path:
    body = ",\n".join(f'  "{p}"' for p in paths)
    path.write_text(f"paths = {{\n{body}\n}}\n"
                    "math.randomseed(7)\n"
                    "request = function()\n"
                    "  return wrk.format(nil, paths[math.random(#paths)])\n"
                    "end\n")
    return path


def wrk(url: str, script: Path, duration: int, connections: int, threads: int) -> tuple[float, float, float, str]:
    argv = [bh.WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
            "-H", f"User-Agent: {bh.USER_AGENT}", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=False).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise SystemExit(f"could not parse wrk output:\n{out}")

    def pct(p: str) -> float:
        mm = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(mm.group(1)) * bh.UNITS[mm.group(2)] if mm else float("nan")

    notes = []
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        notes.append(f"{bad.group(1)} non-2xx/3xx")
    errors = re.search(r"Socket errors: (.*)", out)
    if errors:
        notes.append(f"socket errors: {errors.group(1).strip()}")
    return float(m.group(1)), pct("50"), pct("99"), "; ".join(notes)


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--letters", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (<= 60)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--database-url", help="a scratch PostgreSQL database (its tables are dropped)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    args.duration = max(1, min(args.duration, 60))
    if not Path(bh.WRK).exists():
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="sempelmas-bench-verify-"))
    servers: list[bh.Server] = []
    try:
        url = args.database_url or f"sqlite:///{workdir / 'app.db'}"
        if url.startswith("postgresql"):
            reset_postgres(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
        env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=url, SEMPELMAS_ENV="development",
                   SEMPELMAS_VERIFY_RATE_LIMIT="100000000 per minute", BASELINE_DATABASE_URL=url)
        bh.run([bh.PYTHON, "-m", "flask", "--app", "app", "db", "upgrade"], env, "flask db upgrade")
        sample = seed(env, args.letters, workdir)

        base = bh.start_gunicorn("baseline", "verify_baseline_app:app", BENCH, env, workdir)
        servers.append(base)
        real = bh.start_gunicorn("app", "app:app", ROOT, env, workdir)
        servers.append(real)
        bh.wait_ready(base, f"/b/{sample[0][0]}")
        bh.wait_ready(real, "/")

        # the pages must be the real thing: 200, the verdict, and no session cookie
        for lid, code in sample[:20]:
            status, body, headers = bh.fetch(f"{real.base}/v/{code}")
            if status != 200 or not re.search(r'id="verdict">(SAH|DICABUT)<', body):
                raise SystemExit(f"/v/{code} answered {status} without the verdict")
            if "Set-Cookie" in headers:
                raise SystemExit(f"/v/{code} set a cookie: {headers['Set-Cookie']}")
            status, body, _h = bh.fetch(f"{base.base}/b/{lid}")
            if status != 200:
                raise SystemExit(f"baseline /b/{lid} answered {status}")

        base_script = lua_script(workdir / "baseline.lua", [f"/b/{i}" for i, _c in sample])
        real_script = lua_script(workdir / "verify.lua", [f"/v/{c}" for _i, c in sample])
        targets = [("baseline", base.base, base_script), ("/v/<code>", real.base, real_script)]
        results: dict[str, list] = {name: [] for name, _u, _s in targets}
        notes: list[str] = []
        print(f"{args.letters:,} letters on {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; "
              f"gunicorn {' '.join(bh.GUNICORN_SETTINGS)} (no access log); "
              f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s over {len(sample)} random letters; "
              f"{args.rounds} round(s); {os.cpu_count()} CPUs; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.warmup:
            for _n, u, s in targets:
                wrk(u, s, args.warmup, args.connections, args.threads)
        for r in range(args.rounds):
            for name, u, s in targets:
                rps, p50, p99, note = wrk(u, s, args.duration, args.connections, args.threads)
                results[name].append((rps, p50, p99))
                if note:
                    notes.append(f"{name}: {note}")
                print(f"  round {r + 1}: {name:<10} {rps:>8.1f} req/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms"
                      + (f"  ({note})" if note else ""))

        from sempelmas.config import DefaultConfig

        time.sleep(DefaultConfig.VERIFY_SCAN_FLUSH_SECONDS + 2)  # past it: the next scan flushes its worker's counts
        bh.fetch(f"{real.base}/v/{sample[0][1]}")
        bh.fetch(f"{real.base}/v/{sample[0][1]}")
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn:
            scans = conn.execute(text("SELECT COALESCE(SUM(scan_count), 0) FROM letters")).scalar()
        engine.dispose()
        ratios = [v[0] / b[0] for v, b in zip(results["/v/<code>"], results["baseline"], strict=True)]
        ratio = statistics.median(ratios)
        print(f"\nscans counted in the database: {scans:,} (counts still in the workers' memory are written "
              "at their next flush or exit)")
        for name in results:
            rows = results[name]
            rps, p50, p99 = (statistics.median(r[k] for r in rows) for k in range(3))
            print(f"{name:<10} {rps:>8.1f} req/s  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms")
        ok = ratio >= MIN_RATIO and not notes
        print(f"ratio /v/<code> : baseline = {ratio:.2f} (median of per-round ratios "
              f"{', '.join(f'{x:.2f}' for x in ratios)}; target >= {MIN_RATIO:.2f})"
              + (f"; problems: {'; '.join(notes)}" if notes else ""))
        print("\nRESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        for s in servers:
            bh.stop(s)
        if args.keep:
            print(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
