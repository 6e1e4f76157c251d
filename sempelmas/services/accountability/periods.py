"""Periods of the statistics: ranges of local dates (the profile's time zone), both ends included, chosen by a
preset or two dates; their UTC bounds run from local midnight of the first day to local midnight after the last.
Shared by the dashboard, the recap, the survey report and the exports (services.accountability.service_stats).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from sempelmas.domain.i18n import lazy as _
from sempelmas.services.kelurahan import profile as profile_service

#: the longest period a screen or an export may ask for
MAX_PERIOD_DAYS = 3 * 366

PRESETS = {
    "bulan-ini": _l("Bulan ini"),
    "bulan-lalu": _l("Bulan lalu"),
    "30-hari": _l("30 hari terakhir"),
    "tahun-ini": _l("Tahun ini"),
    "tahun-lalu": _l("Tahun lalu"),
    "kustom": _l("Pilih tanggal"),
}
DEFAULT_PRESET = "bulan-ini"
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
          "November", "Desember")
MONTHS_SHORT = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


# ------------------------------------------------------------------------------------------- periods

tz_name = profile_service.tz_name  # the screens' periods are the kelurahan's local days


def utc_naive(day: date, tz: str) -> datetime:
    """Local midnight at the start of ``day`` as a naive UTC timestamp (how the database stores time)."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def local_date(moment: datetime, tz: str) -> date:
    """The local date of a stored (naive UTC) timestamp."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(tz)).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` .. ``end`` (both included) in time zone ``tz``."""

    start: date
    end: date
    tz: str
    preset: str = "kustom"

    @property
    def utc_start(self) -> datetime:
        return utc_naive(self.start, self.tz)

    @property
    def utc_end(self) -> datetime:
        """Exclusive: local midnight after the last day."""
        return utc_naive(self.end + timedelta(days=1), self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        if self.start.day == 1 and next_month(self.start) == self.end + timedelta(days=1):
            return f"{MONTHS[self.start.month - 1]} {self.start.year}"
        if (self.start.month, self.start.day, self.end.month, self.end.day) == (1, 1, 12, 31) \
                and self.start.year == self.end.year:
            return str(_("Tahun %(y)d", y=self.start.year))
        return f"{fmt_date(self.start)} – {fmt_date(self.end)}"

    @property
    def slug(self) -> str:
        """For file names: 2026-03 for a month, else 2026-03-01_2026-03-15."""
        if self.start.day == 1 and next_month(self.start) == self.end + timedelta(days=1):
            return self.start.strftime("%Y-%m")
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        out, m = [], month_start(self.start)
        while m <= self.end:
            out.append(m)
            m = next_month(m)
        return out

    def query_args(self) -> dict:
        if self.preset != "kustom":
            return {"periode": self.preset}
        return {"periode": "kustom", "dari": self.start.isoformat(), "sampai": self.end.isoformat()}


def fmt_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def preset_period(preset: str, today: date, tz: str) -> Period:
    if preset == "bulan-lalu":
        start = month_start(month_start(today) - timedelta(days=1))
        return Period(start, month_start(today) - timedelta(days=1), tz, preset)
    if preset == "30-hari":
        return Period(today - timedelta(days=29), today, tz, preset)
    if preset == "tahun-ini":
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), tz, preset)
    if preset == "tahun-lalu":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), tz, preset)
    start = month_start(today)
    return Period(start, next_month(start) - timedelta(days=1), tz, DEFAULT_PRESET)


def month_period(year: int, month: int, tz: str) -> Period:
    start = date(year, month, 1)
    return Period(start, next_month(start) - timedelta(days=1), tz, "kustom")


def parse_period(args, *, today: date | None = None, tz: str | None = None) -> tuple[Period, str | None]:
    """The period a screen's query string asks for, and an error message when the asked dates are unusable.

    ``periode`` is a preset (default this month) or "kustom" with ``dari`` and ``sampai`` (YYYY-MM-DD);
    ``bulan`` (YYYY-MM) picks one month. On a bad value the default period is used and the message says why.
    """
    tz = tz or tz_name()
    today = today or datetime.now(ZoneInfo(tz)).date()
    month = (args.get("bulan") or "").strip()
    if month:
        try:
            y, m = (int(p) for p in month.split("-"))
            return month_period(y, m, tz), None
        except ValueError:
            return preset_period(DEFAULT_PRESET, today, tz), str(_("Bulan tidak dikenali: pakai format TTTT-BB."))
    preset = (args.get("periode") or DEFAULT_PRESET).strip()
    if preset != "kustom":
        return preset_period(preset if preset in PRESETS else DEFAULT_PRESET, today, tz), None
    raw_from, raw_to = (args.get("dari") or "").strip(), (args.get("sampai") or "").strip()
    default = preset_period(DEFAULT_PRESET, today, tz)
    try:
        start = date.fromisoformat(raw_from)
        end = date.fromisoformat(raw_to)
    except ValueError:
        return default, str(_("Isi tanggal \"dari\" dan \"sampai\" dengan tanggal yang benar."))
    if end < start:
        return default, str(_("Tanggal \"sampai\" tidak boleh sebelum tanggal \"dari\"."))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        return default, str(_("Periode paling panjang 3 tahun."))
    return Period(start, end, tz, "kustom"), None
