"""Letter requests: the request itself, its history and the per-year tracking-number counter."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class RequestStatus(enum.StrEnum):
    """Stored codes of a request's status; which moves are allowed lives in services.requests.lifecycle."""

    AWAITING_ENDORSEMENT = "menunggu_pengantar"
    RETURNED = "dikembalikan"
    SUBMITTED = "diajukan"
    IN_REVIEW = "diperiksa"
    NEEDS_FIX = "perlu_perbaikan"
    AWAITING_SIGNATURE = "menunggu_ttd"
    DONE = "selesai"
    REJECTED = "ditolak"
    CANCELLED = "dibatalkan"


REQUEST_STATUS_LABELS = {
    RequestStatus.AWAITING_ENDORSEMENT: _l("Menunggu pengantar RT/RW"),
    RequestStatus.RETURNED: _l("Dikembalikan RT/RW"),
    RequestStatus.SUBMITTED: _l("Diajukan — menunggu petugas"),
    RequestStatus.IN_REVIEW: _l("Sedang diperiksa"),
    RequestStatus.NEEDS_FIX: _l("Perlu perbaikan"),
    RequestStatus.AWAITING_SIGNATURE: _l("Menunggu tanda tangan"),
    RequestStatus.DONE: _l("Selesai — surat terbit"),
    RequestStatus.REJECTED: _l("Ditolak"),
    RequestStatus.CANCELLED: _l("Dibatalkan oleh pemohon"),
}


class LetterRequest(db.Model):
    """A resident's request for a letter, from submission to the letter (or refusal)."""

    __tablename__ = "letter_requests"
    __table_args__ = (
        Index("ix_letter_requests_status_due_at", "status", "due_at"),
        # the dashboard and the recap (services.accountability.service_stats) read these columns only,
        # from the index alone
        Index("ix_letter_requests_closed_stats", "closed_at", "status", "service_version_id", "submitted_at",
              "due_at"),
        Index("ix_letter_requests_submitted_stats", "submitted_at", "service_version_id", "status",
              "subject_resident_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: e.g. JGL-2026-000123: the profile's prefix, the year, a per-year sequence
    tracking_number: Mapped[str] = mapped_column(String(24), unique=True)
    #: the catalogue snapshot the request was made with; later edits of the service do not touch it
    service_version_id: Mapped[int] = mapped_column(ForeignKey("service_versions.id"), index=True)
    #: the resident account the request belongs to
    applicant_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: whom the letter is about: the applicant or a family member on the same KK
    subject_resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    #: the pendamping who filled it in for the applicant, if one did
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the cleaned answers to the service's form fields
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: a RequestStatus code (indexed with due_at below, for the staff queue)
    status: Mapped[str] = mapped_column(String(24), default=RequestStatus.AWAITING_ENDORSEMENT)
    #: the RT has no account yet: the resident uploads or brings the paper pengantar instead
    needs_paper_pengantar: Mapped[bool] = mapped_column(default=False)
    #: the staff member handling it ("saya tangani")
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: promised completion (UTC, naive), from the service time and office hours
    due_at: Mapped[datetime | None]
    #: when it reached a final status
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: optimistic lock: a second writer holding an older version fails instead of overwriting
    version: Mapped[int] = mapped_column(default=1)
    #: sent with the form, so a double tap or a refresh creates one request
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: what staff asked to be fixed: {"reason": ..., "fields": [...], "files": [...]}
    fix_request: Mapped[dict | None] = mapped_column(JSON)
    rejection_reason: Mapped[str | None] = mapped_column(Text)

    service_version: Mapped[ServiceVersion] = relationship()  # noqa: F821
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_user_id])  # noqa: F821
    subject: Mapped[Resident] = relationship()  # noqa: F821
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])  # noqa: F821
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])  # noqa: F821
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", cascade="all, delete-orphan")
    attachments: Mapped[list[RequestAttachment]] = relationship(
        back_populates="request", order_by="RequestAttachment.id", cascade="all, delete-orphan")
    endorsements: Mapped[list[Endorsement]] = relationship(
        back_populates="request", order_by="Endorsement.id", cascade="all, delete-orphan")
    notes: Mapped[list[InternalNote]] = relationship(order_by="InternalNote.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def service_snapshot(self) -> dict:
        return self.service_version.snapshot

    @property
    def status_label(self) -> str:
        return str(REQUEST_STATUS_LABELS[RequestStatus(self.status)])


class RequestEvent(db.Model):
    """One row of a request's timeline: who moved it from which status to which, and why."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: a lifecycle action name ("claim", "reject", …) or "submit" for the first row
    action: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the resident a pendamping acted for
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: None on the row that records the submission
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)

    request: Mapped[LetterRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])  # noqa: F821
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])  # noqa: F821


class TrackingCounter(db.Model):
    """The last tracking sequence number handed out for a prefix in a year."""

    __tablename__ = "tracking_counters"
    __table_args__ = (UniqueConstraint("prefix", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column()
    last: Mapped[int] = mapped_column(default=0)


class RequestAttachment(db.Model):
    """A document uploaded for one requirement of a request (re-encoded JPEG, or a checked PDF).

    Before submission it belongs to a draft (``draft_key`` = the form's idempotency key, no request yet);
    a fix that replaces it sets ``superseded_at`` instead of deleting, so staff can see what changed.
    The stored name is random and is the only thing in its URL; every download checks access.
    """

    __tablename__ = "request_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"),
                                                   index=True)
    draft_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: the resident account the file belongs to (the applicant)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: who uploaded it (the applicant, or their pendamping)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: the ServiceRequirement code, or "pengantar_rt" for the paper pengantar
    requirement_code: Mapped[str] = mapped_column(String(40))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    #: "image/jpeg" or "application/pdf"
    mime: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(default=0)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]
    #: the file was deleted under the retention policy (services.operations.retention); the row stays for the record
    purged_at: Mapped[datetime | None]

    request: Mapped[LetterRequest | None] = relationship(back_populates="attachments")

    @property
    def is_pdf(self) -> bool:
        return self.mime == "application/pdf"


class Endorsement(db.Model):
    """The online surat pengantar: an RT (or RW) head's endorsement, with its own number."""

    __tablename__ = "endorsements"
    __table_args__ = (UniqueConstraint("level", "rt", "rw", "year", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"), index=True)
    #: "rt" or "rw"
    level: Mapped[str] = mapped_column(String(2))
    rt: Mapped[str | None] = mapped_column(String(3))
    rw: Mapped[str] = mapped_column(String(3))
    year: Mapped[int] = mapped_column()
    #: per level, RT/RW and year
    seq: Mapped[int] = mapped_column()
    #: printed on the letter, e.g. 007/RT.003/RW.002/XI/2026
    number: Mapped[str] = mapped_column(String(40))
    endorser_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    request: Mapped[LetterRequest] = relationship(back_populates="endorsements")
    endorser: Mapped[User] = relationship()  # noqa: F821


class InternalNote(db.Model):
    """A staff note on a request; never shown to the resident."""

    __tablename__ = "request_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text)

    author: Mapped[User] = relationship()  # noqa: F821
