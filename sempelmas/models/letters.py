"""Letters: the numbered, signed PDF a request ends in; the officials' signing certificates; editable templates."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class LetterStatus(enum.StrEnum):
    VALID = "sah"
    REVOKED = "dicabut"
    REPLACED = "diganti"


class LetterCounter(db.Model):
    """The last sequence number of a scope in a year (services.sequences): letter numbers, taken only inside
    the signing transaction, and RT/RW endorsement numbers ("pengantar:<level>:<rt>/<rw>")."""

    __tablename__ = "letter_counters"
    __table_args__ = (UniqueConstraint("scope", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "semua", "klasifikasi:470" or "layanan:domisili" (the profile's number_scope), or "pengantar:rt:003/002"
    scope: Mapped[str] = mapped_column(String(60))
    year: Mapped[int] = mapped_column()
    last: Mapped[int] = mapped_column(default=0)


class Letter(db.Model):
    """An issued (signed) letter. Never deleted: revoked or replaced letters stay, with their status."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("scope", "year", "sequence"),
                      # the register's filtered pages in (signed_at, id) order: the API's cursor (migration 0033)
                      Index("ix_letters_status_signed_at", "status", "signed_at", "id"),
                      Index("ix_letters_service_code_signed_at", "service_code", "signed_at", "id"),
                      Index("ix_letters_status_service_signed_at", "status", "service_code", "signed_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id"), index=True)
    #: e.g. 470/007/417.604.3/2026
    number: Mapped[str] = mapped_column(String(80), unique=True)
    scope: Mapped[str] = mapped_column(String(60))
    year: Mapped[int] = mapped_column()
    sequence: Mapped[int] = mapped_column()
    #: random (≥ 80 bits), in the QR URL /v/<code>; never derived from the number
    verify_code: Mapped[str] = mapped_column(String(40), unique=True)
    service_code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    signer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    #: "", "a.n.", "Plh." or "Plt."
    capacity: Mapped[str] = mapped_column(String(6), default="")
    # as printed on the letter, for its verification page: officials are edited in place and the register
    # changes, so the joins above may no longer say what the PDF says
    signer_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    signer_position: Mapped[str] = mapped_column(String(120), default="", server_default="")
    subject_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    subject_nik: Mapped[str] = mapped_column(String(16), default="", server_default="")
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("signing_certificates.id"))
    #: who signed it (services/letters/backends): "local" (the kelurahan CA, uncertified) or "bsre" (certified);
    #: letters from before migration 0037 are "local", the only backend then
    signing_backend: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    #: the signer certificate's issuer CN as read from the signed PDF, for the verification page (NULL before 0037)
    issuer_cn: Mapped[str | None] = mapped_column(String(120))
    #: the signed PDF under instance/letters/ (random name), its SHA-256 and size
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64), index=True)
    pdf_size: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default=LetterStatus.VALID)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    #: the letter this one replaces (that one's status becomes "diganti")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    scan_count: Mapped[int] = mapped_column(default=0)
    last_scanned_at: Mapped[datetime | None]

    request: Mapped[LetterRequest] = relationship()  # noqa: F821
    signer: Mapped[User] = relationship(foreign_keys=[signer_user_id])  # noqa: F821
    official: Mapped[Official | None] = relationship()  # noqa: F821
    replaces: Mapped[Letter | None] = relationship(remote_side=[id], foreign_keys=[replaces_id])


class SigningCertificate(db.Model):
    """An official's X.509 certificate from the kelurahan CA, with the private key encrypted under the
    official's own signing passphrase (the server cannot sign without it)."""

    __tablename__ = "signing_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    official_id: Mapped[int | None] = mapped_column(ForeignKey("officials.id"))
    #: hex serial number
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    cert_pem: Mapped[str] = mapped_column(Text)
    #: PKCS#8 PEM, encrypted under the passphrase
    key_pem: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revocation_reason: Mapped[str | None] = mapped_column(Text)


class SigningFailure(db.Model):
    """A wrong signing passphrase: counted per official to throttle guessing."""

    __tablename__ = "signing_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class LetterTemplate(db.Model):
    """An admin's edit of a letter template; without a row the file templates/letters/<name>.html is used."""

    __tablename__ = "letter_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    source: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
