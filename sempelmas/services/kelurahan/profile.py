"""The kelurahan profile (read once per request), its officials and its holiday list."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from sempelmas.domain import dates
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.masking import mask_nik
from sempelmas.extensions import db
from sempelmas.models.profile import Holiday, KelurahanProfile, Official
from sempelmas.services.accountability import audit

EDITABLE_FIELDS = (
    "village_kind", "province_name", "regency_kind", "regency_name", "district_name",
    "village_name", "region_code", "address", "postcode", "phone", "whatsapp", "email", "website",
    "letter_unit_code", "timezone", "office_hours", "tracking_prefix", "rw_endorses",
    "number_format", "number_scope", "paper_size", "verify_offers_pdf",
    "theme_color", "background_color",
)


_CACHE: dict[int, tuple[float, KelurahanProfile | None]] = {}


def current_profile() -> KelurahanProfile | None:
    """The profile for display: a read-only snapshot (logo not loaded), cached per process.

    Every page shows the kelurahan's name, so the row is read at most once per
    ``PROFILE_CACHE_SECONDS`` in each worker; a change made through ``update_profile`` is seen
    at once by the worker that made it and within that time by the others.
    Measured by bench/bench_verify.py: read on every scan, the row would add half again to that page.
    """
    if not has_app_context():
        return None
    if "profile" in g:
        return g.profile
    key = id(current_app._get_current_object())
    now = time.monotonic()
    hit = _CACHE.get(key)
    if hit is not None and hit[0] > now:
        g.profile = hit[1]
        return hit[1]
    with Session(db.engine) as session:  # its own session: the snapshot never takes part in edits
        profile = session.scalar(select(KelurahanProfile).limit(1))
        if profile is not None:
            session.expunge(profile)
    ttl = current_app.config["PROFILE_CACHE_SECONDS"]
    if ttl > 0:
        _CACHE[key] = (now + ttl, profile)
    g.profile = profile
    return profile


def forget_cached_profile() -> None:
    _CACHE.pop(id(current_app._get_current_object()), None)
    g.pop("profile", None)


def profile_row() -> KelurahanProfile | None:
    """The profile row in the request's session: for edits, and for reads that must see the latest."""
    return db.session.scalar(select(KelurahanProfile).limit(1))


def tz_name() -> str:
    """The kelurahan's time zone (IANA name); WIB until a profile exists."""
    return dates.tz_name_of(current_profile())


def local_today() -> date:
    """Today's date in the kelurahan's time zone."""
    return datetime.now(ZoneInfo(tz_name())).date()


def logo() -> tuple[bytes, str] | None:
    row = db.session.execute(select(KelurahanProfile.logo, KelurahanProfile.logo_mime).limit(1)).first()
    if row is None or not row.logo:
        return None
    return row.logo, row.logo_mime or "image/png"


def update_profile(profile: KelurahanProfile, data: dict, logo: tuple[bytes, str] | None, *, actor=None) -> list[str]:
    """Apply the admin's (``actor``'s) edits; returns the changed field names, audited with old and new values."""
    changes = {}
    for name in EDITABLE_FIELDS:
        if name in data and data[name] != getattr(profile, name):
            changes[name] = [getattr(profile, name), data[name]]
            setattr(profile, name, data[name])
    if logo is not None:
        profile.logo, profile.logo_mime = logo
        changes["logo"] = ["…", "baru"]
    if changes:
        audit.record("profile.update", profile, actor=actor, changes=changes)
    db.session.flush()
    forget_cached_profile()
    return list(changes)


def officials(active_only: bool = True) -> list[Official]:
    stmt = select(Official).order_by(Official.sort_order, Official.id)
    if active_only:
        stmt = stmt.where(Official.active.is_(True))
    return list(db.session.scalars(stmt))


OFFICIAL_FIELDS = ("name", "position", "position_title", "rank", "nip", "user_id", "sort_order", "active",
                   "signing_backend", "bsre_nik")


def save_official(official: Official | None, data: dict, *, actor=None) -> Official:
    """Create or update an official; the change (old → new per field) goes to the audit log."""
    is_new = official is None
    if official is None:
        official = Official(name="", position="", position_title="")
        db.session.add(official)
    data = {**data, "user_id": data.get("user_id") or None, "nip": data.get("nip") or None,
            "rank": data.get("rank") or None, "sort_order": data.get("sort_order") or 0,
            "signing_backend": data.get("signing_backend") or official.signing_backend or "local",
            "bsre_nik": data.get("bsre_nik") or None}
    changes = {}
    for name in OFFICIAL_FIELDS:
        old = getattr(official, name)
        if old != data[name]:
            # a NIK is protected personal data: the audit log says it changed, masked (DOMAIN.md)
            changes[name] = [mask_nik(old), mask_nik(data[name])] if name == "bsre_nik" else [old, data[name]]
            setattr(official, name, data[name])
    db.session.flush()
    audit.record("official.create" if is_new else "official.update", official, actor=actor,
                 changes=changes)
    return official


# --- holidays ---------------------------------------------------------------------------------


class HolidayError(ValueError):
    """A refusal for the admin; ``field`` names the form field it is about."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def holidays_in_year(year: int) -> list[Holiday]:
    return list(db.session.scalars(
        select(Holiday).where(Holiday.date >= date(year, 1, 1), Holiday.date <= date(year, 12, 31))
        .order_by(Holiday.date)))


def holidays_between(start: date, end: date) -> set[date]:
    """The holiday dates from ``start`` to ``end``, both included (for workdays.due_at)."""
    return set(db.session.scalars(select(Holiday.date).where(Holiday.date >= start, Holiday.date <= end)))


def add_holiday(day: date, name: str, actor=None) -> Holiday:
    """Add a holiday; a date already on the list is refused (HolidayError). Audited, flushed."""
    name = (name or "").strip()
    if not name:
        raise HolidayError(str(_("Nama hari libur wajib diisi.")), "name")
    existing = db.session.scalar(select(Holiday).where(Holiday.date == day))
    if existing is not None:
        raise HolidayError(str(_("Tanggal %(day)s sudah tercatat sebagai hari libur (%(name)s).",
                                 day=day.strftime("%d-%m-%Y"), name=existing.name)), "date")
    holiday = Holiday(date=day, name=name, created_by_id=getattr(actor, "id", actor))
    db.session.add(holiday)
    db.session.flush()
    audit.record("holiday.add", holiday, actor=actor, date=day.isoformat(), name=name)
    return holiday


def remove_holiday(holiday: Holiday, actor=None) -> None:
    """Take a holiday off the list; audited with its date and name, flushed."""
    audit.record("holiday.remove", holiday, actor=actor, date=holiday.date.isoformat(), name=holiday.name)
    db.session.delete(holiday)
    db.session.flush()
