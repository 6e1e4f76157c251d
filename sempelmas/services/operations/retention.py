"""Retention of request documents (UU PDP: personal data no longer than needed).

The uploaded documents of a finished request (done, rejected, cancelled) are deleted once it has been closed for
ATTACHMENT_RETENTION_DAYS. The request, its history, the letter and the register stay; each attachment row stays
too, with ``purged_at`` set, so the pages say the file was removed under the retention policy. The photos sent
with its questions ("Tanya petugas") go at the same time; the messages stay, with ``photo_purged_at``. The same run
deletes the register files of import previews never applied, IMPORT_PREVIEW_DAYS after their upload
(register_jobs.expire_files), and the settled webhook log older than WEBHOOK_LOG_DAYS (webhook_retention.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.questions import RequestMessage
from sempelmas.models.requests import LetterRequest, RequestAttachment
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import QUESTION_PHOTOS, stored_path
from sempelmas.services.operations import webhook_retention
from sempelmas.services.people import register_jobs
from sempelmas.services.requests import attachments, lifecycle

BATCH = 500


@dataclass
class RetentionResult:
    days: int
    cutoff: datetime | None
    files: int = 0
    bytes: int = 0
    requests: set[int] = field(default_factory=set)
    missing: int = 0  # rows whose file was already gone (marked purged all the same)
    #: register files of previews never applied, deleted (or counted, in a dry run) by the same run
    imports: register_jobs.ExpiredImports | None = None
    #: photos of questions on those requests, deleted by the same run
    question_photos: int = 0
    #: the webhook log older than WEBHOOK_LOG_DAYS, deleted (or counted) by the same run
    webhooks: webhook_retention.WebhookLogResult | None = None


def _due(cutoff: datetime):
    return (select(RequestAttachment)
            .join(LetterRequest, LetterRequest.id == RequestAttachment.request_id)
            .where(LetterRequest.status.in_([str(s) for s in lifecycle.FINAL_STATUSES]),
                   LetterRequest.closed_at.is_not(None), LetterRequest.closed_at < cutoff,
                   RequestAttachment.purged_at.is_(None))
            .order_by(RequestAttachment.id))


def run(*, dry_run: bool = False, now: datetime | None = None) -> RetentionResult:
    """Delete the files due for deletion and mark their rows; audited as ``retention.run`` with the counts.

    Works in batches of BATCH rows. A batch's marks and its own ``retention.run`` entry (that batch's counts, its
    number, the run's start) commit together, and only then are its files deleted: a run killed or failing
    midway leaves an audit trail naming exactly the batches it marked. A file of a marked row left behind by a
    kill is named by no row any more (upload_store counts a purged attachment as gone), so the upload sweep
    deletes it. A run with nothing due writes one entry with zero counts. A dry run counts the same files and
    changes nothing. The register files of previews not applied within IMPORT_PREVIEW_DAYS go first, whatever
    ATTACHMENT_RETENTION_DAYS says (``result.imports``), and so does the webhook log (``result.webhooks``)."""
    now = now or utcnow()
    started = now.isoformat(timespec="seconds")
    imports = register_jobs.expire_files(now=now, dry_run=dry_run)
    hooks = webhook_retention.run(now, dry_run=dry_run, started=started)
    days = current_app.config["ATTACHMENT_RETENTION_DAYS"]
    if not days or days <= 0:
        return RetentionResult(days=0, cutoff=None, imports=imports, webhooks=hooks)
    result = RetentionResult(days=days, cutoff=now - timedelta(days=days), imports=imports, webhooks=hooks)
    last_id = 0
    batches = 0
    while True:
        batch = db.session.scalars(_due(result.cutoff).where(RequestAttachment.id > last_id).limit(BATCH)).all()
        if not batch:
            break
        batches += 1
        last_id = batch[-1].id
        part = RetentionResult(days=days, cutoff=result.cutoff)
        doomed = []
        for a in batch:
            part.requests.add(a.request_id)
            path = attachments.path_of(a)
            try:
                size = path.stat().st_size if path is not None else None
            except FileNotFoundError:
                size = None
            if size is None:
                part.missing += 1
            else:
                part.files += 1
                part.bytes += size
                doomed.append(path)
            if not dry_run:
                a.purged_at = now
        result.files += part.files
        result.bytes += part.bytes
        result.missing += part.missing
        result.requests |= part.requests
        if not dry_run:
            _record(part, batch=batches, started=started)
            db.session.commit()
            for path in doomed:
                path.unlink(missing_ok=True)
    result.question_photos = _question_photos(result.cutoff, now, dry_run=dry_run, started=started)
    if dry_run:
        db.session.rollback()
    elif batches == 0:
        _record(result, batch=0, started=started)
        db.session.commit()
    return result


def _question_photos(cutoff: datetime, now: datetime, *, dry_run: bool, started: str) -> int:
    """The photos of questions on requests closed before ``cutoff``: marked (their messages keep the text and when
    the photo went), committed with an audit entry naming how many, then deleted. Returns how many."""
    due = db.session.scalars(
        select(RequestMessage).join(LetterRequest, LetterRequest.id == RequestMessage.request_id)
        .where(LetterRequest.status.in_([str(s) for s in lifecycle.FINAL_STATUSES]),
               LetterRequest.closed_at.is_not(None), LetterRequest.closed_at < cutoff,
               RequestMessage.photo.is_not(None))
        .order_by(RequestMessage.id)).all()
    if dry_run or not due:
        return len(due)
    doomed = [stored_path(QUESTION_PHOTOS, m.photo) for m in due]
    for m in due:
        m.photo, m.photo_purged_at = None, now
    audit.record("retention.run", None, object_type="retention", object_id="question_photos",
                 cutoff=cutoff.isoformat(timespec="seconds"), files=len(due), run_started=started)
    db.session.commit()
    for path in doomed:
        if path is not None:
            path.unlink(missing_ok=True)
    return len(due)


def _record(counts: RetentionResult, *, batch: int, started: str) -> None:
    """The audit entry of one committed batch (0: a run that found nothing due)."""
    audit.record("retention.run", None, object_type="retention", object_id="attachments", days=counts.days,
                 cutoff=counts.cutoff.isoformat(timespec="seconds"), files=counts.files, bytes=counts.bytes,
                 requests=len(counts.requests), already_missing=counts.missing, batch=batch, run_started=started)
