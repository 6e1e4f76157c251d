"""The kelurahan's population register (data penduduk)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class Resident(db.Model):
    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    #: changes when a family moves, splits or loses its head; old values live in KKHistory
    kk_number: Mapped[str] = mapped_column(String(16), index=True)
    full_name: Mapped[str] = mapped_column(String(120), index=True)
    birth_place: Mapped[str | None] = mapped_column(String(80))
    birth_date: Mapped[date | None]
    gender: Mapped[str | None] = mapped_column(String(1))  # "L" / "P"
    address: Mapped[str | None] = mapped_column(String(255))
    rt: Mapped[str | None] = mapped_column(String(3), index=True)
    rw: Mapped[str | None] = mapped_column(String(3))
    religion: Mapped[str | None] = mapped_column(String(30))
    marital_status: Mapped[str | None] = mapped_column(String(30))
    occupation: Mapped[str | None] = mapped_column(String(80))
    citizenship: Mapped[str | None] = mapped_column(String(10))
    #: "impor" (from the official register file) or "registrasi" (typed by the resident)
    source: Mapped[str] = mapped_column(String(12), default="impor")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def rt_rw(self) -> str:
        return f"RT {self.rt or '-'} / RW {self.rw or '-'}"


class KKHistory(db.Model):
    """Earlier KK numbers of a resident: the number changes, the record of it must not vanish."""

    __tablename__ = "kk_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    old_kk_number: Mapped[str] = mapped_column(String(16))
    new_kk_number: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: "impor", "petugas", …
    source: Mapped[str] = mapped_column(String(20))
