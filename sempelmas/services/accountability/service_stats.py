"""Service statistics for the staff/lurah dashboard, the monthly recap and the public transparency page.

Definitions (the same on every screen and export):

- a period is a range of local dates (the profile's time zone), both ends included; its UTC bounds run
  from local midnight of the first day to local midnight after the last;
- **received**: requests submitted in the period (``submitted_at``); counts by status, per RT/RW and
  "received" per service are over these;
- **completed** / **rejected** / **cancelled**: requests that reached that final status in the period
  (``closed_at``), whenever they were submitted;
- **completion time**: ``closed_at - submitted_at`` of the completed ones (calendar time, what the resident
  waits); median and 90th percentile by linear interpolation between ranks (Excel's PERCENTILE.INC);
- **on time**: completed no later than the promised ``due_at`` (from the service time and office hours, counted
  from when the office received it: the submission, or the RT/RW's last endorsement; services/requests/promise.py);
  the share is on-time / completed-with-a-due-date;
- **overdue**: an open (not final) request whose ``due_at`` has passed (none while it waits for the RT/RW).

SQLite has no percentile function: the completed rows of the period (a few columns each) are read and
the percentiles computed here. Months are buckets of one ``CASE`` over UTC bounds, so the same SQL runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from time import monotonic

import flask_babel
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import current_app
from sqlalchemy import and_, case, extract, func, select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.catalogue import Service, ServiceVersion
from sempelmas.models.requests import REQUEST_STATUS_LABELS, LetterRequest, RequestStatus
from sempelmas.models.residents import Resident
from sempelmas.services.accountability.periods import (
    MONTHS_SHORT,
    Period,
    local_date,
    next_month,
    preset_period,
    tz_name,
    utc_naive,
)
from sempelmas.services.requests.lifecycle import FINAL_STATUSES, OPEN_STATUSES

R = LetterRequest
S = RequestStatus
OVERDUE_LIST_SIZE = 20

# ------------------------------------------------------------------------------------------- numbers

def percentile(values: list[float], p: float) -> float | None:
    """The ``p``-th percentile (0–100) by linear interpolation between closest ranks; None when empty.

    ``values`` must be sorted. Same as Excel's PERCENTILE.INC and numpy's default.
    """
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    pos = (len(values) - 1) * p / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def share(part: int, whole: int) -> float | None:
    """part / whole as a fraction, None when there is nothing to divide."""
    return part / whole if whole else None


@dataclass
class Completion:
    """Completed requests of a group: how many, how many on time (of those with a due date), how long."""

    completed: int = 0
    with_due: int = 0
    on_time: int = 0
    seconds: list[float] = field(default_factory=list)

    def merge(self, other: Completion) -> None:
        self.completed += other.completed
        self.with_due += other.with_due
        self.on_time += other.on_time
        self.seconds.extend(other.seconds)

    def finish(self) -> Completion:
        self.seconds.sort()
        return self

    @property
    def on_time_share(self) -> float | None:
        return share(self.on_time, self.with_due)

    @property
    def median(self) -> float | None:
        return percentile(self.seconds, 50)

    @property
    def p90(self) -> float | None:
        return percentile(self.seconds, 90)


@dataclass
class ServiceRow:
    service_id: int
    name: str
    received: int = 0
    rejected: int = 0
    cancelled: int = 0
    done: Completion = field(default_factory=Completion)


@dataclass
class MonthRow:
    month: date
    received: int = 0
    done: Completion = field(default_factory=Completion)

    @property
    def label(self) -> str:
        return f"{MONTHS_SHORT[self.month.month - 1]} {self.month.year}"


@dataclass
class Workload:
    submitted_today: int = 0
    closed_today: int = 0
    due_today: int = 0
    overdue: int = 0
    open_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def open_total(self) -> int:
        return sum(self.open_by_status.values())


@dataclass
class OverdueRow:
    tracking_number: str
    service: str
    subject: str
    status: str
    due_at: datetime

    @property
    def status_label(self) -> str:
        return str(REQUEST_STATUS_LABELS[RequestStatus(self.status)])


@dataclass
class Stats:
    period: Period
    received: int
    by_status: list[tuple[str, str, int]]
    services: list[ServiceRow]
    areas: list[tuple[str, str, int]]
    months: list[MonthRow]
    total: Completion
    rejected: int
    cancelled: int


def _duration_seconds():
    """closed_at - submitted_at in seconds, in the database's own dialect."""
    if db.engine.dialect.name == "sqlite":
        return (func.julianday(R.closed_at) - func.julianday(R.submitted_at)) * 86400.0
    return extract("epoch", R.closed_at - R.submitted_at)


def _month_bucket(column, period: Period):
    """0-based index of the period's month ``column`` falls in (local months, as UTC bounds)."""
    months = period.months()
    whens = [(column < utc_naive(next_month(m), period.tz), i) for i, m in enumerate(months[:-1])]
    return case(*whens, else_=len(months) - 1) if whens else case((column.is_not(None), 0), else_=0)


