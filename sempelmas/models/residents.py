"""The kelurahan's population register (data penduduk)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.domain.letter_format import rt_rw_label
from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class ResidentSource:
    """Where a register entry came from, and so whether it may make anyone family."""

    #: the official register file (data penduduk) the admin imported
    IMPORT = "impor"
    #: a registration's declared data, checked by staff or the RT head when they verified the account
    VERIFIED = "verifikasi"
    #: typed at registration and never checked: only rows left from before issue 12 (migration 0016)
    REGISTRATION = "registrasi"


#: the sources family membership may rest on: never what a registrant typed
TRUSTED_SOURCES = (ResidentSource.IMPORT, ResidentSource.VERIFIED)


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
    #: a ResidentSource: "impor", "verifikasi" or (old rows only) "registrasi"
    source: Mapped[str] = mapped_column(String(12), default=ResidentSource.IMPORT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def rt_rw(self) -> str:
        return rt_rw_label(self.rt, self.rw)

    @hybrid_property
    def is_trusted(self) -> bool:
        """Imported from the register or checked at an account's verification: may make people family."""
        return self.source in TRUSTED_SOURCES

    @is_trusted.inplace.expression
    @classmethod
    def _is_trusted_expression(cls):
        return cls.source.in_(TRUSTED_SOURCES)


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
