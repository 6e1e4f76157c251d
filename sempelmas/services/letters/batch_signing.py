"""Batch signing as a job the official watches: up to 100 letters with one passphrase, never inside a request.

The passphrase (and the key it unlocks) must never be stored (PP 71/2019: the key is under the official's
sole control; DOMAIN.md), so a batch cannot wait in the database queue the worker reads. Instead:

1. ``start`` (in the request): checks the selection and the passphrase at once, so a wrong one is answered in
   the form, nothing queued; unlocks the key; creates the batch's Job (status "berjalan", leased, its payload
   only the tracking numbers). The view commits.
2. ``launch``: hands the unlocked key (``letter_signing.HeldSigner``: the key object, not the passphrase) to a process
   that lives for this batch only (services/operations/detached.py: forked from the web worker, niced, its own database
   connections, no core file) and returns; the official's browser goes to the job's page and polls it.
3. ``run`` (in that process): signs letter by letter, each letter its own transaction as before
   (issuing.sign_batch), and after each one writes the per-letter result and the progress into the Job; a
   heartbeat thread keeps the job's lease. At the end the job is "selesai" with the audit entry of the
   batch; stopped (SIGTERM, the time limit) it is "gagal" with the results so far.
4. A process that died (kill -9, a restart) stops beating: after JOB_LEASE_SECONDS, or at once when the job's
   page finds its process gone on this machine, the job is marked failed (``_abandoned``) with the letters
   signed before listed as signed and the others as still waiting in the queue, where they are.

The key leaves memory with the process. Single letters are still signed in their request (one letter, the
passphrase typed for it).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select, update

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.models.requests import LetterRequest
from sempelmas.services.accountability import audit
from sempelmas.services.letters import backends, issuing
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.operations import detached, jobs

log = logging.getLogger(__name__)

KIND = "sign_batch"


def start(tracking_numbers: list[str], signer_user: User, passphrase: str, *, lang: str = "id"
          ) -> tuple[Job, letter_signing.HeldSigner]:
    """Check a batch and the official's passphrase, and create its job; flushes (the caller commits, then
    calls ``launch``). Raises IssueError (selection) or PkiError (WrongPassphrase — counted and committed,
    TooManyAttempts, CertificateUnusable) before anything is created."""
    selection = issuing.batch_selection(tracking_numbers)
    if not backends.capabilities_of(letter_certs.official_for(signer_user)).batch:
        # BSrE: the passphrase goes to the gateway per request and is never held for a batch's process
        raise letter_ca.CertificateUnusable(_("Tanda tangan massal tidak tersedia untuk pejabat yang menandatangani "
                                              "melalui BSrE; tandatangani surat satu per satu."))
    signer = issuing.prepare_signer(signer_user, passphrase)
    if getattr(signer, "held", None) is None:  # pragma: no cover - any other backend without a held key
        raise letter_ca.CertificateUnusable(_("Tanda tangan massal tidak tersedia untuk sertifikat ini."))
    held = signer.held()
    job = jobs.start_leased(KIND, {"tracking_numbers": selection, "lang": lang}, created_by=signer_user,
                            total=len(selection))
    audit.record("letter.batch_start", job, actor=signer_user, selected=len(selection))
    return job, held


def launch(job: Job, held: letter_signing.HeldSigner) -> str:
    """Start the batch's process (after the request committed the job): "process" or "thread"."""
    cfg = current_app.config
    return detached.start(run, job.id, job.lease_token, held, nice=int(cfg["BATCH_SIGN_NICE"]),
                          max_seconds=int(cfg["BATCH_SIGN_MAX_SECONDS"]))


def run(job_id: int, token: str, held: letter_signing.HeldSigner) -> None:
    """Sign the job's letters with the held key, recording each result in the job as it comes (the work of the
    batch's own process; callable in-process too). Ends the job "selesai", or "gagal" when stopped."""
    token = jobs.take_over(job_id, token)
    if token is None:  # marked failed meanwhile (this process started too late)
        return
    job = db.session.get(Job, job_id)
    tracking_numbers = list(job.payload["tracking_numbers"])
    user = db.session.get(User, job.created_by_id)
    user_id = user.id
    lang = job.payload.get("lang") or "id"
    db.session.commit()
    results: list[dict] = []
    pause = float(current_app.config["BATCH_SIGN_PAUSE_SECONDS"])

    def record(result: issuing.BatchResult) -> None:
        results.append(result.as_dict())
        _write(job_id, token, progress=len(results), result=_summary(results))
        time.sleep(pause)  # the write lock is free meanwhile: the pages' own writes get in

    with jobs.Heartbeat(job_id, token), force_locale(lang), _one_batch_at_a_time(job_id, token):
        try:
            issuing.sign_batch(tracking_numbers, user, signer=held, on_result=record)
        except (Exception, detached.Stopped) as e:
            db.session.rollback()
            if isinstance(e, Exception):
                log.exception("batch job %s failed", job_id)
            else:
                log.warning("batch job %s stopped (%s)", job_id, e)
            done = {r["tracking_number"] for r in results}
            results.extend(_state_of(tn) for tn in tracking_numbers if tn not in done)
            _write(job_id, token, final=True, status=JobStatus.FAILED, progress=len(results),
                   result=_summary(results),
                   error=str(_("Penandatanganan dihentikan sebelum selesai; surat yang belum ditandatangani "
                               "tetap di antrean.")))
            if isinstance(e, detached.Stopped):
                raise
            return
        user = db.session.get(User, user_id)
        summary = _summary(results)
        audit.record("letter.batch_sign", actor=user, object_type="job", object_id=job_id,
                     selected=len(tracking_numbers), signed=summary["signed"])
        _write(job_id, token, final=True, status=JobStatus.DONE, progress=len(results), result=summary)