def period_stats(period: Period, *, services: bool = True, areas: bool = True) -> Stats:
    """Every number of the dashboard and the recap for ``period`` (see the module docstring).

    Counts are grouped in SQL (by service version, status and month); only the completion times of the
    completed requests come back row by row, one float each, for the percentiles. Both read the covering
    indexes of migration 0011 alone; versions map to services in Python (a small table).
    """
    a, b = period.utc_start, period.utc_end
    sent = _month_bucket(R.submitted_at, period)  # one object in SELECT and GROUP BY: same parameters
    received_rows = db.session.execute(
        select(R.service_version_id, R.status, sent, func.count())
        .where(R.submitted_at >= a, R.submitted_at < b)
        .group_by(R.service_version_id, R.status, sent)).all()
    # The requests closed in the period, one short row each (the covering index's range alone): the grouped
    # counts are added up here, since the completed ones come back row by row anyway for the percentiles. Their
    # status is checked here too: with "status IN (...)" in the WHERE clause SQLite, which keeps no statistics,
    # walked the (status, due_at) index over every finished request of all years (~45 ms with 100,000) instead
    # of the month's range of the covering index.
    closed_rows = db.session.connection().execute(
        select(R.status, R.service_version_id, _month_bucket(R.closed_at, period), _duration_seconds(),
               R.due_at.is_not(None), R.closed_at <= R.due_at)
        .where(R.closed_at >= a, R.closed_at < b)).all()

    service_of = {version_id: (service_id, name) for version_id, service_id, name in db.session.execute(
        select(ServiceVersion.id, Service.id, Service.name).join(Service, Service.id == ServiceVersion.service_id))}
    rows: dict[int, ServiceRow] = {}
    months = [MonthRow(m) for m in period.months()]

    def row(version_id: int) -> ServiceRow:
        service_id, name = service_of.get(version_id, (0, "?"))
        if service_id not in rows:
            rows[service_id] = ServiceRow(service_id, name)
        return rows[service_id]

    by_status: dict[str, int] = {}
    received = 0
    for version_id, status, bucket, n in received_rows:
        received += n
        by_status[status] = by_status.get(status, 0) + n
        row(version_id).received += n
        months[bucket].received += n
    total = Completion()
    rejected = cancelled = 0
    final = {str(s) for s in FINAL_STATUSES}
    done: dict[tuple[int, int], Completion] = {}  # per service version and month, then added up below
    for status, version_id, bucket, seconds, has_due, on_time in closed_rows:
        if status not in final:
            continue
        if status == S.DONE:
            c = done.get((version_id, bucket)) or done.setdefault((version_id, bucket), Completion())
            c.completed += 1
            if seconds is not None:
                c.seconds.append(max(float(seconds), 0.0))  # PostgreSQL's EXTRACT gives a Decimal
            if has_due:
                c.with_due += 1
                c.on_time += bool(on_time)
        elif status == S.REJECTED:
            row(version_id).rejected += 1
            rejected += 1
        else:
            row(version_id).cancelled += 1
            cancelled += 1
    for (version_id, bucket), c in done.items():
        for into in (row(version_id).done, months[bucket].done, total):
            into.merge(c)
    for r in rows.values():
        r.done.finish()
    for m in months:
        m.done.finish()
    total.finish()

    area_rows: list[tuple[str, str, int]] = []
    if areas:
        area_rows = [(rt or "-", rw or "-", n) for rt, rw, n in db.session.execute(
            select(Resident.rt, Resident.rw, func.count()).select_from(R)
            .join(Resident, Resident.id == R.subject_resident_id)
            .where(R.submitted_at >= a, R.submitted_at < b)
            .group_by(Resident.rw, Resident.rt).order_by(Resident.rw, Resident.rt)).all()]
    service_rows = sorted(rows.values(), key=lambda r: (-r.received, r.name)) if services else []
    statuses = [(s.value, str(REQUEST_STATUS_LABELS[s]), by_status.get(s.value, 0)) for s in RequestStatus]
    return Stats(period, received, statuses, service_rows, area_rows, months, total, rejected, cancelled)


def recap_rows(period: Period) -> list[ServiceRow]:
    """The monthly recap (rekap layanan): one row per enabled service (even with nothing), then any other
    service that had requests in the period, by catalogue order."""
    stats = period_stats(period, areas=False)
    found = {r.service_id: r for r in stats.services}
    out = []
    for service_id, name, enabled in db.session.execute(
            select(Service.id, Service.name, Service.enabled).order_by(Service.sort_order, Service.name)).all():
        if service_id in found:
            out.append(found[service_id])
        elif enabled:
            out.append(ServiceRow(service_id, name))
    return out


def workload(now: datetime | None = None, tz: str | None = None) -> Workload:
    """Today's load (local day): submitted, closed and due today, overdue, and open requests by status."""
    tz = tz or tz_name()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    today = local_date(now, tz)
    a, b = utc_naive(today, tz), utc_naive(today + timedelta(days=1), tz)
    open_codes = [str(s) for s in OPEN_STATUSES]
    w = Workload()
    w.open_by_status = {s: 0 for s in open_codes}
    # one pass over the open requests (the (status, due_at) index alone): per status, how many, due today, late
    for status, n, due_today, late in db.session.execute(
            select(R.status, func.count(), func.count(case((and_(R.due_at >= max(a, now), R.due_at < b), 1))),
                   func.count(case((R.due_at < now, 1))))
            .where(R.status.in_(open_codes)).group_by(R.status)).all():
        w.open_by_status[status] = n
        w.due_today += due_today
        w.overdue += late
    w.submitted_today, w.closed_today = db.session.execute(select(
        select(func.count()).where(R.submitted_at >= a, R.submitted_at < b).scalar_subquery(),
        select(func.count()).where(R.closed_at >= a, R.closed_at < b).scalar_subquery())).one()
    return w


def open_status_labels() -> list[tuple[str, str]]:
    return [(s.value, str(REQUEST_STATUS_LABELS[s])) for s in OPEN_STATUSES]


def overdue_list(now: datetime | None = None, limit: int = OVERDUE_LIST_SIZE) -> list[OverdueRow]:
    """The open requests past their promised time, the longest overdue first."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    # the few ids first, from the (status, due_at) index alone; then the joins for just those rows
    late = (select(R.id).where(R.status.in_([str(s) for s in OPEN_STATUSES]), R.due_at < now)
            .order_by(R.due_at, R.id).limit(limit))
    stmt = (select(R.tracking_number, Service.name, Resident.full_name, R.status, R.due_at).select_from(R)
            .join(ServiceVersion, ServiceVersion.id == R.service_version_id)
            .join(Service, Service.id == ServiceVersion.service_id)
            .join(Resident, Resident.id == R.subject_resident_id)
            .where(R.id.in_(late))
            .order_by(R.due_at, R.id))
    return [OverdueRow(*r) for r in db.session.execute(stmt).all()]


@lru_cache(maxsize=8)
def _number_signs(locale: str) -> dict[int, str]:
    """The locale's decimal and grouping signs as a str.translate table (from Babel's CLDR data, once)."""
    return str.maketrans({".": get_decimal_symbol(locale), ",": get_group_symbol(locale)})


def _one_decimal(value: float) -> str:
    """One decimal in the reader's language: "1.234,5" in Indonesian, "1,234.5" in English.

    What ``format_decimal(value, format="#,##0.0")`` gives, without parsing the pattern and looking the
    locale up on every call (a dashboard shows ~50 of these; measured in bench/bench_pages.py)."""
    return f"{round(value, 1):,.1f}".translate(_number_signs(str(flask_babel.get_locale() or "id")))


def duration_text(seconds: float | None) -> str:
    """"45 menit", "5,2 jam", "3,1 hari" (one decimal, the reader's decimal sign); "–" when there is none."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return str(_("%(n)s menit", n=f"{seconds / 60:.0f}"))
    if seconds < 2 * 86400:
        return str(_("%(n)s jam", n=_one_decimal(seconds / 3600)))
    return str(_("%(n)s hari", n=_one_decimal(seconds / 86400)))


def percent_text(fraction: float | None) -> str:
    if fraction is None:
        return "–"
    return _one_decimal(fraction * 100) + " %"


# ------------------------------------------------------------------------------------------- the public page

_PUBLIC_CACHE: dict[tuple, tuple[float, dict]] = {}


def public_numbers(today: date) -> dict:
    """This month's and this year's received / completed / on-time share, cached in the process for
    TRANSPARENCY_CACHE_SECONDS (the public page may be opened often; the numbers move slowly)."""
    tz = tz_name()
    key = (id(current_app._get_current_object()), today, tz)
    ttl = current_app.config.get("TRANSPARENCY_CACHE_SECONDS", 300)
    hit = _PUBLIC_CACHE.get(key) if ttl > 0 else None
    now = monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    month = preset_period("bulan-ini", today, tz)
    year = Period(date(today.year, 1, 1), today, tz, "tahun-ini")
    out = {}
    for name, period in (("month", month), ("year", year)):
        s = period_stats(period, services=False, areas=False)
        out[name] = {"label": period.label, "received": s.received, "completed": s.total.completed,
                     "on_time": s.total.on_time_share, "median": s.total.median}
    out["year"]["label"] = str(_("Tahun %(y)d (sampai hari ini)", y=today.year))
    if ttl > 0:
        if len(_PUBLIC_CACHE) > 16:
            _PUBLIC_CACHE.clear()
        _PUBLIC_CACHE[key] = (now + ttl, out)
    return out
