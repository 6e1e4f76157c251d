"""The staff queue: filtering, searching and paging letter requests, and the counts per status.

A page costs a fixed number of SQL queries whatever its size: one for the rows (subject, service
name and claimer selected in the same statement, only the columns the list shows), one for the
counts per status (one GROUP BY), one for the holidays the time-left clock needs.

Ordering: "tenggat" (the default) is due_at ascending, so among open requests the most overdue come
first and then the ones due soonest; "terbaru" is the newest submission first. The default status
filter is every open (not final) status; a search (tracking number, NIK or name) looks in every
status unless a status is chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from sempelmas.domain import dates, workdays
from sempelmas.domain import digits as digit_rules
from sempelmas.domain.dates import clock
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.catalogue import Service, ServiceVersion
from sempelmas.models.profile import KelurahanProfile
from sempelmas.models.requests import REQUEST_STATUS_LABELS, LetterRequest, RequestStatus
from sempelmas.models.residents import Resident
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.requests.lifecycle import OPEN_STATUSES
from sempelmas.services.requests.promise import office_hours_of

#: the status filter's "every open request" (the default) and "every status"
OPEN = ""
ALL = "semua"
ORDER_DUE = "tenggat"
ORDER_NEWEST = "terbaru"
PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
#: how far back the time-left clock counts office time of an overdue request
OVERDUE_CLOCK_DAYS = 62
_LATE = "_terlambat"

_NIK = re.compile(r"^[0-9]{16}$")
# built once: an alias proxies every column of its table, which is most of a page's statement-building time
_SUBJECT = aliased(Resident, name="subject")
_SHOWN = aliased(Resident, name="shown")
_CLAIMER = aliased(User, name="claimer")
_TRACKING = re.compile(r"^[A-Z]{1,8}-[0-9]")


@dataclass
class QueueFilters:
    status: str = OPEN
    service: str = ""
    rt: str = ""
    rw: str = ""
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    q: str = ""
    order: str = ORDER_DUE
    page: int = 1
    per_page: int = DEFAULT_PAGE_SIZE

    @classmethod
    def from_args(cls, args) -> QueueFilters:
        """From a query string; anything not understood falls back to its default (never an error)."""
        status = args.get("status", OPEN)
        if status not in (OPEN, ALL) and status not in set(RequestStatus):
            status = OPEN
        per_page = digit_rules.query_int(args, "per_page", DEFAULT_PAGE_SIZE)
        if per_page not in PAGE_SIZES:
            per_page = DEFAULT_PAGE_SIZE
        order = args.get("order", ORDER_DUE)
        return cls(
            status=status,
            service=(args.get("service") or "").strip()[:40],
            rt=digit_rules.rt_rw(args.get("rt")) or "",
            rw=digit_rules.rt_rw(args.get("rw")) or "",
            date_from=_date(args.get("from")),
            date_to=_date(args.get("to")),
            overdue=args.get("overdue") in ("1", "on", "true", "ya"),
            q=digit_rules.normalise(args.get("q")).strip()[:120],
            order=order if order in (ORDER_DUE, ORDER_NEWEST) else ORDER_DUE,
            page=digit_rules.query_int(args, "page", 1),
            per_page=per_page,
        )

    def args(self, **changes) -> dict:
        """The query-string arguments for a link to this view (defaults left out), with ``changes``."""
        values = {"status": self.status, "service": self.service, "rt": self.rt, "rw": self.rw,
                  "from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else "",
                  "overdue": "1" if self.overdue else "", "q": self.q,
                  "order": "" if self.order == ORDER_DUE else self.order,
                  "per_page": "" if self.per_page == DEFAULT_PAGE_SIZE else self.per_page,
                  "page": "" if self.page == 1 else self.page}
        values.update(changes)
        if values["page"] == 1:
            values["page"] = ""
        return {k: v for k, v in values.items() if v not in ("", None)}


def _date(value) -> date | None:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        return None


@dataclass
class QueueRow:
    id: int
    tracking_number: str
    status: str
    submitted_at: datetime
    due_at: datetime | None
    claimed_by_id: int | None
    subject_name: str
    subject_nik: str
    rt: str | None
    rw: str | None
    service_name: str
    claimer_name: str | None
    overdue: bool = False
    #: "Sisa 3 jam kerja" / "Terlambat 2 jam kerja"; empty for a final status
    time_left: str = ""
    #: the submission time in the profile's time zone, "3 Mar 2026 09.00"
    submitted_local: str = ""
    status_label: str = ""


@dataclass
class QueuePage:
    rows: list[QueueRow]
    filters: QueueFilters
    has_next: bool
    search_kind: str = ""  # "nik", "nomor", "nama" or ""

    @property
    def has_prev(self) -> bool:
        return self.filters.page > 1


@dataclass
class StatusCounts:
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def open_total(self) -> int:
        return sum(self.by_status.get(s, 0) for s in OPEN_STATUSES)

    def items(self):
        """(status code, label, count) of every open status, in the order work flows."""
        for s in OPEN_STATUSES:
            yield str(s), str(REQUEST_STATUS_LABELS[s]), self.by_status.get(str(s), 0)


# ---------------------------------------------------------------------------- clock


class Clock(workdays.Clock):
    """The working-time clock (domain.workdays.Clock) loaded from the profile, with the time-left texts."""

    @classmethod
    def load(cls, now: datetime | None = None, profile: KelurahanProfile | None = None) -> Clock:
        profile = profile if profile is not None else profile_service.current_profile()
        now = now or datetime.now(UTC)
        tz = dates.tz_name_of(profile)
        today = now.astimezone(ZoneInfo(tz)).date()
        holidays = profile_service.holidays_between(today - timedelta(days=OVERDUE_CLOCK_DAYS + 7),
                                                    today + timedelta(days=400))
        return cls(now, tz, office_hours_of(profile), frozenset(holidays))

    def time_left(self, due_at: datetime | None) -> str:
        """Office time left until ``due_at`` (stored UTC), or how late: "Sisa 5 jam kerja", "Terlambat 2 jam kerja"."""
        if due_at is None:
            return ""
        due = due_at.replace(tzinfo=UTC)
        texts = self._texts()
        if self.now > due and self.now - due > timedelta(days=OVERDUE_CLOCK_DAYS):
            return texts["long_late"]
        late = self.now > due
        text = _duration(self.working_time(due, self.now) if late else self.working_time(self.now, due), texts)
        return texts["late" if late else "left"] % {"t": text}

    def short_datetime(self, value: datetime) -> str:
        """A stored UTC time in the profile's zone, "3 Mar 2026 09.00" (month names looked up once per clock:
        Babel's full formatter costs more than the rest of a queue row)."""
        if "_months" not in self.__dict__:
            from babel.dates import get_month_names
            from flask_babel import get_locale

            locale = get_locale()
            self.__dict__["_months"] = get_month_names("abbreviated", locale=locale or "id")
            self.__dict__["_lang"] = locale.language if locale else "id"
            self.__dict__["_zone"] = ZoneInfo(self.tz)
        local = value.replace(tzinfo=UTC).astimezone(self.__dict__["_zone"])
        d = self.__dict__
        return f"{local.day} {d['_months'][local.month]} {local.year} {clock(local, d['_lang'])}"

    def _texts(self) -> dict[str, str]:
        """The phrases, translated once per clock (a page shows dozens of them)."""
        if "_text" not in self.__dict__:
            self.__dict__["_text"] = {
                "late": _("Terlambat %(t)s", t="%(t)s"), "left": _("Sisa %(t)s", t="%(t)s"),
                "long_late": _("Terlambat lebih dari %(n)d hari", n=OVERDUE_CLOCK_DAYS),
                "minutes": _("%(n)d menit kerja", n=0).replace("0", "%(n)d", 1),
                "hours": _("%(n)d jam kerja", n=0).replace("0", "%(n)d", 1),
                "hours_minutes": _("%(h)d jam %(m)d menit kerja", h=0, m=1).replace("0", "%(h)d", 1)
                .replace("1", "%(m)d", 1),
            }
        return self.__dict__["_text"]


def _duration(delta: timedelta, texts: dict[str, str]) -> str:
    """Office time as minutes below an hour, else whole hours (and minutes under ten hours)."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return texts["minutes"] % {"n": minutes}
    hours, rest = divmod(minutes, 60)
    if hours < 10 and rest:
        return texts["hours_minutes"] % {"h": hours, "m": rest}
    return texts["hours"] % {"n": hours}


def _search_kind(q: str) -> str:
    if not q:
        return ""
    if _NIK.match(q):
        return "nik"
    if _TRACKING.match(q.upper()):
        return "nomor"
    return "nama"


def _local_midnight_utc(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC).replace(tzinfo=None)


def _conditions(f: QueueFilters, clock: Clock, subject) -> tuple[list, str]:
    """The WHERE terms for ``f`` and the kind of search it makes."""
    R = LetterRequest
    where = []
    kind = _search_kind(f.q)
    if f.status == OPEN and not kind:
        where.append(R.status.in_([str(s) for s in OPEN_STATUSES]))
    elif f.status not in (OPEN, ALL):
        where.append(R.status == f.status)
    if f.overdue:
        where += [R.due_at < clock.now_naive, R.status.in_([str(s) for s in OPEN_STATUSES])]
    if f.service:
        where.append(R.service_version_id.in_(
            select(ServiceVersion.id).join(Service, Service.id == ServiceVersion.service_id)
            .where(Service.code == f.service).scalar_subquery()))
    if f.rt:
        where.append(subject.rt == f.rt)
    if f.rw:
        where.append(subject.rw == f.rw)
    if f.date_from:
        where.append(R.submitted_at >= _local_midnight_utc(f.date_from, clock.tz))
    if f.date_to:
        where.append(R.submitted_at < _local_midnight_utc(f.date_to + timedelta(days=1), clock.tz))
    if kind == "nik":
        resident_id = select(Resident.id).where(Resident.nik == f.q).scalar_subquery()
        user_id = (select(User.id).join(Resident, Resident.id == User.resident_id)
                   .where(Resident.nik == f.q).scalar_subquery())
        where.append(or_(R.subject_resident_id == resident_id, R.applicant_user_id == user_id))
    elif kind == "nomor":
        number = f.q.upper()
        if re.fullmatch(r"[A-Z]{1,8}-[0-9]{4}-[0-9]{6}", number):
            where.append(R.tracking_number == number)
        elif db.session.get_bind().dialect.name == "sqlite":
            # a range the unique index answers (SQLite's LIKE cannot use a BINARY index)
            where += [R.tracking_number >= number, R.tracking_number < number + "\U0010ffff"]
        else:
            where.append(R.tracking_number.startswith(number, autoescape=True))
    elif kind == "nama":
        # the matching residents first (one pass over the register), then their requests by index
        where.append(R.subject_resident_id.in_(
            select(Resident.id).where(func.lower(Resident.full_name).contains(f.q.lower(), autoescape=True))))
    return where, kind


def queue_page(f: QueueFilters, *, clock: Clock | None = None) -> QueuePage:
    """One page of the queue for ``f``: two queries (the holidays, then the rows with what they show).

    The ids of the page are picked first in a subquery that only touches the request table (and the
    subject when a filter needs it), so the ordering runs on the (status, due_at) index; the row
    data is joined to those ids only.
    """
    clock = clock or Clock.load()
    R = LetterRequest
    subject, shown_subject, claimer = _SUBJECT, _SHOWN, _CLAIMER
    where, kind = _conditions(f, clock, subject)
    needs_subject = bool(f.rt or f.rw)
    newest = f.order == ORDER_NEWEST
    # no due time yet (waiting for the RT: promise.py) goes last, on SQLite as on PostgreSQL
    order = (R.submitted_at.desc(), R.id.desc()) if newest else (R.due_at.asc().nulls_last(), R.id)
    ids = select(R.id, R.due_at, R.submitted_at)
    if needs_subject:
        ids = ids.join(subject, subject.id == R.subject_resident_id)
    ids = (ids.where(and_(True, *where)).order_by(*order)
           .limit(f.per_page + 1).offset((f.page - 1) * f.per_page).subquery("page"))
    stmt = (
        select(R.id, R.tracking_number, R.status, R.submitted_at, R.due_at, R.claimed_by_id,
               shown_subject.full_name, shown_subject.nik, shown_subject.rt, shown_subject.rw,
               ServiceVersion.snapshot["name"].as_string(), claimer.full_name)
        .join(ids, ids.c.id == R.id)
        .join(shown_subject, shown_subject.id == R.subject_resident_id)
        .join(ServiceVersion, ServiceVersion.id == R.service_version_id)
        .outerjoin(claimer, claimer.id == R.claimed_by_id)
    )
    stmt = stmt.order_by(*((ids.c.submitted_at.desc(), ids.c.id.desc()) if newest
                           else (ids.c.due_at.asc().nulls_last(), ids.c.id)))
    rows = []
    labels = {str(s): str(label) for s, label in REQUEST_STATUS_LABELS.items()}  # translated once a page
    open_codes = {str(s) for s in OPEN_STATUSES}
    for r in db.session.execute(stmt):
        row = QueueRow(*r)
        row.submitted_local = clock.short_datetime(row.submitted_at)
        row.status_label = labels[row.status]
        if row.status in open_codes:
            row.overdue = clock.is_overdue(row.due_at)
            row.time_left = clock.time_left(row.due_at)
        rows.append(row)
    has_next = len(rows) > f.per_page
    return QueuePage(rows=rows[:f.per_page], filters=f, has_next=has_next, search_kind=kind)


_COUNTS_CACHE: dict[int, tuple[float, StatusCounts]] = {}


def status_counts(*, fresh: bool = False, now: datetime | None = None) -> StatusCounts:
    """The counts per open status and the overdue count, re-read at most every
    ``QUEUE_COUNTS_CACHE_SECONDS`` by this worker (``fresh`` re-reads now: after an action).

    A staff member typing a search sends a request at every pause; the bar need not be re-counted
    for each of them, while the one who acts sees their change at once.
    """
    ttl = current_app.config.get("QUEUE_COUNTS_CACHE_SECONDS", 0)
    if now is not None or ttl <= 0:
        return count_statuses(now=now)
    key = id(current_app._get_current_object())
    clock = monotonic()
    hit = _COUNTS_CACHE.get(key)
    if not fresh and hit is not None and hit[0] > clock:
        return hit[1]
    counts = count_statuses()
    _COUNTS_CACHE[key] = (clock + ttl, counts)
    return counts


def count_statuses(*, now: datetime | None = None) -> StatusCounts:
    """How many requests are in each open status, and how many of them are overdue: one statement.

    Only the open statuses are counted: they are what the office works on, and reading them is a range
    of the (status, due_at) index (a few thousand entries), where counting the final ones too would
    scan every request ever made (100,000 entries cost ~80 ms on the shared machines). The final
    statuses stay reachable through the status filter.
    """
    now_naive = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    R = LetterRequest
    open_codes = [str(s) for s in OPEN_STATUSES]
    # one statement, two index ranges: the counts per status, then the overdue ones (a separate range
    # reads fewer entries than testing due_at on every row of the first)
    stmt = union_all(
        select(R.status, func.count()).where(R.status.in_(open_codes)).group_by(R.status),
        select(literal(_LATE), func.count()).where(R.status.in_(open_codes), R.due_at < now_naive),
    )
    counts = StatusCounts()
    for status, n in db.session.execute(stmt):
        if status == _LATE:
            counts.overdue = n
        else:
            counts.by_status[status] = n
    return counts


def status_choices() -> list[tuple[str, str]]:
    """(code, label) of every status, for the filter."""
    return [(str(s), str(REQUEST_STATUS_LABELS[s])) for s in RequestStatus]


def service_choices() -> list[tuple[str, str]]:
    """(code, name) of every service, for the filter."""
    return [(code, name) for code, name in db.session.execute(
        select(Service.code, Service.name).order_by(Service.sort_order, Service.name))]
