"""SQLite transaction control under concurrent writers: the chosen fix for savepoints against the old behaviour
and against SQLAlchemy's documented pysqlite recipe, same workloads, same run.

Modes (each in a fresh process, on a fresh SQLite file migrated with Alembic, WAL, busy timeout 10 s):

* ``legacy`` — pysqlite's own transaction start only (BEGIN before INSERT/UPDATE/DELETE), as before the fix:
  a SAVEPOINT that is the first write of a transaction opens it, and its RELEASE commits it;
* ``chosen`` — the app as it is: legacy, plus the BEGIN pysqlite would emit, emitted before such a SAVEPOINT
  (``sempelmas/__init__.py``, ``_sqlite_begin_before_savepoint``);
* ``recipe`` — SQLAlchemy's recipe: ``isolation_level = None`` on the connection and BEGIN on every
  transaction start (so at the first read).

Workloads, P processes (fork) released together by a barrier, N transactions each:

* ``complaints`` — ``complaints.file_complaint`` as the form does it: read the form's key, insert the complaint
  in a savepoint, audit, commit. Every 10th filing fails after the savepoint (an exception before the
  commit, as a failing audit or commit would). Half-saves counted afterwards: a failed filing's complaint
  still stored, or a complaint without its audit entry.
* ``numbers`` — a signing transaction's database part: ``sequences.begin_immediate()``, read the profile and
  the counter, ``take_number``, a row, commit.

Per mode and workload: committed, "database is locked" failures, half-saves, p50/p95 of one transaction,
transactions/s.

    .venv/bin/python bench/bench_sqlite_transactions.py [--processes 4] [--per-process 100] [--keep]

Acceptance: the chosen mode has 0 "database is locked" failures and 0 half-saves in both workloads.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ("legacy", "chosen", "recipe")
WORKLOADS = ("complaints", "numbers")
FAIL_EVERY = 10


class Injected(Exception):
    """The failure after the savepoint."""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def apply_mode(mode: str) -> None:
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    import sempelmas

    if mode == "chosen":
        return
    event.remove(Engine, "savepoint", sempelmas._sqlite_begin_before_savepoint)
    if mode == "recipe":
        @event.listens_for(Engine, "connect")
        def _no_pysqlite_begin(dbapi_connection, connection_record):
            if isinstance(dbapi_connection, sqlite3.Connection):
                dbapi_connection.isolation_level = None

        @event.listens_for(Engine, "begin")
        def _begin(conn):
            if isinstance(conn.connection.dbapi_connection, sqlite3.Connection):
                conn.exec_driver_sql("BEGIN")


def make_app(db_file: Path, workdir: Path):
    from sempelmas import create_app

    return create_app({"SECRET_KEY": "bench-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_file}",
                       "INSTANCE_PATH": str(workdir), "UPLOAD_DIR": str(workdir / "uploads")})


def _is_locked(exc: BaseException) -> bool:
    return "locked" in str(exc).lower()


def one_complaint(i: int, key: str) -> None:
    from sempelmas.extensions import db
    from sempelmas.services.accountability import complaints

    complaints.file_complaint(complaints.Filing(
        name="Budi Santoso", phone="+6281234567890", category="pelayanan", subject=f"Pengaduan {i}",
        body="Antrean loket terlalu lama."), idempotency_key=key)
    if i % FAIL_EVERY == FAIL_EVERY - 1:
        raise Injected
    db.session.commit()


def one_number(i: int, key: str) -> None:
    from sqlalchemy import select

    from sempelmas.extensions import db
    from sempelmas.models.letters import LetterCounter
    from sempelmas.models.profile import KelurahanProfile
    from sempelmas.services import sequences
    from sempelmas.services.letters import numbering

    sequences.begin_immediate()
    db.session.scalar(select(KelurahanProfile.id).limit(1))  # the signing checks read first
    db.session.scalar(select(LetterCounter.last).where(LetterCounter.scope == "semua"))
    seq = numbering.take_number("semua", 2026)
    db.session.add(LetterCounter(scope=key, year=2026, last=seq))
    db.session.commit()


def worker(workload: str, db_file: str, workdir: str, count: int, barrier, results) -> None:
    """One process of the workload (forked from the mode's process: the mode's listeners are in place)."""
    from sempelmas.extensions import db

    app = make_app(Path(db_file), Path(workdir))
    step = one_complaint if workload == "complaints" else one_number
    out = {"ok": 0, "locked": 0, "injected": [], "other": [], "times": []}
    with app.app_context():
        import os

        barrier.wait()
        for i in range(count):
            key = f"{os.getpid()}-{i}"
            t0 = time.perf_counter()
            try:
                step(i, key)
                out["ok"] += 1
            except Injected:
                db.session.rollback()
                out["injected"].append(key)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                db.session.rollback()
                if _is_locked(exc):
                    out["locked"] += 1
                else:
                    out["other"].append(repr(exc)[:200])
            out["times"].append(time.perf_counter() - t0)
        db.session.remove()
        db.engine.dispose()
    results.put(out)


def run_mode(mode: str, processes: int, per_process: int, keep: bool) -> dict:
    """One mode, both workloads, in this (fresh) process."""
    apply_mode(mode)
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from sempelmas.extensions import db
    from sempelmas.models.audit import AuditEntry
    from sempelmas.models.complaints import Complaint
    from sempelmas.models.letters import LetterCounter
    from sempelmas.services.kelurahan import demo

    report = {}
    for workload in WORKLOADS:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench_sqlite_tx_{mode}_{workload}_"))
        db_file = workdir / "bench.db"
        app = make_app(db_file, workdir)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            demo.seed_profile()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        ctx = multiprocessing.get_context("fork")
        barrier, results = ctx.Barrier(processes), ctx.Queue()
        procs = [ctx.Process(target=worker, args=(workload, str(db_file), str(workdir), per_process, barrier,
                                                  results)) for _ in range(processes)]
        t0 = time.perf_counter()
        for p in procs:
            p.start()
        outs = []
        while len(outs) < processes:
            try:
                outs.append(results.get(timeout=1))
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in procs) or time.perf_counter() - t0 > 600:
                    for p in procs:
                        p.kill()
                    raise RuntimeError(f"{mode}/{workload}: a worker died") from None
        wall = time.perf_counter() - t0
        for p in procs:
            p.join(timeout=30)
        ok = sum(o["ok"] for o in outs)
        injected = [k for o in outs for k in o["injected"]]
        times = [t for o in outs for t in o["times"]]
        with app.app_context():
            if workload == "complaints":
                failed = set(injected)
                audited = set(db.session.scalars(select(AuditEntry.object_id)
                                                 .where(AuditEntry.action == "complaint.file")))
                half = sum(1 for cid, key in db.session.execute(select(Complaint.id, Complaint.idempotency_key))
                           if key in failed or str(cid) not in audited)
                stored = db.session.scalar(select(func.count(Complaint.id)))
            else:
                half = 0
                last = db.session.scalar(select(LetterCounter.last).where(LetterCounter.scope == "semua")) or 0
                marks = sorted(db.session.scalars(select(LetterCounter.last)
                                                  .where(LetterCounter.scope != "semua")))
                stored = len(marks)
                if marks != list(range(1, last + 1)):
                    half = abs(last - len(marks)) or 1  # a number taken without its row, or the reverse
            db.session.remove()
            db.engine.dispose()
        report[workload] = {
            "ok": ok, "stored": stored, "locked": sum(o["locked"] for o in outs), "injected": len(injected),
            "other": [e for o in outs for e in o["other"]][:3], "half": half,
            "p50_ms": pct(times, 50) * 1000, "p95_ms": pct(times, 95) * 1000, "per_s": ok / wall,
        }
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return report


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--per-process", type=int, default=100)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # a child: one mode, JSON out
    args = ap.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.mode, args.processes, args.per_process, args.keep)))
        return 0

    reports = {}
    for mode in MODES:
        cmd = [sys.executable, __file__, "--mode", mode, "--processes", str(args.processes),
               "--per-process", str(args.per_process)] + (["--keep"] if args.keep else [])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT)
        if done.returncode != 0:
            print(done.stderr[-3000:])
            return 1
        reports[mode] = json.loads(done.stdout.strip().splitlines()[-1])

    print(f"SQLite, {args.processes} processes x {args.per_process} transactions each; complaints: every "
          f"{FAIL_EVERY}th filing fails after its savepoint")
    print(f"{'workload':<11}{'mode':<8}{'committed':>10}{'locked':>8}{'half-saved':>11}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'tx/s':>8}")
    for workload in WORKLOADS:
        for mode in MODES:
            r = reports[mode][workload]
            print(f"{workload:<11}{mode:<8}{r['ok']:>10}{r['locked']:>8}{r['half']:>11}{r['p50_ms']:>9.1f}"
                  f"{r['p95_ms']:>9.1f}{r['per_s']:>8.0f}")
            for err in r["other"]:
                print(f"    other error: {err}")
    chosen = reports["chosen"]
    ok = all(chosen[w]["locked"] == 0 and chosen[w]["half"] == 0 and not chosen[w]["other"] for w in WORKLOADS)
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
