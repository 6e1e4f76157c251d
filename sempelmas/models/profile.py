"""The kelurahan profile: every name, code and official on letters comes from here."""

from __future__ import annotations

from datetime import date as date_type
from datetime import datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.domain.dates import DEFAULT_TIMEZONE, TIMEZONES
from sempelmas.extensions import db
from sempelmas.models.base import utcnow

DEFAULT_THEME_COLOR = "#0b5d3b"
DEFAULT_BACKGROUND_COLOR = "#ffffff"


class KelurahanProfile(db.Model):
    """One row: this deployment serves one kelurahan or desa."""

    __tablename__ = "kelurahan_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "kelurahan" or "desa"
    village_kind: Mapped[str] = mapped_column(String(10), default="kelurahan")
    province_name: Mapped[str] = mapped_column(String(80))
    #: "kota" or "kabupaten"
    regency_kind: Mapped[str] = mapped_column(String(10), default="kota")
    regency_name: Mapped[str] = mapped_column(String(80))
    district_name: Mapped[str] = mapped_column(String(80))
    village_name: Mapped[str] = mapped_column(String(80))
    #: Kemendagri code, e.g. 35.76.03.1004
    region_code: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(255))
    postcode: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(30))
    #: the office's WhatsApp number, +62… (None: the office takes no WhatsApp)
    whatsapp: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(200))
    #: deferred: pages read the profile on every request, the logo only at /profil/logo and on letters
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_mime: Mapped[str | None] = mapped_column(String(30))
    #: unit code in letter numbers, e.g. 417.604.3
    letter_unit_code: Mapped[str | None] = mapped_column(String(40))
    #: WIB / WITA / WIT
    timezone: Mapped[str] = mapped_column(String(4), default="WIB")
    office_hours: Mapped[str | None] = mapped_column(Text)
    #: prefix of request tracking numbers, e.g. JGL → JGL-2026-000123
    tracking_prefix: Mapped[str] = mapped_column(String(8), default="SPM")
    #: after the RT head, the RW head endorses too (the online pengantar RT/RW)
    rw_endorses: Mapped[bool] = mapped_column(default=False)
    #: letter numbers: fields {kode} {urut} {unit} {tahun} {bulan_romawi} (services may override)
    number_format: Mapped[str] = mapped_column(String(80), default="{kode}/{urut:03d}/{unit}/{tahun}")
    #: one sequence per year for "semua" letters, per "klasifikasi" code or per "layanan"
    number_scope: Mapped[str] = mapped_column(String(12), default="semua")
    #: "A4" or "F4"
    paper_size: Mapped[str] = mapped_column(String(2), default="A4")
    #: the public verification page also offers the signed PDF (it carries the full NIK: off by default)
    verify_offers_pdf: Mapped[bool] = mapped_column(default=False)
    #: colours of the installed app (#rrggbb): the title bar and the splash screen behind the icon
    theme_color: Mapped[str] = mapped_column(String(7), default=DEFAULT_THEME_COLOR)
    background_color: Mapped[str] = mapped_column(String(7), default=DEFAULT_BACKGROUND_COLOR)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def tz_name(self) -> str:
        return TIMEZONES.get(self.timezone, DEFAULT_TIMEZONE)

    @property
    def village_title(self) -> str:
        return f"{self.village_kind.capitalize()} {self.village_name}"

    @property
    def app_name(self) -> str:
        return f"SemPelMas {self.village_name}"


class Official(db.Model):
    """A kelurahan official who may appear in a letter's signature block."""

    __tablename__ = "officials"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: "lurah", "sekretaris", "kasi", … (the office in the signature block comes from this)
    position: Mapped[str] = mapped_column(String(30))
    #: the title as printed, e.g. "Lurah Jagalan", "Sekretaris Kelurahan"
    position_title: Mapped[str] = mapped_column(String(120))
    rank: Mapped[str | None] = mapped_column(String(80))  # pangkat/golongan
    nip: Mapped[str | None] = mapped_column(String(18))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    #: who signs this official's letters: "local" (the kelurahan CA, services/letters/backends/local.py) or
    #: "bsre" (the BSrE Esign Client Service, services/letters/backends/bsre.py); the admin chooses
    signing_backend: Mapped[str] = mapped_column(String(10), default="local", server_default="local")
    #: the NIK BSrE knows the official by (their certificate's holder), when it is not their account's NIK
    bsre_nik: Mapped[str | None] = mapped_column(String(16))

    @property
    def nip_display(self) -> str:
        """NIP grouped 8-6-1-3 as printed on letters."""
        n = self.nip or ""
        if len(n) != 18:
            return n
        return f"{n[:8]} {n[8:14]} {n[14]} {n[15:]}"


class Holiday(db.Model):
    """A national holiday or cuti bersama: not a working day for service-time due dates.

    The admin keeps the list (Islamic and other lunar-calendar holidays move every year).
    """

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[date_type] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(120))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
