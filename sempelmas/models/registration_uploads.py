"""A KTP photo held between a registration's failed submit and the next one (issue 15: never pick it again)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class RegistrationUpload(db.Model):
    """A KTP photo that passed the upload checks on a registration form that was then refused for something else.

    Named by a random token the re-rendered form carries in a hidden field, and usable only from the browser session
    it was uploaded in (``session_hash``: the SHA-256 of a random value kept in that session's cookie). It lives
    ``registration_uploads.MAX_AGE``; the registration that uses it copies the photo into its own record and
    deletes this row. Expired rows are purged with their files by the worker's hourly housekeeping; a file no row
    names is deleted by the upload sweep (upload_store.OWNERS).
    """

    __tablename__ = "registration_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: random, 192 bits (secrets.token_urlsafe), carried by the form
    token: Mapped[str] = mapped_column(String(64), unique=True)
    #: SHA-256 (hex) of the browser session's binding value: another browser cannot use the token
    session_hash: Mapped[str] = mapped_column(String(64))
    #: stored file name under uploads/ktp_pending/
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
