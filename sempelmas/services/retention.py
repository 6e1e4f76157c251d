"""Retention of request documents (UU PDP: personal data no longer than needed).

The uploaded documents of a finished request (done, rejected, cancelled) are deleted once it has been closed for
ATTACHMENT_RETENTION_DAYS. The request, its history, the letter and the register stay; each attachment row stays
too, with ``purged_at`` set, so the pages say the file was removed under the retention policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestStatus
from sempelmas.services import attachments

FINISHED = (RequestStatus.DONE, RequestStatus.REJECTED, RequestStatus.CANCELLED)
BATCH = 500


@dataclass
class RetentionResult:
    days: int
    cutoff: datetime | None
    files: int = 0
    bytes: int = 0
    requests: set[int] = field(default_factory=set)
    missing: int = 0  # rows whose file was already gone (marked purged all the same)


def _due(cutoff: datetime):
    return (select(RequestAttachment)
            .join(LetterRequest, LetterRequest.id == RequestAttachment.request_id)
            .where(LetterRequest.status.in_([str(s) for s in FINISHED]),
                   LetterRequest.closed_at.is_not(None), LetterRequest.closed_at < cutoff,
                   RequestAttachment.purged_at.is_(None))
            .order_by(RequestAttachment.id))


def run(*, dry_run: bool = False, now: datetime | None = None) -> RetentionResult:
    """Delete the files due for deletion and mark their rows; audited as ``retention.run`` with the counts.

    A dry run counts the same files and changes nothing. Commits per batch: each batch's files are deleted just
    before its rows are committed (a failed commit leaves rows the next run marks; no file outlives its row's
    mark)."""
    days = current_app.config["ATTACHMENT_RETENTION_DAYS"]
    if not days or days <= 0:
        return RetentionResult(days=0, cutoff=None)
    now = now or utcnow()
    result = RetentionResult(days=days, cutoff=now - timedelta(days=days))
    last_id = 0
    while True:
        batch = db.session.scalars(_due(result.cutoff).where(RequestAttachment.id > last_id).limit(BATCH)).all()
        if not batch:
            break
        last_id = batch[-1].id
        for a in batch:
            path = attachments.path_of(a)
            result.requests.add(a.request_id)
            if path is None:
                result.missing += 1
            else:
                result.files += 1
                result.bytes += path.stat().st_size
            if not dry_run:
                if path is not None:
                    path.unlink(missing_ok=True)
                a.purged_at = now
        if not dry_run:
            db.session.commit()
    if dry_run:
        db.session.rollback()
        return result

    from sempelmas.services import audit

    audit.record("retention.run", None, object_type="retention", object_id="attachments", days=days,
                 cutoff=result.cutoff.isoformat(timespec="seconds"), files=result.files, bytes=result.bytes,
                 requests=len(result.requests), already_missing=result.missing)
    db.session.commit()
    return result
