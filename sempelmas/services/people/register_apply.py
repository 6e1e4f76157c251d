"""Saving an import of the population register: the upsert of what ``register_import.analyse`` found valid.

Re-importing the same file changes nothing; a changed KK number is kept in the KK history. The work is
set-based (one read of the existing register, bulk insert/update in chunks) so 20,000 rows finish in seconds
with modest memory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select, update

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.residents import KKHistory, Resident, ResidentSource
from sempelmas.services.accountability import audit
from sempelmas.services.people import register_import
from sempelmas.services.people.register_import import COMPARED, Analysis


def apply(path: str | Path, *, actor_id: int | None, chunk: int = 2000,
          report: Callable[[int, int], None] | None = None, filename: str | None = None,
          analysis: Analysis | None = None) -> dict:
    """Upsert the valid rows (skip the wrong ones); KK changes go to the history. Idempotent. Flushes: the
    caller commits once (``report`` only tells how far it got, it never commits).

    ``analysis``: what ``analyse(path)`` found earlier in the same transaction (the CLI shows it
    first), so that the file is not read and checked a second time; analysed here when omitted.
    """
    if analysis is None:
        analysis = register_import.analyse(path)
    save(analysis, actor_id=actor_id, chunk=chunk, report=report)
    summary = analysis.summary()
    audit.record(
        "register.import", actor=actor_id, object_type="residents",
        file=filename or Path(path).name,
        **{k: summary[k] for k in ("total", "new", "changed", "unchanged", "errors", "kk_changes")},
    )
    db.session.flush()
    return summary


def save(analysis: Analysis, *, actor_id: int | None, chunk: int = 2000,
         report: Callable[[int, int], None] | None = None, history_source: str = "impor") -> None:
    """Insert the analysis' new rows and update its changed ones (as the official register: source "impor"),
    each changed KK number into the KK history (``history_source``: "impor", "api"); once per analysis.
    Runs the statements in the caller's transaction: the caller audits and commits."""
    if analysis.applied:
        raise ValueError("this analysis has already been applied")
    analysis.applied = True
    now = utcnow()
    work = len(analysis.new) + len(analysis.changed)
    done = 0
    for start in range(0, len(analysis.new), chunk):
        batch = analysis.new[start:start + chunk]
        db.session.execute(
            insert(Resident),
            [{**r, "source": ResidentSource.IMPORT, "created_at": now, "updated_at": now} for r in batch],
        )
        done += len(batch)
        if report:
            report(done, work)
    kk_old = {}
    if analysis.kk_changes:
        ids = [rid for rid, _r, f in analysis.changed if "kk_number" in f]
        for i in range(0, len(ids), 500):
            kk_old.update(dict(db.session.execute(
                select(Resident.id, Resident.kk_number).where(Resident.id.in_(ids[i:i + 500]))
            ).all()))
    for start in range(0, len(analysis.changed), chunk):
        batch = analysis.changed[start:start + chunk]
        db.session.execute(
            update(Resident),
            [{"id": rid, **{c: row[c] for c in COMPARED}, "source": ResidentSource.IMPORT, "updated_at": now}
             for rid, row, _f in batch],
        )
        history = [
            {"resident_id": rid, "old_kk_number": kk_old[rid], "new_kk_number": row["kk_number"],
             "changed_at": now, "changed_by_id": actor_id, "source": history_source}
            for rid, row, fields in batch if "kk_number" in fields
        ]
        if history:
            db.session.execute(insert(KKHistory), history)
        done += len(batch)
        if report:
            report(done, work)
