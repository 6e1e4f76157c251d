"""Dates as people in Indonesia type them: 17-08-1990, 17/8/1990, 17.08.1990, or ISO 1990-08-17."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_DMY = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})", re.ASCII)
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y")


def parse_date(text: str) -> date:
    """The date written in ``text``; ValueError when it is none of the shapes or not in the calendar."""
    text = text.strip()
    # the usual shapes by regex: strptime costs a quarter of a register row's check
    m = _DMY.fullmatch(text)
    if m is not None:
        try:
            return date(int(m[4]), int(m[3]), int(m[1]))
        except ValueError:
            pass
    else:
        m = _YMD.fullmatch(text)
        if m is not None:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                pass
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


# ------------------------------------------------------------------ the kelurahan's local time

#: the profile's zone labels and their IANA names
TIMEZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
#: the zone until a profile says otherwise
DEFAULT_TIMEZONE = TIMEZONES["WIB"]
#: hours and minutes as each language writes them: 09.30 (Indonesian), 09:30 (English)
TIME_SEPARATOR = {"id": ".", "en": ":"}


def tz_name_of(profile) -> str:
    """The kelurahan's time zone (IANA name) from its profile (anything with ``tz_name``); WIB without one."""
    return getattr(profile, "tz_name", None) or DEFAULT_TIMEZONE


def clock(value, lang: str) -> str:
    """``HH.mm`` / ``HH:mm`` of a datetime or time in the given language."""
    return f"{value:%H}{TIME_SEPARATOR.get(lang, '.')}{value:%M}"


def to_local(moment: datetime, tz_name: str) -> datetime:
    """``moment`` in the zone ``tz_name``; a naive ``moment`` is UTC, as the database stores times."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(ZoneInfo(tz_name))
