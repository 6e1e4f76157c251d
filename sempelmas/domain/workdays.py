"""Office hours, working days and service-time due dates, without Flask or a database.

Rules (all in the kelurahan's wall-clock time zone, ``tz``: WIB Asia/Jakarta, WITA Asia/Makassar,
WIT Asia/Jayapura; inputs may be aware in any zone, e.g. UTC, results are aware in ``tz``):

* A **working day** is a weekday that has an office-hours window and is not in ``holidays``
  (the admin-edited list of national holidays and cuti bersama).
* **menit / jam**: only time inside office hours on working days counts. A request submitted
  outside office hours (before opening, after closing, at the weekend, on a holiday) starts
  counting at the next opening. Time that runs past closing continues at the next working day's
  opening. A duration that ends exactly at closing is due at closing (not at the next opening).
* **hari_kerja**: the request is *received* at the submission moment if that is on a working day
  before closing, otherwise at the next opening (the same rule as for minutes). The day it is
  received is day 0; N working days are due at the **closing time of the Nth working day after
  day 0**. So "1 hari kerja" submitted Thursday 10:00 is due Friday at closing; submitted Thursday
  after closing, on Saturday or on a holiday, it counts from the next working day as day 0 and is
  due at the close of the working day after that (Saturday -> Tuesday at closing). 0 working days
  means by closing on the day of receipt.

``working_time_left`` measures office time only, so an overdue request outside office hours shows
zero rather than a growing number; use ``is_overdue`` for the state itself.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.i18n import ngettext

MINUTES = "menit"
HOURS = "jam"
WORKING_DAYS = "hari_kerja"
UNITS = (MINUTES, HOURS, WORKING_DAYS)

DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
# Lower-case spellings accepted by the parser (apostrophes are dropped first: "Jum'at" -> "jumat").
_DAY_LOOKUP: dict[str, int] = {name.lower(): i for i, name in enumerate(DAY_NAMES)}
_DAY_LOOKUP["ahad"] = 6

Window = tuple[time, time]

# Safety net for the search loops: no office is closed for ten years in a row.
_MAX_DAYS_AHEAD = 3660


class OfficeHoursError(ValueError):
    """Office hours that cannot be used; ``part`` is the piece of text (or day) that is wrong."""

    def __init__(self, part: str, message: str):
        super().__init__(message)
        self.part = part
        self.message = message


@dataclass(frozen=True)
class OfficeHours:
    """Zero or one (open, close) window per weekday, 0 = Monday .. 6 = Sunday."""

    windows: tuple[Window | None, ...]

    def __post_init__(self) -> None:
        windows = tuple(self.windows)
        object.__setattr__(self, "windows", windows)
        if len(windows) != 7:
            raise ValueError("OfficeHours needs exactly 7 entries, Monday first")
        for weekday, window in enumerate(windows):
            if window is None:
                continue
            opening, closing = window
            if not opening < closing:
                raise OfficeHoursError(
                    DAY_NAMES[weekday],
                    str(_("Jam buka hari %(day)s harus sebelum jam tutup.", day=DAY_NAMES[weekday])),
                )
        if all(window is None for window in windows):
            raise OfficeHoursError("", str(_("Jam pelayanan harus memuat paling sedikit satu hari buka.")))

    @classmethod
    def from_mapping(cls, mapping: dict[int, Window]) -> OfficeHours:
        return cls(tuple(mapping.get(weekday) for weekday in range(7)))

    def window(self, weekday: int) -> Window | None:
        return self.windows[weekday]

    def __str__(self) -> str:
        return format_office_hours(self)


DEFAULT_OFFICE_HOURS = OfficeHours.from_mapping(
    {
        0: (time(7, 30), time(15, 30)),
        1: (time(7, 30), time(15, 30)),
        2: (time(7, 30), time(15, 30)),
        3: (time(7, 30), time(15, 30)),
        4: (time(7, 30), time(14, 0)),
    }
)

# --- parsing and formatting -------------------------------------------------------------------

_DASH = r"[-–—]"
_CLOSED_WORDS = {"tutup", "libur"}


def _parse_day(token: str) -> int:
    key = re.sub(r"['’`]", "", token.strip()).lower()
    if key not in _DAY_LOOKUP:
        raise OfficeHoursError(
            token.strip(),
            str(_("Hari '%(day)s' tidak dikenal (pakai Senin, Selasa, Rabu, Kamis, Jumat, Sabtu, Minggu).",
                  day=token.strip())),
        )
    return _DAY_LOOKUP[key]


def _parse_days(text: str, segment: str) -> list[int]:
    text = re.sub(r"\s+(?:s\.?\s?d\.?|s/d|sampai|hingga)\s+", "-", text, flags=re.IGNORECASE)
    if not text.strip():
        raise OfficeHoursError(segment, str(_("Nama hari tidak ada pada bagian '%(part)s'.", part=segment)))
    days: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        names = re.split(rf"\s*{_DASH}\s*", item)
        if len(names) == 1:
            days.append(_parse_day(names[0]))
        elif len(names) == 2:
            first, last = _parse_day(names[0]), _parse_day(names[1])
            if first > last:
                raise OfficeHoursError(
                    item,
                    str(_("Rentang hari '%(part)s' tidak valid: hari pertama harus sebelum hari terakhir "
                          "(Senin dulu, Minggu terakhir).", part=item)),
                )
            days.extend(range(first, last + 1))
        else:
            raise OfficeHoursError(item, str(_("Rentang hari '%(part)s' tidak valid.", part=item)))
    return days


def _parse_time(token: str) -> time:
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", token.strip())
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise OfficeHoursError(
        token.strip(),
        str(_("Jam '%(time)s' tidak valid (pakai JJ:MM antara 00:00 dan 23:59, misalnya 07:30).",
              time=token.strip())),
    )


def _parse_window(text: str, segment: str) -> Window:
    parts = re.split(rf"\s*{_DASH}\s*", text.strip())
    if len(parts) != 2:
        raise OfficeHoursError(
            text.strip(),
            str(_("Rentang jam '%(part)s' tidak valid: tulis satu rentang per hari, misalnya 07:30-15:30.",
                  part=text.strip())),
        )
    opening, closing = _parse_time(parts[0]), _parse_time(parts[1])
    if not opening < closing:
        raise OfficeHoursError(
            segment, str(_("Jam buka harus sebelum jam tutup pada '%(part)s'.", part=segment))
        )
    return opening, closing


def parse_office_hours(text: str | None) -> OfficeHours:
    """Parse "Senin-Kamis 07:30-15:30; Jumat 07:30-14:00".

    Parts are separated by ';', a new line, or a comma right after a time. Each part is a day, a
    day range ("Senin-Kamis", "Senin s.d. Kamis") or a comma list of those, then one time range
    (':' or '.' between hours and minutes, '-' or '–' between the times), or the word "tutup" /
    "libur". Days not mentioned are closed. Raises ``OfficeHoursError`` naming the wrong part.
    """
    if not text or not text.strip():
        raise OfficeHoursError("", str(_("Jam pelayanan wajib diisi.")))
    windows: list[Window | None] = [None] * 7
    seen: set[int] = set()
    for raw in re.split(r";|\n|(?<=\d)\s*,", text):
        segment = raw.strip()
        if not segment:
            continue
        digit = re.search(r"\d", segment)
        if digit:
            days_text, window = segment[: digit.start()], _parse_window(segment[digit.start():], segment)
        else:
            words = segment.split()
            if len(words) < 2 or words[-1].lower() not in _CLOSED_WORDS:
                raise OfficeHoursError(
                    segment,
                    str(_("Bagian '%(part)s' tidak berisi jam buka-tutup (contoh: 'Senin-Kamis 07:30-15:30').",
                          part=segment)),
                )
            days_text, window = segment[: segment.lower().rfind(words[-1].lower())], None
        for weekday in _parse_days(days_text, segment):
            if weekday in seen:
                raise OfficeHoursError(
                    segment,
                    str(_("Hari %(day)s disebut lebih dari sekali (pada '%(part)s').",
                          day=DAY_NAMES[weekday], part=segment)),
                )
            seen.add(weekday)
            windows[weekday] = window
    return OfficeHours(tuple(windows))


def format_office_hours(office_hours: OfficeHours) -> str:
    """The compact text ``parse_office_hours`` reads, grouping consecutive days with equal hours."""
    parts: list[str] = []
    weekday = 0
    while weekday < 7:
        window = office_hours.window(weekday)
        last = weekday
        while last + 1 < 7 and office_hours.window(last + 1) == window:
            last += 1
        if window is not None:
            days = DAY_NAMES[weekday] if last == weekday else f"{DAY_NAMES[weekday]}-{DAY_NAMES[last]}"
            parts.append(f"{days} {window[0]:%H:%M}-{window[1]:%H:%M}")
        weekday = last + 1
    return "; ".join(parts)


# --- working time ----------------------------------------------------------------------------


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _local(moment: datetime, tz: tzinfo) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("workdays needs timezone-aware datetimes (got a naive one)")
    return moment.astimezone(tz)


def is_working_day(day: date, office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
                   holidays: Collection[date] = frozenset()) -> bool:
    return office_hours.window(day.weekday()) is not None and day not in holidays


def _bounds(day: date, tz: tzinfo, office_hours: OfficeHours) -> tuple[datetime, datetime]:
    window = office_hours.window(day.weekday())
    assert window is not None
    return datetime.combine(day, window[0], tzinfo=tz), datetime.combine(day, window[1], tzinfo=tz)


def _next_working_day(day: date, office_hours: OfficeHours, holidays: Collection[date]) -> date:
    """The first working day strictly after ``day``."""
    for offset in range(1, _MAX_DAYS_AHEAD):
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate, office_hours, holidays):
            return candidate
    raise ValueError("no working day within ten years: check the holiday list")


def received_at(moment: datetime, tz: tzinfo | str, office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
                holidays: Collection[date] = frozenset()) -> datetime:
    """When the office starts counting: ``moment`` itself inside office hours, else the next opening."""
    tz = _zone(tz)
    local = _local(moment, tz)
    day = local.date()
    if is_working_day(day, office_hours, holidays):
        opening, closing = _bounds(day, tz, office_hours)
        if local < closing:
            return max(local, opening)
    return _bounds(_next_working_day(day, office_hours, holidays), tz, office_hours)[0]


def due_at(start: datetime, value: int, unit: str, tz: tzinfo | str,
           office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
           holidays: Collection[date] = frozenset()) -> datetime:
    """When a request submitted at ``start`` with a service time of ``value`` ``unit`` is due.

    See the module docstring for the rules. The result is aware, in ``tz``.
    """
    if unit not in UNITS:
        raise ValueError(f"unknown service-time unit {unit!r}; use one of {UNITS}")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"service time must be a whole number >= 0, got {value!r}")
    tz = _zone(tz)
    cursor = received_at(start, tz, office_hours, holidays)
    if unit == WORKING_DAYS:
        day = cursor.date()
        for _step in range(value):
            day = _next_working_day(day, office_hours, holidays)
        return _bounds(day, tz, office_hours)[1]

    remaining = timedelta(minutes=value * (60 if unit == HOURS else 1))
    while True:
        closing = _bounds(cursor.date(), tz, office_hours)[1]
        available = closing - cursor
        if remaining <= available:
            return cursor + remaining
        remaining -= available
        cursor = _bounds(_next_working_day(cursor.date(), office_hours, holidays), tz, office_hours)[0]


def working_time_between(start: datetime, end: datetime, tz: tzinfo | str,
                         office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
                         holidays: Collection[date] = frozenset()) -> timedelta:
    """Office time from ``start`` to ``end`` (zero when ``end`` is not after ``start``)."""
    tz = _zone(tz)
    start, end = _local(start, tz), _local(end, tz)
    total = timedelta(0)
    day = start.date()
    while day <= end.date():
        if is_working_day(day, office_hours, holidays):
            opening, closing = _bounds(day, tz, office_hours)
            lo, hi = max(opening, start), min(closing, end)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def working_time_left(now: datetime, due: datetime, tz: tzinfo | str,
                      office_hours: OfficeHours = DEFAULT_OFFICE_HOURS,
                      holidays: Collection[date] = frozenset()) -> timedelta:
    """Office time left until ``due``; negative (office time since ``due``) or zero when overdue."""
    if now <= due:
        return working_time_between(now, due, tz, office_hours, holidays)
    return -working_time_between(due, now, tz, office_hours, holidays)


def is_overdue(now: datetime, due: datetime) -> bool:
    """Finished exactly at the due moment is still on time."""
    return _local(now, UTC) > _local(due, UTC)


def human_duration(value: int, unit: str) -> str:
    """ "10 menit", "2 jam", "1 hari kerja" (translated inside a Flask app: "1 working day", "2 working days")."""
    if unit == MINUTES:
        return ngettext("%(num)d menit", "%(num)d menit", value)
    if unit == HOURS:
        return ngettext("%(num)d jam", "%(num)d jam", value)
    if unit == WORKING_DAYS:
        return ngettext("%(num)d hari kerja", "%(num)d hari kerja", value)
    raise ValueError(f"unknown service-time unit {unit!r}; use one of {UNITS}")


@dataclass
class Clock:
    """Working time seen from one moment: now, the zone, office hours and nearby holidays (read once).

    Times passed in are stored UTC (naive) where the docstring says so, else aware. Per-day office
    time is summed once per clock, so a page of requests weeks overdue does not walk every day of
    every row.
    """

    now: datetime
    tz: str
    office_hours: OfficeHours
    holidays: frozenset[date]

    @property
    def now_naive(self) -> datetime:
        return self.now.astimezone(UTC).replace(tzinfo=None)

    def is_overdue(self, due_at: datetime | None) -> bool:
        """Whether ``due_at`` (stored UTC, naive) has passed."""
        return due_at is not None and is_overdue(self.now, due_at.replace(tzinfo=UTC))

    def working_time(self, start: datetime, end: datetime) -> timedelta:
        """working_time_between, with the whole days in between summed from per-day figures
        computed once per clock: a page of requests weeks overdue would otherwise walk every day of
        every row."""
        zone = ZoneInfo(self.tz)
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        if last - first < timedelta(days=2):
            return working_time_between(start, end, zone, self.office_hours, self.holidays)
        after_first = datetime.combine(first + timedelta(days=1), time(0), tzinfo=zone)
        last_midnight = datetime.combine(last, time(0), tzinfo=zone)
        return (working_time_between(start, after_first, zone, self.office_hours, self.holidays)
                + self._whole_days(first + timedelta(days=1), last, zone)
                + working_time_between(last_midnight, end, zone, self.office_hours, self.holidays))

    def _whole_days(self, first: date, stop: date, zone) -> timedelta:
        """Office time of the days from ``first`` up to (not including) ``stop``, by running sums."""
        base, sums = self.__dict__.setdefault("_sums", (first, [timedelta(0)]))
        if first < base:  # earlier than anything asked so far: start the sums again from here
            self.__dict__["_sums"] = (first, [timedelta(0)])
            base, sums = self.__dict__["_sums"]
        while len(sums) <= (stop - base).days:
            day = base + timedelta(days=len(sums) - 1)
            midnight = datetime.combine(day, time(0), tzinfo=zone)
            sums.append(sums[-1] + working_time_between(
                midnight, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone), zone,
                self.office_hours, self.holidays))
        return sums[(stop - base).days] - sums[(first - base).days]
