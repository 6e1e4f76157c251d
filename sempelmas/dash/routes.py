"""The dashboard (/petugas/dasbor), the reports and their exports (/petugas/laporan), and the public
transparency page (/transparansi). Numbers come from services.service_stats, files from services.report_export."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _

from sempelmas.access import role_required
from sempelmas.extensions import db
from sempelmas.htmx import render
from sempelmas.models.accounts import Role
from sempelmas.services import catalogue, report_export, service_stats
from sempelmas.services.service_stats import Period

bp = Blueprint("dash", __name__)
#: front office, signing officials (the lurah) and admins
DASH_ROLES = (Role.STAFF, Role.SIGNER, Role.ADMIN)


def _period():
    """The asked period; a bad one falls back to this month and the page shows why (no flash: the htmx
    fragment carries the message itself)."""
    return service_stats.parse_period(request.args)


@bp.get("/petugas/dasbor")
@role_required(*DASH_ROLES)
def dashboard():
    period, error = _period()
    stats = service_stats.period_stats(period)
    now = datetime.now(UTC).replace(tzinfo=None)
    return render("dash/dashboard.html", block="stats", period=period, period_error=error, stats=stats,
                  work=service_stats.workload(now=now, tz=period.tz), overdue=service_stats.overdue_list(now=now),
                  open_labels=service_stats.open_status_labels(), presets=service_stats.PRESETS,
                  duration=service_stats.duration_text, percent=service_stats.percent_text)


@bp.get("/petugas/laporan")
@role_required(*DASH_ROLES)
def reports():
    period, error = _period()
    recap = report_export.recap(period)
    return render("dash/reports.html", block="preview", period=period, period_error=error,
                  presets=service_stats.PRESETS, recap=recap, recap_rows=list(report_export.preview_rows(recap)),
                  formats=report_export.FORMATS, pdf_max=report_export.PDF_MAX_ROWS)


@bp.get("/petugas/laporan/<kind>.<fmt>")
@role_required(*DASH_ROLES)
def export(kind: str, fmt: str):
    period, error = service_stats.parse_period(request.args)
    back = url_for("dash.reports", **period.query_args())
    if error:
        flash(error, "error")
        return redirect(back, code=303)
    try:
        data, mime, filename, _rows = report_export.export(kind, fmt, period)
    except report_export.ReportError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back, code=303)
    db.session.commit()
    resp = make_response(data)
    resp.headers["Content-Type"] = mime
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# ----------------------------------------------------------------------------------- public

_PUBLIC_CACHE: dict[tuple, tuple[float, dict]] = {}


def _public_numbers(today: date, tz: str) -> dict:
    """This month's and this year's received / completed / on-time share, cached in the process for
    TRANSPARENCY_CACHE_SECONDS (the public page may be opened often; the numbers move slowly)."""
    key = (id(current_app._get_current_object()), today, tz)
    ttl = current_app.config.get("TRANSPARENCY_CACHE_SECONDS", 300)
    hit = _PUBLIC_CACHE.get(key) if ttl > 0 else None
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    month = service_stats.preset_period("bulan-ini", today, tz)
    year = Period(date(today.year, 1, 1), today, tz, "tahun-ini")
    out = {}
    for name, period in (("month", month), ("year", year)):
        s = service_stats.period_stats(period, services=False, areas=False)
        out[name] = {"label": period.label, "received": s.received, "completed": s.total.completed,
                     "on_time": s.total.on_time_share, "median": s.total.median}
    out["year"]["label"] = str(_("Tahun %(y)d (sampai hari ini)", y=today.year))
    if ttl > 0:
        if len(_PUBLIC_CACHE) > 16:
            _PUBLIC_CACHE.clear()
        _PUBLIC_CACHE[key] = (now + ttl, out)
    return out


@bp.get("/transparansi")
def transparency():
    tz = service_stats.tz_name()
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    resp = render("dash/transparency.html", numbers=_public_numbers(today, tz),
                  services=catalogue.enabled_services(), percent=service_stats.percent_text,
                  duration=service_stats.duration_text, updated=today)
    # per visitor (the page carries the session's CSRF token for the language switch); numbers cached above
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp
