"""Data a resident gave on a request because the register lacks it (religion, occupation, …), and its check."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class DeclaredStatus(enum.StrEnum):
    #: "dari pemohon, belum dicek": the letter may not be forwarded to the signer yet
    UNCHECKED = "belum_dicek"
    #: staff found it right (against the KK or KTP photo, or by asking)
    CONFIRMED = "dikonfirmasi"
    #: staff changed it; the resident's value stays in ``declared_value``
    CORRECTED = "dikoreksi"


class DeclaredValue(db.Model):
    """One value of the letter's subject that the register lacked, given by the applicant on the request form.

    The letter prints ``value`` once staff checked it (``status`` not "belum_dicek"); the signer's page says it
    came from the applicant and who checked it. Staff may also copy it into the empty register field
    (``register_updated``)."""

    __tablename__ = "request_declared_values"
    __table_args__ = (UniqueConstraint("request_id", "field", name="uq_request_declared_values_request_field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"), index=True)
    #: the Resident attribute it stands in for: "religion", "marital_status", "occupation", "birth_place", …
    field: Mapped[str] = mapped_column(String(30))
    #: what the letter prints (ISO date for a date; "L"/"P" for the gender)
    value: Mapped[str] = mapped_column(String(255))
    #: what the applicant typed, kept when staff correct it
    declared_value: Mapped[str] = mapped_column(String(255))
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: a DeclaredStatus code
    status: Mapped[str] = mapped_column(String(12), default=DeclaredStatus.UNCHECKED)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_at: Mapped[datetime | None]
    #: staff also wrote it into the register entry's empty field
    register_updated: Mapped[bool] = mapped_column(default=False)

    checked_by: Mapped[User | None] = relationship(foreign_keys=[checked_by_id])  # noqa: F821

    @property
    def typed_value(self):
        """The value as the Resident attribute holds it (a date for the birth date)."""
        if self.field == "birth_date":
            try:
                return date.fromisoformat(self.value)
            except ValueError:
                return None
        return self.value

    @property
    def is_checked(self) -> bool:
        return self.status != DeclaredStatus.UNCHECKED
