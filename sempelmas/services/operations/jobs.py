"""Background jobs: a small queue in the database, run by ``flask --app app worker``.

Rules it enforces (issue 13):

- a job is claimed with a conditional UPDATE, so two workers never run the same one; the claim gives it a
  lease: an owner token ("<host>:<pid>:<random>") and a heartbeat a thread refreshes while it runs;
- the job's work and its "selesai" are ONE transaction, conditional on the lease: a job either finished
  with all its work saved, or its work is not saved at all (an import killed or failing mid-way leaves no
  row behind);
- progress reports never commit the work: they go through a connection of their own, best effort, and on
  SQLite never wait for the write lock the job's own transaction holds;
- a RUNNING job whose lease ran out (its process was killed, the machine restarted) is taken up again when
  its kind may be retried (its work was rolled back with it), else marked failed; a job whose database was
  briefly away ("database is locked", a dropped connection) is retried with a backoff, not failed;
- a job that failed for good lets go of the register file it read (``release_file``: personal data is not kept
  for a job that will never use it again);
- the worker loop itself survives transient database errors, with a backoff
  (services/operations/worker_loop.py, which the notify worker's loop shares).

Why the hand-written queue and not huey (weighed in issue 13 against huey 3.5, which now has SQLite,
PostgreSQL and Redis storage):
- huey removes a task from its storage when a consumer takes it (``DELETE … RETURNING``): a consumer killed
  -9 mid-task loses it. The lease and retry of a dead worker's job would still be ours to write;
- huey's storage is its own connection (its own SQLite file, or its own tables): enqueueing is not part of
  the transaction of the change that asks for it, which is what the outbox pattern here relies on;
- the pages need progress, per-row results and who started a job: a table of ours anyway;
- a batch's unlocked signing key must never reach any persistent queue (huey pickles task arguments into
  its storage), so batch signing runs in a process of its own (services/letters/batch_signing.py) whatever the queue;
- periodic work (retention, backup) already has systemd timers (deploy/), which run even when the worker
  is stuck; huey's crontab would tie them to the worker.
So a kelurahan server keeps one SQLite file and no Redis, the city keeps PostgreSQL only, and the queue is
this module.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.services.accountability import audit
from sempelmas.services.files import uploads
from sempelmas.services.operations import worker_loop
from sempelmas.services.operations.worker_loop import is_transient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    """How the worker runs one kind of job: ``fn(job, report)`` returns the result (JSON-able);
    ``retry``: whether a run that died (or met a transient database error) may run again."""

    fn: Callable
    retry: bool = True


#: kind → how the worker runs it
HANDLERS: dict[str, Kind] = {}
#: kind → fn(job) for jobs the worker does not run (a batch's own process): called when such a job's
#: process died, to write its final result before it is marked failed
ABANDONED: dict[str, Callable[[Job], dict | None]] = {}


class JobFailed(Exception):
    """A job that cannot succeed; its message (Indonesian) is shown as the job's error as it is."""


def handler(kind: str, *, retry: bool = True):
    def deco(fn):
        HANDLERS[kind] = Kind(fn, retry)
        return fn

    return deco


def on_abandoned(kind: str):
    def deco(fn):
        ABANDONED[kind] = fn
        return fn

    return deco


def _config(name: str) -> float:
    return float(current_app.config[name])


