"""Test letters ("Surat uji"): signed with an official's real key while a kelurahan goes live, never a letter.

A table of their own, not a flag on ``letters``: every reader of ``letters`` (the register, its exports, the API,
statistics, transparency, webhooks, the OpenDK connector, retention, data rights) reads real letters only, by
construction. The PDF is kept in the row (a few dozen kB, one or two per install), so the letter store's sweep,
which deletes files no ``letters`` row names, never sees it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class TestLetter(db.Model):
    """A signed test letter: its own number series (counter scope ``uji``), the QR to /v/<code>, and the first
    public views of that page (the going-live checklist asks for one from a phone)."""

    __tablename__ = "test_letters"
    __test__ = False  # not a pytest test class

    id: Mapped[int] = mapped_column(primary_key=True)
    #: e.g. UJI/001/417.604.3/2026 (services/letters/test_letter.py)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    year: Mapped[int] = mapped_column()
    sequence: Mapped[int] = mapped_column()
    #: random, in the QR URL /v/<code> like a letter's (and never equal to one)
    verify_code: Mapped[str] = mapped_column(String(40), unique=True)
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    signer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("signing_certificates.id"))
    capacity: Mapped[str] = mapped_column(String(6), default="")
    #: how it was signed, as Letter.signing_backend and Letter.issuer_cn (migration 0037)
    signing_backend: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    issuer_cn: Mapped[str | None] = mapped_column(String(120))
    signer_name: Mapped[str] = mapped_column(String(120), default="")
    signer_position: Mapped[str] = mapped_column(String(120), default="")
    pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(default=0)
    #: the first public opening of /v/<code>, with the browser's User-Agent
    first_viewed_at: Mapped[datetime | None]
    first_view_agent: Mapped[str | None] = mapped_column(String(300))
    #: the first opening from a phone's browser (services/letters/test_letter.is_phone_agent)
    phone_viewed_at: Mapped[datetime | None]
    phone_view_agent: Mapped[str | None] = mapped_column(String(300))

    signer = relationship("User", foreign_keys=[signer_user_id])
