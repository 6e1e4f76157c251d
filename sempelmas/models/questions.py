"""Questions on a request ("Tanya petugas"): the messages between the applicant's side and the office."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class MessageSide(enum.StrEnum):
    """Who wrote a message: the resident's side (the applicant, their family or pendamping) or the office."""

    RESIDENT = "warga"
    STAFF = "petugas"


class RequestMessage(db.Model):
    """One message of a request's thread: text and an optional photo, read once by the other side."""

    __tablename__ = "request_messages"
    __table_args__ = (
        # the unread counts: the office's (side "warga", every request) and a family's (side "petugas", its requests)
        Index("ix_request_messages_unread", "side", "read_at", "request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"), index=True)
    #: a MessageSide code
    side: Mapped[str] = mapped_column(String(8))
    #: the account that typed it (a resident, a pendamping, a staff member)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the resident a pendamping wrote for
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    #: stored file name of the re-encoded photo under uploads/questions/
    photo: Mapped[str | None] = mapped_column(String(80))
    #: when the retention policy deleted the photo (``photo`` is then empty): the thread says so
    photo_purged_at: Mapped[datetime | None]
    #: the form's one-time key: the same message sent twice is stored once
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the other side first opened the thread after it was written (None: unread)
    read_at: Mapped[datetime | None]
    #: staff turned this question into a fix request ("perlu perbaikan"), when
    fix_requested_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(foreign_keys=[author_id])  # noqa: F821
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])  # noqa: F821

    @property
    def from_staff(self) -> bool:
        return self.side == MessageSide.STAFF