def new_token() -> str:
    """A lease owner: this host and process, and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


# ----------------------------------------------------------------------------------------- queueing


def enqueue(kind: str, payload: dict, *, created_by=None, import_file: str | None = None) -> Job:
    """Queue a job for the worker; part of the caller's transaction (flushes). ``import_file``: the stored
    upload (UPLOAD_DIR/imports) it reads, kept while a job names it (``release_file``)."""
    job = Job(kind=kind, payload=payload, created_by_id=getattr(created_by, "id", created_by),
              import_file=import_file)
    db.session.add(job)
    db.session.flush()
    return job


def release_file(name: str, *, reason: str, job_id: int | None = None) -> None:
    """The import file ``name`` is done with (``reason``: "applied", "failed", "nothing_to_apply"): no job names
    it any more and it is deleted once the current transaction commits (kept if that rolls back). Audited as
    ``register.import_files_deleted`` with the count, the size and the reason (no file name: the caller's audit
    entries name the job)."""
    path = Path(current_app.config["UPLOAD_DIR"]) / uploads.IMPORTS / Path(name).name
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    db.session.execute(update(Job).where(Job.import_file == name).values(import_file=None))
    uploads.delete_after_commit(uploads.IMPORTS, name)
    audit.record("register.import_files_deleted", None, object_type="jobs", object_id=job_id, reason=reason,
                 files=1 if size is not None else 0, bytes=size or 0, already_missing=int(size is None))


def _release_failed(job_id: int) -> None:
    """A job that failed for good lets go of its import file (personal data not kept for nothing)."""
    name = db.session.scalar(select(Job.import_file).where(Job.id == job_id))
    if name:
        release_file(name, reason="failed", job_id=job_id)


def start_leased(kind: str, payload: dict, *, created_by=None, total: int = 0) -> Job:
    """A job that a process of the caller's runs at once (never the worker): created RUNNING with a lease
    (``job.lease_token``) that process must keep alive (``Heartbeat``). Flushes."""
    now = utcnow()
    job = Job(kind=kind, payload=payload, created_by_id=getattr(created_by, "id", created_by),
              status=JobStatus.RUNNING, total=total, started_at=now, heartbeat_at=now, attempts=1,
              lease_token=new_token())
    db.session.add(job)
    db.session.flush()
    return job


def take_over(job_id: int, token: str) -> str | None:
    """The process that runs a leased job (``start_leased``) puts its own name on the lease, so its death is
    seen from this machine at once; returns the new token, None when the job is no longer ours. Commits."""
    mine = new_token()
    taken = db.session.execute(
        update(Job).where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING)
        .values(lease_token=mine, heartbeat_at=utcnow())
    ).rowcount
    db.session.commit()
    return mine if taken else None


def claim_next() -> Job | None:
    """Take the oldest queued job that is due; the conditional UPDATE makes the claim atomic across workers."""
    while True:
        now = utcnow()
        job_id = db.session.scalar(
            select(Job.id).where(Job.status == JobStatus.QUEUED, or_(Job.run_after.is_(None), Job.run_after <= now))
            .order_by(Job.id).limit(1)
        )
        if job_id is None:
            db.session.rollback()
            return None
        claimed = db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, lease_token=new_token(),
                    attempts=Job.attempts + 1, run_after=None)
        ).rowcount
        db.session.commit()
        if claimed:
            return db.session.get(Job, job_id)


# ----------------------------------------------------------------------------------------- running


def _bookkeeping(stmt, *, wait: bool) -> bool:
    """Run one UPDATE of a job row on a connection of its own and commit it (not the work's transaction).

    ``wait=False``: on SQLite, give up at once instead of waiting for the write lock (which the job's own
    transaction may hold: waiting would stall the job for the whole busy timeout). Returns whether it was
    written."""
    engine = db.engine
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            timeout = None
            if sqlite and not wait:
                timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                written = conn.execute(stmt).rowcount
                conn.commit()
            finally:
                if timeout is not None:
                    conn.rollback()
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout)}")  # it goes back to the pool
        return bool(written)
    except OperationalError:
        return False


def report_progress(job_id: int, token: str | None, progress: int, total: int | None = None,
                    result: dict | None = None, *, wait: bool = False) -> bool:
    """Progress (and a partial ``result``) for pollers; never commits the work (see ``_bookkeeping``)."""
    values: dict = {"progress": progress, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    if result is not None:
        values["result"] = result
    stmt = update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
    if token is not None:
        stmt = stmt.where(Job.lease_token == token)
    return _bookkeeping(stmt.values(**values), wait=wait)


class Heartbeat:
    """While the block runs, a thread refreshes the job's heartbeat every JOB_HEARTBEAT_SECONDS on a
    connection of its own, so the lease stays ours however long one step takes (an import's one
    transaction, a letter waiting for the write lock). ``lost``: another process took the job over."""

    def __init__(self, job_id: int, token: str):
        self.job_id, self.token = job_id, token
        self.every = _config("JOB_HEARTBEAT_SECONDS")
        self.app = current_app._get_current_object()
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def _run(self) -> None:
        with self.app.app_context():
            try:
                while not self._stop.wait(self.every):
                    stmt = (update(Job).where(Job.id == self.job_id, Job.lease_token == self.token,
                                              Job.status == JobStatus.RUNNING).values(heartbeat_at=utcnow()))
                    try:
                        with db.engine.begin() as conn:
                            if conn.execute(stmt).rowcount == 0:
                                self.lost = True
                                return
                    except OperationalError:  # the database is busy or away: the next beat tries again
                        log.warning("job %s: heartbeat not written", self.job_id)
            finally:
                db.session.remove()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.every))


def _backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … at most 5 minutes before a retried job runs again."""
    return timedelta(seconds=min(300, 10 * 2 ** max(0, attempts - 1)))


def _end(job_id: int, token: str, **values) -> bool:
    """Set the final state of our run, in the current transaction, only while the lease is still ours."""
    return db.session.execute(
        update(Job).where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING)
        .values(lease_token=None, **values)
    ).rowcount == 1


