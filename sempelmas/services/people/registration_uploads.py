"""A KTP photo kept across a refused registration: a password typo or a NIK error never makes the person pick the
photo again (issue 15).

The photo passes the same checks as any upload (``uploads.save_image``: re-encoded, metadata dropped) and is held
under ``KTP_PENDING`` with a RegistrationUpload row, committed on its own so the refusal that follows does not take
it away. The form carries the row's random token; the row also stores the hash of a random value kept in the
browser session, so the token is useless from another browser. It is valid for MAX_AGE. The registration that
uses it copies the photo into its own KTP file (kept only if that registration commits) and lets the held one go.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.registration_uploads import RegistrationUpload
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import (
    KTP,
    KTP_PENDING,
    delete_after_commit,
    save_image,
    store_file,
    stored_path,
)

#: how long a held photo stays usable (and on disk, until the next hourly purge)
MAX_AGE = timedelta(hours=1)
#: expired rows purged per committed batch
PURGE_BATCH = 500


class HeldPhotoError(ValueError):
    """The token names no photo this session may use, or one that expired; ``message`` says which, in Indonesian."""

    field = "ktp_photo"

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def session_hash(binding: str) -> str:
    return hashlib.sha256(binding.encode()).hexdigest()


def hold(data: bytes, binding: str, *, replacing: str | None = None) -> RegistrationUpload:
    """Check and store an uploaded KTP photo for this browser session; returns the row (its ``token`` goes in
    the form). Flushes, never commits: the caller commits it before anything may refuse the form.

    Raises ``uploads.UploadError`` for a refused photo. ``replacing``: the token of the photo it replaces (another
    photo picked after a failed submit), let go once this one is committed."""
    name = save_image(KTP_PENDING, data)
    now = utcnow()
    held = RegistrationUpload(token=secrets.token_urlsafe(24), session_hash=session_hash(binding), stored_name=name,
                              size=_size(name), created_at=now, expires_at=now + MAX_AGE)
    db.session.add(held)
    if replacing:
        old = _row(replacing, binding)
        if old is not None:
            _release(old)
    db.session.flush()
    return held


def _size(name: str) -> int:
    path = stored_path(KTP_PENDING, name)
    return path.stat().st_size if path is not None else 0


def _row(token: str | None, binding: str | None) -> RegistrationUpload | None:
    """The row of ``token`` if it was made in this session (compared in constant time), expired or not."""
    if not token or not binding or len(token) > 64:
        return None
    row = db.session.scalar(select(RegistrationUpload).where(RegistrationUpload.token == token))
    if row is None or not hmac.compare_digest(row.session_hash, session_hash(binding)):
        return None
    return row


def find(token: str | None, binding: str | None, *, now: datetime | None = None) -> RegistrationUpload:
    """The held photo this session may use. Raises HeldPhotoError: unknown token or another session's (one
    message for both: nothing says the token exists), or expired."""
    row = _row(token, binding)
    if row is None or stored_path(KTP_PENDING, row.stored_name) is None:
        raise HeldPhotoError(_("Foto KTP yang diunggah sebelumnya tidak ditemukan. Pilih foto KTP sekali lagi; "
                               "isian lain tetap tersimpan."))
    if row.expires_at <= (now or utcnow()):
        raise HeldPhotoError(_("Foto KTP yang diunggah sebelumnya sudah kedaluwarsa (disimpan paling lama "
                               "%(minutes)d menit). Pilih foto KTP sekali lagi; isian lain tetap tersimpan.",
                               minutes=int(MAX_AGE.total_seconds() // 60)))
    return row


def path_of(row: RegistrationUpload) -> Path | None:
    return stored_path(KTP_PENDING, row.stored_name)


def claim(row: RegistrationUpload) -> str:
    """The held photo becomes a registration's KTP photo: copied under KTP (kept only if the current transaction
    commits) and the held one let go when it does. Returns the KTP file's stored name."""
    path = path_of(row)
    if path is None:
        raise HeldPhotoError(_("Foto KTP yang diunggah sebelumnya tidak ditemukan. Pilih foto KTP sekali lagi."))
    name = secrets.token_hex(16) + ".jpg"
    store_file(KTP, name, path.read_bytes())
    _release(row)
    return name


def _release(row: RegistrationUpload) -> None:
    delete_after_commit(KTP_PENDING, row.stored_name)
    db.session.delete(row)


def purge_expired(now: datetime | None = None) -> int:
    """Delete the held photos past their expiry, rows and files; returns how many. Commits.

    Each batch's deletions commit with its own ``upload.registration_photos_expired`` entry (counts and bytes, no
    name or token); the files go after that commit. A file a kill leaves behind is named by no row: the upload
    sweep deletes it. Nothing due: no entry (it runs hourly)."""
    now = now or utcnow()
    purged = 0
    while True:
        stale = list(db.session.scalars(select(RegistrationUpload).where(RegistrationUpload.expires_at <= now)
                                        .order_by(RegistrationUpload.id).limit(PURGE_BATCH)))
        if not stale:
            db.session.rollback()
            return purged
        audit.record("upload.registration_photos_expired", None, object_type="registration_uploads",
                     object_id="expired", files=len(stale), bytes=sum(r.size or 0 for r in stale),
                     max_age_minutes=int(MAX_AGE.total_seconds() // 60))
        for row in stale:
            _release(row)
        db.session.commit()
        purged += len(stale)
