"""Complaints (pengaduan) from residents or the public, and what staff answered."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class ComplaintStatus(enum.StrEnum):
    NEW = "baru"
    IN_PROGRESS = "diproses"
    CLOSED = "selesai"


COMPLAINT_STATUS_LABELS = {
    ComplaintStatus.NEW: _l("Baru"),
    ComplaintStatus.IN_PROGRESS: _l("Diproses"),
    ComplaintStatus.CLOSED: _l("Selesai"),
}

#: stored code -> label; the order is the order of the choice list
COMPLAINT_CATEGORIES = {
    "pelayanan": _l("Pelayanan surat (lambat, berbelit, tidak jelas)"),
    "petugas": _l("Sikap atau perilaku petugas"),
    "biaya": _l("Pungutan atau biaya tidak resmi"),
    "aplikasi": _l("Aplikasi SemPelMas bermasalah"),
    "sarana": _l("Sarana kantor kelurahan"),
    "lainnya": _l("Lainnya"),
}


class Complaint(db.Model):
    """One complaint; its ``code`` is the only thing a public complainant needs to follow it."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unguessable tracking code (random, not a counter), e.g. "K7QM-3XHT-9RWP"
    code: Mapped[str] = mapped_column(String(20), unique=True)
    #: the resident account that filed it (None: filed on the public form)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: the pendamping who typed it for the resident
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: contact details as given on the form (a resident's are prefilled from the account)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    #: the resident's own request it is about, if any
    request_id: Mapped[int | None] = mapped_column(ForeignKey("letter_requests.id", ondelete="SET NULL"),
                                                   index=True)
    category: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    #: stored file name of the re-encoded photo under uploads/complaints/
    photo: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default=ComplaintStatus.NEW)
    #: the form's one-time key: a second submit of the same form finds this complaint instead of a copy
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: indexed for the newest-first list of every complaint
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])  # noqa: F821
    request: Mapped[LetterRequest | None] = relationship()  # noqa: F821
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", cascade="all, delete-orphan", order_by="ComplaintEvent.id")

    @property
    def status_label(self) -> str:
        return str(COMPLAINT_STATUS_LABELS[ComplaintStatus(self.status)])

    @property
    def category_label(self) -> str:
        return str(COMPLAINT_CATEGORIES.get(self.category, self.category))


class ComplaintEvent(db.Model):
    """Filing, a staff answer, or a status change (an answer may change the status too)."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    #: the staff member who answered (None for the filing on the public form)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: "file", "answer" or the transition's action
    action: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    author: Mapped[User | None] = relationship()  # noqa: F821
