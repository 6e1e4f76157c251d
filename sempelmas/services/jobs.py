"""A small job queue in the database, run by ``flask --app app worker``.

Why not Celery/RQ: they need a broker (Redis) that a one-server kelurahan does not run; a table
works the same on SQLite and PostgreSQL, and a job is claimed with a conditional UPDATE so two
workers never run the same one.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

from sqlalchemy import select, update

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.jobs import Job, JobStatus

log = logging.getLogger(__name__)

#: kind → handler(job, report) ; report(progress, total) commits progress for pollers
HANDLERS: dict[str, Callable] = {}


def handler(kind: str):
    def deco(fn):
        HANDLERS[kind] = fn
        return fn

    return deco


def enqueue(kind: str, payload: dict, *, created_by=None) -> Job:
    job = Job(kind=kind, payload=payload, created_by_id=getattr(created_by, "id", created_by))
    db.session.add(job)
    db.session.flush()
    return job


def claim_next() -> Job | None:
    """Take the oldest queued job; the conditional UPDATE makes the claim atomic across workers."""
    while True:
        job_id = db.session.scalar(
            select(Job.id).where(Job.status == JobStatus.QUEUED).order_by(Job.id).limit(1)
        )
        if job_id is None:
            db.session.rollback()
            return None
        claimed = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=utcnow())
        ).rowcount
        db.session.commit()
        if claimed:
            return db.session.get(Job, job_id)


def run_job(job: Job) -> None:
    """Run one claimed job; its own commits report progress; failure is stored, never raised."""
    load_handlers()
    fn = HANDLERS.get(job.kind)
    job_id = job.id

    def report(progress: int, total: int | None = None) -> None:
        values = {"progress": progress}
        if total is not None:
            values["total"] = total
        db.session.execute(update(Job).where(Job.id == job_id).values(**values))
        db.session.commit()

    try:
        if fn is None:
            raise RuntimeError(f"unknown job kind {job.kind!r}")
        result = fn(job, report)
        db.session.commit()
        db.session.execute(
            update(Job).where(Job.id == job_id).values(
                status=JobStatus.DONE, result=result or {}, finished_at=utcnow()
            )
        )
        db.session.commit()
    except Exception as e:  # a failed job must not kill the worker
        db.session.rollback()
        log.exception("job %s failed", job_id)
        db.session.execute(
            update(Job).where(Job.id == job_id).values(
                status=JobStatus.FAILED, error=f"{type(e).__name__}: {e}", finished_at=utcnow(),
                result={"trace": traceback.format_exc(limit=5)},
            )
        )
        db.session.commit()


def run_pending(max_jobs: int | None = None) -> int:
    """Run queued jobs until none is left (or ``max_jobs``); returns how many ran."""
    ran = 0
    while max_jobs is None or ran < max_jobs:
        job = claim_next()
        if job is None:
            break
        run_job(job)
        ran += 1
    return ran


def load_handlers() -> None:
    """Import the modules that define job handlers (they register themselves)."""
    import sempelmas.services.register_import  # noqa: F401


def work_forever(poll_seconds: float) -> None:  # pragma: no cover - exercised by `make run`
    from sempelmas.services import attachments

    log.info("worker started")
    next_purge = 0.0
    while True:
        if time.monotonic() >= next_purge:  # housekeeping, hourly
            purged = attachments.purge_abandoned_drafts()
            if purged:
                log.info("removed %d upload(s) of forms never sent", purged)
            next_purge = time.monotonic() + 3600
        if run_pending() == 0:
            time.sleep(poll_seconds)
