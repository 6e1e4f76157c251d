"""Requests for the API: the dashboard's numbers for a period, and one request's status by tracking number.

The numbers are ``service_stats.period_stats`` itself (the dashboard's and the monthly recap's one
computation, with its definitions: received by submission, completed/rejected/cancelled by closing, on time
against the promised time), only laid out as data. The status of one request carries no personal data: the
status, the service and the dates.
"""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.catalogue import Service, ServiceVersion
from sempelmas.models.requests import REQUEST_STATUS_LABELS, LetterRequest, RequestStatus
from sempelmas.services.accountability import service_stats
from sempelmas.services.accountability.periods import (
    DEFAULT_PRESET,
    MAX_PERIOD_DAYS,
    Period,
    month_period,
    preset_period,
    tz_name,
)
from sempelmas.services.integration.letters import iso_utc
from sempelmas.services.kelurahan.profile import local_today
from sempelmas.services.requests import lifecycle


def _completion(c: service_stats.Completion) -> dict:
    return {"completed": c.completed, "with_due_date": c.with_due, "on_time": c.on_time,
            "on_time_share": c.on_time_share, "median_seconds": c.median, "p90_seconds": c.p90}


def stats(period: Period) -> dict:
    """Counts and SLA figures of ``period``: in total, per month, per service and per RT/RW."""
    s = service_stats.period_stats(period)
    codes = dict(db.session.execute(select(Service.id, Service.code)).all())
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat(), "time_zone": period.tz},
        "received": s.received,
        "rejected": s.rejected,
        "cancelled": s.cancelled,
        "completion": _completion(s.total),
        "by_status": [{"status": code, "label": label, "count": n} for code, label, n in s.by_status],
        "months": [{"month": m.month.strftime("%Y-%m"), "received": m.received, "completion": _completion(m.done)}
                   for m in s.months],
        "services": [{"code": codes.get(r.service_id), "name": r.name, "received": r.received,
                      "rejected": r.rejected, "cancelled": r.cancelled, "completion": _completion(r.done)}
                     for r in s.services],
        "areas": [{"rt": rt, "rw": rw, "received": n} for rt, rw, n in s.areas],
    }


def status_of(tracking_number: str) -> dict | None:
    """One request's status (no personal data); None for an unknown tracking number."""
    if not tracking_number or len(tracking_number) > 24:
        return None
    R = LetterRequest
    row = db.session.execute(
        select(R.tracking_number, R.status, R.submitted_at, R.due_at, R.closed_at, R.updated_at,
               Service.code, Service.name)
        .join(ServiceVersion, ServiceVersion.id == R.service_version_id)
        .join(Service, Service.id == ServiceVersion.service_id)
        .where(R.tracking_number == tracking_number)).first()
    if row is None:
        return None
    status = RequestStatus(row.status)
    return {"tracking_number": row.tracking_number, "status": status.value,
            "status_label": str(REQUEST_STATUS_LABELS[status]), "final": lifecycle.is_final(status),
            "service": {"code": row.code, "name": row.name},
            "submitted_at": iso_utc(row.submitted_at), "due_at": iso_utc(row.due_at),
            "closed_at": iso_utc(row.closed_at), "updated_at": iso_utc(row.updated_at)}


class PeriodError(ValueError):
    """Unusable dates; the message is for the caller (Indonesian)."""


def period_for(month: str | None, date_from: date | None, date_to: date | None) -> Period:
    """The asked period: one month (YYYY-MM), a range of local dates (both given), or this month."""
    tz = tz_name()
    if month:
        try:
            year, mon = (int(p) for p in month.split("-"))
            return month_period(year, mon, tz)
        except ValueError as exc:
            raise PeriodError(_("Bulan tidak dikenali: pakai format TTTT-BB.")) from exc
    if date_from or date_to:
        if not (date_from and date_to):
            raise PeriodError(_("Isi date_from dan date_to bersama-sama."))
        if date_to < date_from:
            raise PeriodError(_("Tanggal date_to tidak boleh sebelum date_from."))
        if (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
            raise PeriodError(_("Periode paling panjang 3 tahun."))
        return Period(date_from, date_to, tz, "kustom")
    return preset_period(DEFAULT_PRESET, local_today(), tz)
