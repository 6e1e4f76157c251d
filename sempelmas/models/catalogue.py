"""The service catalogue: what a resident may request, what it needs, and each version as submitted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.domain.workdays import human_duration
from sempelmas.extensions import db
from sempelmas.models.base import utcnow

#: who may request: the resident for themself or for a family member on the same KK
REQUESTERS = ("warga",)
TIME_UNITS = ("menit", "jam", "hari_kerja")
FIELD_KINDS = ("text", "long_text", "date", "time", "number", "choice", "nik")


class Service(db.Model):
    """A kind of letter (jenis layanan). Every save bumps ``version`` and stores a ``ServiceVersion``."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable identifier in URLs, e.g. "domisili"
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    #: what the letter is for, shown on the public page
    description: Mapped[str] = mapped_column(Text, default="")
    #: the English texts shown to a reader who chose English; empty: the Indonesian one (letters stay Indonesian)
    name_en: Mapped[str] = mapped_column(String(120), default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: one of REQUESTERS
    who_may_request: Mapped[str] = mapped_column(String(20), default="warga")
    #: the online endorsement by the ketua RT replaces the paper surat pengantar RT/RW
    needs_rt_endorsement: Mapped[bool] = mapped_column(default=True)
    #: where the RT has no account yet, the resident brings the paper pengantar instead
    paper_pengantar_when_no_rt_account: Mapped[bool] = mapped_column(default=True)
    service_time_value: Mapped[int] = mapped_column(default=1)
    #: one of TIME_UNITS
    service_time_unit: Mapped[str] = mapped_column(String(10), default="hari_kerja")
    #: archive classification code, first part of the letter number, e.g. "470", "474.1"
    classification_code: Mapped[str] = mapped_column(String(20))
    #: name of the letter template (templates/letters/<name>.html)
    letter_template: Mapped[str] = mapped_column(String(60))
    validity_days: Mapped[int | None] = mapped_column()
    #: overrides the profile's letter-number format for this service (same fields, see KelurahanProfile)
    number_format: Mapped[str | None] = mapped_column(String(80))
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=0)
    sort_order: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    requirements: Mapped[list[ServiceRequirement]] = relationship(
        order_by="ServiceRequirement.sort_order", cascade="all, delete-orphan", back_populates="service")
    fields: Mapped[list[ServiceField]] = relationship(
        order_by="ServiceField.sort_order", cascade="all, delete-orphan", back_populates="service")

    @property
    def service_time_text(self) -> str:
        return service_time_text(self.service_time_value, self.service_time_unit)


def service_time_text(value: int, unit: str) -> str:
    """"10 menit", "1 jam", "1 hari kerja" ("1 working day", "2 working days" in English)."""
    return human_duration(value, unit if unit in TIME_UNITS else "hari_kerja")


class ServiceRequirement(db.Model):
    """A document the resident uploads (or, where allowed, brings as a paper original)."""

    __tablename__ = "service_requirements"
    __table_args__ = (UniqueConstraint("service_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    #: document kind, e.g. "kk", "ktp", "surat_kematian_rs"
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str | None] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)
    paper_original_allowed: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)

    service: Mapped[Service] = relationship(back_populates="requirements")


class ServiceField(db.Model):
    """A question on the request form, typed so answers can be checked (see services.requests.catalogue)."""

    __tablename__ = "service_fields"
    __table_args__ = (UniqueConstraint("service_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    #: identifier used in the letter template, e.g. "keperluan"
    name: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str | None] = mapped_column(String(200))
    #: one of FIELD_KINDS
    kind: Mapped[str] = mapped_column(String(12), default="text")
    required: Mapped[bool] = mapped_column(default=True)
    #: the options of a "choice" field
    choices: Mapped[list | None] = mapped_column(JSON)
    #: what the choices say in English, in the same order (the answer stored and printed stays the Indonesian one)
    choices_en: Mapped[list | None] = mapped_column(JSON)
    help_text: Mapped[str | None] = mapped_column(String(300))
    help_text_en: Mapped[str | None] = mapped_column(String(300))
    max_length: Mapped[int | None] = mapped_column()
    sort_order: Mapped[int] = mapped_column(default=0)

    service: Mapped[Service] = relationship(back_populates="fields")


class ServiceVersion(db.Model):
    """An immutable snapshot of a service as saved; a request keeps the version it was submitted under."""

    __tablename__ = "service_versions"
    __table_args__ = (UniqueConstraint("service_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    version: Mapped[int] = mapped_column()
    snapshot: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