def _retry_or_fail(job_id: int, token: str, attempts: int, kind: Kind | None) -> None:
    """After a run that met a transient error: queue it again with a backoff, or fail it after the last try."""
    now = utcnow()
    if kind is not None and kind.retry and attempts < current_app.config["JOB_MAX_ATTEMPTS"]:
        _end(job_id, token, status=JobStatus.QUEUED, run_after=now + _backoff(attempts),
             error=str(_("Basis data sedang sibuk; dicoba lagi.")))
    elif _end(job_id, token, status=JobStatus.FAILED, finished_at=now,
              error=str(_("Basis data terus sibuk; pekerjaan ini gagal setelah %(n)d percobaan. Coba lagi nanti.",
                          n=attempts))):
        _release_failed(job_id)


def run_job(job: Job) -> None:
    """Run one claimed job: its work and its "selesai" are committed together, or nothing of its work is;
    a failure is stored (never raised), a transient database error retried with a backoff. The kinds are
    registered by the modules defining them (``job_kinds`` imports them all for the worker)."""
    kind = HANDLERS.get(job.kind)
    job_id, token, attempts = job.id, job.lease_token, job.attempts

    def report(progress: int, total: int | None = None) -> None:
        report_progress(job_id, token, progress, total)

    with Heartbeat(job_id, token):
        try:
            if kind is None:
                raise JobFailed(f"unknown job kind {job.kind!r}")
            result = kind.fn(job, report)
            if _end(job_id, token, status=JobStatus.DONE, result=result or {}, finished_at=utcnow(), error=None):
                db.session.commit()
            else:  # another worker took the job over (our lease ran out): our work must not count twice
                db.session.rollback()
                log.warning("job %s: lease lost, its work was rolled back", job_id)
        except Exception as e:  # a failed job must not kill the worker
            db.session.rollback()
            if is_transient(e):
                log.warning("job %s: database busy or away (%s); retried later", job_id, type(e).__name__)
                _retry_or_fail(job_id, token, attempts, kind)
            else:
                log.exception("job %s failed", job_id)
                message = str(e) if isinstance(e, JobFailed) else f"{type(e).__name__}: {e}"
                if _end(job_id, token, status=JobStatus.FAILED, error=message, finished_at=utcnow(),
                        result={"trace": traceback.format_exc(limit=5)}):
                    _release_failed(job_id)
            db.session.commit()


# ----------------------------------------------------------------------------------------- recovery


