"""The dashboard (/petugas/dasbor), the reports and their exports (/petugas/laporan), and the public
transparency page (/transparansi). Numbers come from services.accountability.service_stats, files from
services.accountability.report_export."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.accountability import periods, report_export, service_stats
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.requests import catalogue
from sempelmas.web.access import role_required
from sempelmas.web.htmx import render
from sempelmas.web.private_files import send_private

bp = Blueprint("dash", __name__)
#: front office, signing officials (the lurah) and admins
DASH_ROLES = (Role.STAFF, Role.SIGNER, Role.ADMIN)


def _period():
    """The asked period; a bad one falls back to this month and the page shows why (no flash: the htmx
    fragment carries the message itself)."""
    return periods.parse_period(request.args)


@bp.get("/petugas/dasbor")
@role_required(*DASH_ROLES)
def dashboard():
    period, error = _period()
    stats = service_stats.period_stats(period)
    now = datetime.now(UTC).replace(tzinfo=None)
    return render("dash/dashboard.html", block="stats", period=period, period_error=error, stats=stats,
                  work=service_stats.workload(now=now, tz=period.tz), overdue=service_stats.overdue_list(now=now),
                  open_labels=service_stats.open_status_labels(), presets=periods.PRESETS,
                  duration=service_stats.duration_text, percent=service_stats.percent_text)


@bp.get("/petugas/laporan")
@role_required(*DASH_ROLES)
def reports():
    period, error = _period()
    recap = report_export.recap(period)
    return render("dash/reports.html", block="preview", period=period, period_error=error,
                  presets=periods.PRESETS, recap=recap, recap_rows=list(report_export.preview_rows(recap)),
                  formats=report_export.FORMATS, pdf_max=report_export.PDF_MAX_ROWS)


@bp.get("/petugas/laporan/<kind>.<fmt>")
@role_required(*DASH_ROLES)
def export(kind: str, fmt: str):
    period, error = periods.parse_period(request.args)
    back = url_for("dash.reports", **period.query_args())
    if error:
        flash(error, "error")
        return redirect(back, code=303)
    try:
        data, mime, filename, _rows = report_export.export(kind, fmt, period, actor=current_user)
    except report_export.ReportError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back, code=303)
    db.session.commit()
    return send_private(data, mimetype=mime, filename=filename, attachment=True)


# ----------------------------------------------------------------------------------- public

@bp.get("/transparansi")
def transparency():
    today = profile_service.local_today()
    resp = render("dash/transparency.html", numbers=service_stats.public_numbers(today),
                  services=catalogue.enabled_services(with_requirements=True), percent=service_stats.percent_text,
                  duration=service_stats.duration_text, updated=today)
    # per visitor (the page carries the session's CSRF token for the language switch); numbers cached above
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp
