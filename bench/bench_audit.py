"""Benchmark: the hash-chained audit log with 1,000,000 entries.

1. Builds a fresh SQLite database in a temp dir (``flask db upgrade``), 50 accounts, then 1,000,000 audit entries
   with a correct chain (hashed with ``sempelmas.domain.audit_chain``, the app's own function, and written by one
   ``executemany`` per 50,000 rows) and the chain head.
2. ``audit-verify``: wall time of ``flask --app app audit-verify`` in a child process (app start included) and of
   ``verify_chain()`` in-process, against a *bare baseline in the same run*: the same keyset queries reading the
   same rows through SQLAlchemy without checking anything (and, as a floor, a plain ``sqlite3`` read).
   The verifier must also find a tampered entry (one raw UPDATE in the middle) and exit 1, and pass with
   ``--anchor`` given the anchor it printed and one from half-way.
3. Per-append cost: ``audit.record()`` + COMMIT (chain head UPDATE ... RETURNING, hash, INSERT, head UPDATE)
   against a plain INSERT of the same row into a table of the same shape without the chain + COMMIT, both
   through the same session on the same 1M-row database; and the same without a commit per entry (flush only).

Acceptance: audit-verify over 1,000,000 entries <= 30 s (the issue's figure).

    .venv/bin/python bench/bench_audit.py [--entries 1000000] [--appends 2000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

LIMIT_S = 30.0
ACTIONS = ["auth.login", "request.view", "request.claim", "attachment.view", "letter.issue", "letter.download",
           "register.view", "request.forward_to_signing", "profile.update", "auth.login_failed"]


def run_flask(argv: list[str], env: dict, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - t0
    if check and done.returncode != 0:
        raise SystemExit(f"flask {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return took, done


def build(db_path: Path, n: int, user_ids: list[int]) -> float:
    """Bulk-insert ``n`` chained entries; returns the seconds taken."""
    from sempelmas.domain import audit_chain

    t0 = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    start = datetime(2025, 1, 1, 0, 0)
    prev = audit_chain.GENESIS
    sql = ("INSERT INTO audit_log (id, created_at, actor_id, on_behalf_of_id, ip, action, object_type, object_id, "
           "details, seq, prev_hash, entry_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
    chunk = 50_000
    dumps = json.dumps
    hash_of = audit_chain.values_hash
    for base in range(0, n, chunk):
        rows = []
        for i in range(base, min(base + chunk, n)):
            seq = i + 1
            actor = user_ids[i % len(user_ids)]
            behalf = user_ids[(i * 7) % len(user_ids)] if i % 5 == 0 else None
            at = (start + timedelta(seconds=30 * i, microseconds=i % 997)).isoformat(sep=" ", timespec="microseconds")
            ip, action, object_id = f"10.0.{i % 250}.{i % 199}", ACTIONS[i % len(ACTIONS)], str(i // 3 + 1)
            details = dumps({"tracking_number": f"JGL-2025-{i // 3 + 1:06d}", "note": "Berkas lengkap"})
            h = hash_of(seq, prev, at, actor, behalf, ip, action, "letter_requests", object_id, details)
            rows.append((seq, at, actor, behalf, ip, action, "letter_requests", object_id, details, seq, prev, h))
            prev = h
        conn.executemany(sql, rows)
    conn.execute("DELETE FROM audit_chain_head")
    conn.execute("INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, ?, ?)", (n, prev))
    conn.commit()
    conn.close()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--appends", type=int, default=2000)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    db_path = workdir / "audit.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": "bench-audit",
           "SEMPELMAS_ENV": "development", "FLASK_INSTANCE_PATH": str(workdir / "instance")}
    failed = False
    try:
        run_flask(["db", "upgrade"], env)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY", "SEMPELMAS_ENV")})
        from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
        from sqlalchemy.types import JSON, DateTime

        from sempelmas import create_app
        from sempelmas.extensions import db
        from sempelmas.models.accounts import AccountStatus, User
        from sempelmas.models.audit import AuditEntry
        from sempelmas.models.base import utcnow
        from sempelmas.services.accountability import audit

        app = create_app({"SECRET_KEY": "bench-audit", "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                          "INSTANCE_PATH": str(workdir / "instance")})
        with app.app_context():
            db.session.execute(insert(User), [{"username": f"petugas{i}", "full_name": f"Petugas {i}",
                                               "status": AccountStatus.VERIFIED, "password_hash": "x"}
                                              for i in range(50)])
            db.session.commit()
            user_ids = db.session.scalars(select(User.id).order_by(User.id)).all()
            db.session.remove()
            db.engine.dispose()

        print(f"building {args.entries:,} chained entries …", flush=True)
        built = build(db_path, args.entries, user_ids)
        size_mb = db_path.stat().st_size / 1e6
        print(f"  built in {built:.1f} s, database {size_mb:.0f} MB")

        # --- audit-verify: CLI (child process) and in-process, against bare reads of the same rows
        cli_s, done = run_flask(["audit-verify", "--quiet"], env)
        cli_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  {done.stdout.strip().splitlines()[0]}")
        # the anchor the run printed, and one kept from half-way: checked against the same log
        anchor = done.stdout.strip().splitlines()[-1].rsplit(" ", 1)[1]
        conn = sqlite3.connect(db_path)
        half = conn.execute("SELECT seq, entry_hash FROM audit_log WHERE seq = ?", (args.entries // 2,)).fetchone()
        conn.close()
        anchored_s, anchored = run_flask(["audit-verify", "--quiet", "--anchor", anchor,
                                          "--anchor", f"{half[0]}:{half[1]}"], env, check=False)
        anchored_ok = anchored.returncode == 0 and "Cocok dengan 2 jangkar" in anchored.stdout

        with app.app_context():
            t0 = time.perf_counter()
            seen = sum(1 for _ in audit._rows_after(0, 20_000))
            bare_sa = time.perf_counter() - t0
            t0 = time.perf_counter()
            report = audit.verify_chain()
            inproc = time.perf_counter() - t0
            assert report.intact and report.checked == seen == args.entries, report
            db.session.remove()
        conn = sqlite3.connect(db_path)
        t0 = time.perf_counter()
        raw = sum(1 for _ in conn.execute("SELECT * FROM audit_log ORDER BY id"))
        bare_raw = time.perf_counter() - t0
        conn.close()
        assert raw == args.entries

        # the verifier finds a tampered entry in the middle (and exits 1): then put it back
        conn = sqlite3.connect(db_path)
        mid = args.entries // 2
        old_ip = conn.execute("SELECT ip FROM audit_log WHERE id = ?", (mid,)).fetchone()[0]
        conn.execute("UPDATE audit_log SET ip = '203.0.113.66' WHERE id = ?", (mid,))
        conn.commit()
        tampered_s, bad = run_flask(["audit-verify", "--quiet"], env, check=False)
        found = bad.returncode == 1 and f"id {mid}" in bad.stderr
        conn.execute("UPDATE audit_log SET ip = ? WHERE id = ?", (old_ip, mid))
        conn.commit()
        conn.close()

        # --- the admin's browser on the 1M-row log (in-process, logged in), median of 5
        pages: dict[str, float] = {}
        with app.app_context():
            from sempelmas.models.accounts import Role, RoleGrant
            from sempelmas.services.people.passwords import hash_password

            admin = User(username="adminbench", full_name="Admin", status=AccountStatus.VERIFIED,
                         password_hash=hash_password("sandi-bench-1"))
            admin.roles.append(RoleGrant(role=Role.ADMIN))
            db.session.add(admin)
            db.session.commit()
            db.session.remove()
        app.config["WTF_CSRF_ENABLED"] = False
        client = app.test_client()
        assert client.post("/login", data={"identifier": "adminbench", "password": "sandi-bench-1"}).status_code == 302
        for label, url in (("newest page", "/admin/audit"), ("half-way back (keyset)", f"/admin/audit?sebelum={mid}"),
                           ("action prefix letter.", "/admin/audit?aksi=letter."),
                           ("actor petugas7", "/admin/audit?pelaku_id=8"),
                           ("object letter_requests 4242", "/admin/audit?jenis=letter_requests&objek=4242"),
                           ("one day", "/admin/audit?dari=2025-03-01&sampai=2025-03-01"),
                           ("ip 10.0.7.7", "/admin/audit?ip=10.0.7.7")):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                resp = client.get(url, headers={"HX-Request": "true"})
                times.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, (url, resp.status_code)
            pages[label] = statistics.median(times)

        # --- per-append cost on the 1M-row log: chained record() vs a plain INSERT of the same row
        plain = Table("audit_plain", MetaData(), Column("id", Integer, primary_key=True),
                      Column("created_at", DateTime), Column("actor_id", Integer), Column("on_behalf_of_id", Integer),
                      Column("ip", String(45)), Column("action", String(60)), Column("object_type", String(40)),
                      Column("object_id", String(40)), Column("details", JSON))
        from sqlalchemy.orm import DeclarativeBase

        class _PlainBase(DeclarativeBase):  # its own metadata: not one of the app's tables
            pass

        class PlainEntry(_PlainBase):
            __table__ = plain.to_metadata(_PlainBase.metadata)

        results: dict[str, list[float]] = {}
        with app.app_context():
            plain.create(db.engine)
            actor = db.session.get(User, user_ids[0])

            def chained(i, commit):
                audit.record("request.view", actor=actor, object_type="letter_requests", object_id=i,
                             tracking_number=f"JGL-2026-{i:06d}")
                db.session.commit() if commit else db.session.flush()

            def bare(i, commit):
                db.session.execute(insert(plain), {
                    "created_at": utcnow(), "actor_id": actor.id, "on_behalf_of_id": None, "ip": None,
                    "action": "request.view", "object_type": "letter_requests", "object_id": str(i),
                    "details": {"tracking_number": f"JGL-2026-{i:06d}"}})
                db.session.commit() if commit else db.session.flush()

            def orm_plain(i, commit):
                db.session.add(PlainEntry(created_at=utcnow(), actor_id=actor.id, action="request.view",
                                          object_type="letter_requests", object_id=str(i),
                                          details={"tracking_number": f"JGL-2026-{i:06d}"}))
                db.session.commit() if commit else db.session.flush()

            for rnd in range(3):  # in turns, so drift hits all alike
                for name, fn in (("plain INSERT + COMMIT", bare), ("ORM add, no chain + COMMIT", orm_plain),
                                 ("audit.record + COMMIT", chained), ("plain INSERT, flush only", bare),
                                 ("ORM add, no chain, flush only", orm_plain), ("audit.record, flush only", chained)):
                    commit = "COMMIT" in name
                    t0 = time.perf_counter()
                    for i in range(args.appends):
                        fn(rnd * args.appends + i, commit)
                    db.session.commit()
                    results.setdefault(name, []).append((time.perf_counter() - t0) / args.appends * 1e6)
            final = audit.verify_chain()
            appended = db.session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
            db.session.remove()
            db.engine.dispose()

        print()
        print(f"audit-verify over {args.entries:,} entries (SQLite, {size_mb:.0f} MB)")
        print(f"  flask --app app audit-verify (child, app start included) {cli_s:7.2f} s   "
              f"peak RSS of the largest child ≈ {cli_rss:.0f} MB")
        print(f"  the same with --anchor (the last entry, and one half-way) {anchored_s:7.2f} s   "
              f"matched: {'yes' if anchored_ok else 'NO'}")
        print(f"  verify_chain() in-process                               {inproc:7.2f} s")
        print(f"  baseline: same keyset queries, rows only (SQLAlchemy)   {bare_sa:7.2f} s   "
              f"(verify = {inproc / bare_sa:.1f}x)")
        print(f"  floor: sqlite3 SELECT * ORDER BY id                     {bare_raw:7.2f} s")
        print(f"  tampered entry {mid} found, exit 1: {'yes' if found else 'NO'} ({tampered_s:.2f} s, stops there)")
        print()
        print("admin browser, htmx fragment, in-process, median of 5 (ms):")
        for label, ms in pages.items():
            print(f"  {label:30s} {ms:8.1f}")
        print()
        print(f"per append ({args.appends} per round, 3 rounds, median µs), log of {args.entries:,} rows:")
        for name, vals in results.items():
            print(f"  {name:32s} {statistics.median(vals):8.0f} µs")
        med = {name: statistics.median(vals) for name, vals in results.items()}
        chained_ms = med["audit.record + COMMIT"]
        print(f"  chain overhead per committed append: {chained_ms - med['plain INSERT + COMMIT']:+.0f} µs"
              f" vs a Core INSERT, {chained_ms - med['ORM add, no chain + COMMIT']:+.0f} µs vs the"
              " same ORM add without the chain")
        print(f"  chain after {appended - args.entries:,} appends intact: {final.intact}")
        failed = cli_s > LIMIT_S or anchored_s > LIMIT_S or not anchored_ok or not found or not final.intact
        print(f"\nRESULT: {'FAIL' if failed else 'PASS'} (audit-verify {cli_s:.1f} s, limit {LIMIT_S:.0f} s)")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