def _owner_gone(token: str | None) -> bool:
    """The lease's process ran on this host and no longer exists (a restart, kill -9): no need to wait out
    the lease. A process on another host is judged by its heartbeat alone."""
    if not token or token.count(":") < 2:
        return False
    host, pid, _rand = token.rsplit(":", 2)
    if host != socket.gethostname()[:40] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process with that pid: alive
        return False
    try:  # a process that died but was not reaped yet (a zombie) still answers the signal above
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def recover_stale(job_id: int | None = None) -> int:
    """RUNNING jobs whose process died: its lease ran out (no heartbeat for JOB_LEASE_SECONDS) or, on this
    host, its process is gone. A job of a kind the worker may retry goes back to the queue (its work was
    rolled back with its transaction), others are marked failed (``ABANDONED`` writes their last result).
    ``job_id``: only that one (a page polling its job). Commits; returns how many were recovered."""
    now = utcnow()
    cutoff = now - timedelta(seconds=_config("JOB_LEASE_SECONDS"))
    stmt = select(Job).where(Job.status == JobStatus.RUNNING)
    if job_id is not None:
        stmt = stmt.where(Job.id == job_id)
    recovered = 0
    for job in db.session.scalars(stmt.order_by(Job.id)).all():
        beat = job.heartbeat_at or job.started_at
        if not (beat is None or beat < cutoff or _owner_gone(job.lease_token)):
            continue
        token = job.lease_token
        kind = HANDLERS.get(job.kind)
        fenced = update(Job).where(Job.id == job.id, Job.status == JobStatus.RUNNING)
        fenced = fenced.where(Job.lease_token == token) if token is not None else fenced.where(
            Job.lease_token.is_(None))
        if kind is not None and kind.retry and job.attempts < current_app.config["JOB_MAX_ATTEMPTS"]:
            # its process died (not the database): no reason to wait before the next run
            values = {"status": JobStatus.QUEUED, "lease_token": None, "run_after": None,
                      "error": str(_("Proses sebelumnya berhenti di tengah jalan; dicoba lagi."))}
        else:
            hook = ABANDONED.get(job.kind)
            result = hook(job) if hook else None
            values = {"status": JobStatus.FAILED, "lease_token": None, "finished_at": now,
                      "error": str(_("Proses berhenti sebelum selesai."))}
            if result is not None:
                values.update(result=result, progress=result.get("progress", job.progress))
        # fenced by the lease: a run that finished (or beat) meanwhile is left alone. On SQLite a run holding
        # the write lock in its one transaction cannot beat, but this UPDATE then waits for that commit too
        if db.session.execute(fenced.values(**values)).rowcount:
            recovered += 1
            if values["status"] == JobStatus.FAILED:
                _release_failed(job.id)
            log.warning("job %s (%s): its process died; %s", job.id, job.kind,
                        "queued again" if values["status"] == JobStatus.QUEUED else "marked failed")
    db.session.commit()
    return recovered


# ----------------------------------------------------------------------------------------- the worker


def run_pending(max_jobs: int | None = None) -> int:
    """Recover abandoned jobs, then run queued ones until none is due (or ``max_jobs``); returns how many ran."""
    recover_stale()
    ran = 0
    while max_jobs is None or ran < max_jobs:
        job = claim_next()
        if job is None:
            break
        run_job(job)
        ran += 1
    return ran


def work_forever(poll_seconds: float, *, stop: threading.Event | None = None, max_backoff: float = 60.0) -> None:
    """The worker's loop: housekeeping hourly, then the queue. A failing round (the database locked past its
    busy timeout, or away) is logged and tried again after a backoff (services/operations/worker_loop.py:
    1 s, 2 s, 4 s … ``max_backoff``), so the worker outlives a brief outage. ``stop``: ends the loop (tests)."""
    log.info("worker started")
    worker_loop.run_rounds("worker", worker_round(poll_seconds), stop=stop, max_backoff=max_backoff)


def worker_round(poll_seconds: float) -> Callable[[], float]:
    """One round of the worker (housekeeping hourly, the page views into the audit chain, the queue): returns
    how long to wait before the next. Run by ``work_forever`` and, with the notifier's, by ``flask background``."""
    from sempelmas.services.accountability import audit
    from sempelmas.services.people import registration_uploads
    from sempelmas.services.requests import attachments

    next_purge = 0.0

    def one_round() -> float:
        nonlocal next_purge
        if time.monotonic() >= next_purge:  # housekeeping, hourly
            purged = attachments.purge_abandoned_drafts()
            if purged:
                log.info("removed %d upload(s) of forms never sent", purged)
            expired = registration_uploads.purge_expired()
            if expired:
                log.info("removed %d KTP photo(s) held for registrations never completed", expired)
            next_purge = time.monotonic() + 3600
        audit.chain_views()  # the page views recorded since the last round, into the chained log in one append
        return 0.0 if run_pending() else poll_seconds

    return one_round