@contextlib.contextmanager
def _one_batch_at_a_time(job_id: int, token: str):
    """Batches on this machine sign one after the other (a file lock in the instance folder). Letters are
    numbered one at a time anyway (SQLite's write lock, or the counter's row lock), so a second batch at the
    same time signs no faster; alone, a batch leaves the write lock free between its letters
    (BATCH_SIGN_PAUSE_SECONDS) and the pages' own writes (a login, an audit entry) never queue behind two
    batches taking turns. A batch waiting for its turn says so on its page."""
    folder = Path(current_app.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "batch-signing.lock", "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _write(job_id, token, result={**_summary([]), "waiting": True})
            fcntl.flock(fh, fcntl.LOCK_EX)  # the heartbeat keeps the lease while it waits
            _write(job_id, token, result=_summary([]))
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _summary(results: list[dict]) -> dict:
    # pid: which process signed (the batch's own, not a web worker's), for whoever reads the logs
    return {"letters": results, "signed": sum(1 for r in results if r["ok"]), "pid": os.getpid()}


def _write(job_id: int, token: str, *, final: bool = False, **values) -> None:
    """Write the job's progress or its end, in the session's transaction (with the batch's audit entry at the
    end) and commit it. Unlike an import's progress this must not be lost (it is the official's record of the
    batch), so it waits for the write lock, retrying while the database is busy."""
    values = {**values, "heartbeat_at": utcnow()}
    if final:
        values.update(finished_at=utcnow(), lease_token=None)
    stmt = (update(Job).where(Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING)
            .values(**values))
    for attempt in range(20):
        try:
            db.session.execute(stmt)
            db.session.commit()
            return
        except Exception as e:  # noqa: BLE001 - only a transient error is retried
            db.session.rollback()
            if not jobs.is_transient(e) or attempt == 19:
                raise
            time.sleep(min(2.0, 0.1 * 2 ** attempt))


def _state_of(tracking_number: str) -> dict:
    """A letter the batch did not report on: signed (by this batch before it died, or by anyone) or waiting."""
    letter = db.session.scalar(
        select(Letter).join(LetterRequest, Letter.request_id == LetterRequest.id)
        .where(LetterRequest.tracking_number == tracking_number, Letter.status == LetterStatus.VALID).limit(1))
    if letter is not None:
        return {"tracking_number": tracking_number, "ok": True, "number": letter.number,
                "message": str(_("Ditandatangani, nomor %(n)s.", n=letter.number))}
    return {"tracking_number": tracking_number, "ok": False, "number": None,
            "message": str(_("Belum ditandatangani; masih di antrean tanda tangan."))}


@jobs.on_abandoned(KIND)
def _abandoned(job: Job) -> dict:
    """The final result of a batch whose process died: what it reported, and the state of every other letter."""
    with force_locale((job.payload or {}).get("lang") or "id"):
        results = list((job.result or {}).get("letters") or [])
        done = {r["tracking_number"] for r in results}
        results.extend(_state_of(tn) for tn in job.payload.get("tracking_numbers", []) if tn not in done)
        return {**_summary(results), "progress": len(results)}


def running_batches(user: User) -> list[Job]:
    """The official's batches still being signed, newest first."""
    return list(db.session.scalars(
        select(Job).where(Job.kind == KIND, Job.created_by_id == user.id, Job.status == JobStatus.RUNNING)
        .order_by(Job.id.desc())))


def batch_of(job_id: int, user: User) -> Job | None:
    """The official's own batch job (anyone else's is not found); its lease checked first, so a batch whose
    process died shows as failed at once."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != KIND or job.created_by_id != user.id:
        return None
    if job.status == JobStatus.RUNNING and jobs.recover_stale(job.id):
        db.session.expire(job)
    return job
