"""Letter numbers: the format template, the scope of a sequence, and the gapless per-year counter.

A number is taken only inside the transaction that stores the signed letter, from the counter of
services.sequences: a rollback (a failed signature, a crash) returns the number and the sequence has
no gaps; two signers never get the same number (the counter's locking rule).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import select

from sempelmas.domain import dates
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.letter_format import roman_month
from sempelmas.extensions import db
from sempelmas.models.catalogue import Service
from sempelmas.models.letters import LetterCounter
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services import sequences
from sempelmas.services.kelurahan import profile as profile_service

#: the fields a number format may use, with what they stand for (shown to the admin)
FIELDS = {
    "kode": _("kode klasifikasi arsip layanan, contoh 470"),
    "urut": _("nomor urut dalam setahun, contoh {urut:03d} → 007"),
    "unit": _("kode unit pada profil, contoh 417.604.3"),
    "tahun": _("tahun, contoh 2026"),
    "bulan": _("bulan dengan angka, contoh {bulan:02d} → 03"),
    "bulan_romawi": _("bulan dengan angka Romawi, contoh XI"),
}
SCOPES = ("semua", "klasifikasi", "layanan")
DEFAULT_FORMAT = "{kode}/{urut:03d}/{unit}/{tahun}"
#: Letter.number is String(80)
MAX_LENGTH = 80


class NumberFormatError(ValueError):
    """A refused number format; ``message`` is for the admin."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _values(*, kode, seq, unit, year, month) -> dict:
    return {"kode": kode or "", "urut": seq, "unit": unit or "", "tahun": year, "bulan": month,
            "bulan_romawi": roman_month(month)}


def check_format(fmt: str | None) -> str | None:
    """None when ``fmt`` is a usable number format, else the reason in Indonesian.

    Only the FIELDS may appear, without attribute or index access; {urut} must appear (without it
    every letter of a year would get the same number); format specifications must work on a sample.
    """
    fmt = (fmt or "").strip()
    known = ", ".join("{" + name + "}" for name in FIELDS)
    if not fmt:
        return str(_("Format nomor wajib diisi, contoh %(example)s.", example=DEFAULT_FORMAT))
    try:
        parts = list(string.Formatter().parse(fmt))
    except ValueError:
        return str(_("Kurung kurawal { } tidak berpasangan. Tulis kolom seperti {urut}; kolom yang dikenal: "
                     "%(known)s.", known=known))
    names = set()
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in FIELDS:
            shown = "{" + name + "}" if name else "{}"
            return str(_("Kolom %(name)s tidak dikenal. Kolom yang dapat dipakai: %(known)s.",
                         name=shown, known=known))
        if conversion:
            return str(_("Kolom {%(name)s} tidak boleh memakai tanda !.", name=name))
        if spec and "{" in spec:
            return str(_("Format kolom {%(name)s} tidak boleh memuat kolom lain.", name=name))
        names.add(name)
    if "urut" not in names:
        return str(_("Format nomor harus memuat {urut} (nomor urut), contoh %(example)s.", example=DEFAULT_FORMAT))
    try:
        sample = fmt.format(**_values(kode="400.12.2.1", seq=9999, unit="417.604.3", year=2026, month=12))
    except (ValueError, TypeError):
        return str(_("Penulisan format kolom tidak valid; contoh yang benar: {urut:03d}, {bulan:02d}."))
    if len(sample) > MAX_LENGTH:
        return str(_("Nomor surat dengan format ini terlalu panjang (paling banyak %(max)d karakter).",
                     max=MAX_LENGTH))
    return None


def format_number(fmt: str, *, kode: str, seq: int, unit: str | None, year: int, month: int) -> str:
    """"{kode}/{urut:03d}/{unit}/{tahun}" → "470/007/417.604.3/2026"; a refused format raises NumberFormatError."""
    problem = check_format(fmt)
    if problem:
        raise NumberFormatError(problem)
    return fmt.strip().format(**_values(kode=kode, seq=seq, unit=unit, year=year, month=month))


def _service_attrs(service: Service | Mapping) -> tuple[str, str, str | None]:
    if isinstance(service, Mapping):
        return service["code"], service.get("classification_code") or "", service.get("number_format")
    return service.code, service.classification_code or "", service.number_format


def scope_for(profile: KelurahanProfile, service: Service | Mapping) -> str:
    """The counter a service's letters count in: "semua", "klasifikasi:<kode>" or "layanan:<code>"."""
    code, classification, _fmt = _service_attrs(service)
    kind = (profile.number_scope if profile is not None else None) or "semua"
    if kind == "klasifikasi":
        return f"klasifikasi:{classification}"
    if kind == "layanan":
        return f"layanan:{code}"
    return "semua"


def format_for(profile: KelurahanProfile | None, service: Service | Mapping) -> str:
    """The service's own format when it has one, else the profile's."""
    _code, _classification, own = _service_attrs(service)
    if own and own.strip():
        return own.strip()
    return ((profile.number_format if profile is not None else None) or DEFAULT_FORMAT).strip()


# ------------------------------------------------------------------ the counter

def take_number(scope: str, year: int) -> int:
    """The next sequence number of ``scope`` in ``year`` (1, 2, 3, …), taken in the caller's transaction
    (services.sequences: a rollback gives it back; call sequences.begin_immediate first on SQLite)."""
    return sequences.take(LetterCounter.scope, scope, year)


def next_letter_number(request, now: datetime | None = None) -> tuple[str, str, int, int]:
    """The number for a request's letter signed ``now``: (number, scope, year, sequence).

    The year and month are the kelurahan's local ones. The classification code and the format
    override come from the service as it is now (an admin's correction applies to letters signed
    after it), or from the request's snapshot when the service is gone. Takes a sequence number
    (see take_number): call it inside the signing transaction only.
    """
    profile = profile_service.profile_row()
    snapshot = request.service_snapshot
    # the catalogue's row read here, not through services.requests.catalogue (which checks formats with this module)
    service = db.session.scalar(select(Service).where(Service.code == snapshot["code"])) or snapshot
    now = now or datetime.now(UTC)
    local = dates.to_local(now, dates.tz_name_of(profile))
    fmt = format_for(profile, service)
    problem = check_format(fmt)
    if problem:
        raise NumberFormatError(problem)
    scope = scope_for(profile, service)
    seq = take_number(scope, local.year)
    code, classification, _own = _service_attrs(service)
    number = format_number(fmt, kode=classification, seq=seq,
                           unit=profile.letter_unit_code if profile is not None else "",
                           year=local.year, month=local.month)
    return number, scope, local.year, seq
