"""The satisfaction survey (IKM): the applicant's form on a finished request, and the report for staff,
signing officials and admins with its XLSX and PDF exports."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.domain import ikm
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.accountability import survey
from sempelmas.web.access import role_required
from sempelmas.web.acting import acting_resident
from sempelmas.web.htmx import render
from sempelmas.web.lookups import request_or_404
from sempelmas.web.private_files import send_private

bp = Blueprint("survey", __name__)
#: who reads the IKM report: the front office, the signing officials (the lurah) and admins
REPORT_ROLES = (Role.STAFF, Role.SIGNER, Role.ADMIN)


@bp.record_once
def _globals(state) -> None:
    env = state.app.jinja_env
    # the transparency page (public blueprint) includes templates/survey/_public_latest.html
    env.globals["latest_ikm_result"] = survey.latest_public_result
    # the resident's request page shows the "Nilai layanan kami" card while this is true
    env.globals["survey_awaits_answer"] = lambda req: survey.awaits_answer(acting_resident(), req)
    env.filters["ikm_number"] = _number
    env.filters["survey_day"] = survey.local_day_label


def _number(value, places: int = 2) -> str:
    """82,64 in Indonesian, 82.64 in English."""
    return format_decimal(value, format="0." + "0" * places)


# ----------------------------------------------------------------------------- the resident's form


def _answerable_request(tracking_number: str):
    """The request if the signed-in resident (or the resident a pendamping acts for) applied for it; else 404."""
    resident_user = acting_resident()
    found = request_or_404(tracking_number, allowed=lambda found: survey.may_answer(resident_user, found))
    return found, resident_user


def _form_page(req, *, answers: dict, comment: str, errors: dict, status: int = 200):
    return render("survey/form.html", status=status, req=req, elements=ikm.ELEMENTS, answers=answers,
                  comment=comment, errors=errors, comment_max=survey.COMMENT_MAX)


@bp.route("/warga/permohonan/<tracking_number>/survei", methods=["GET", "POST"])
@role_required(Role.RESIDENT, Role.ASSISTANT)
def answer(tracking_number: str):
    found, resident_user = _answerable_request(tracking_number)
    back = redirect(url_for("resident.request_detail", tracking_number=found.tracking_number), code=303)
    if not survey.is_open(found):
        flash(_("Survei dapat diisi setelah permohonan selesai."), "error")
        return back
    if survey.has_response(found):
        flash(survey.already_answered_message(), "success")
        return back
    if request.method == "GET":
        return _form_page(found, answers={}, comment="", errors={})
    return _answer_posted(found, resident_user, back)


def _answer_posted(found, resident_user, back):
    """The answers as posted: saved (thanks, back to the request), or the form again with what is wrong."""
    answers, comment, errors = survey.parse_form(request.form)
    on_behalf_of = resident_user if resident_user.id != current_user.id else None  # a pendamping answers
    try:
        if errors:
            raise survey.AnswersError(errors)
        survey.submit(found, answers, comment, actor=current_user, on_behalf_of=on_behalf_of)
    except survey.AnswersError as e:
        db.session.rollback()
        return _form_page(found, answers=answers, comment=comment, errors=e.errors, status=422)
    except survey.SurveyError as e:  # AlreadyAnswered is no mistake: said as a success
        db.session.rollback()
        flash(e.message, "success" if isinstance(e, survey.AlreadyAnswered) else "error")
        return back
    db.session.commit()
    flash(_("Terima kasih atas penilaian Anda. Masukan Anda membantu kami memperbaiki layanan."), "success")
    return back


# ----------------------------------------------------------------------------- the report


def _parse_date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _presets(today: date) -> list[tuple[str, date, date]]:
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    half_start = date(today.year, 1 if today.month <= 6 else 7, 1)
    return [
        (_("Bulan ini"), first, today),
        (_("Bulan lalu"), last_month_end.replace(day=1), last_month_end),
        (_("Triwulan ini"), quarter_start, today),
        (_("Semester ini"), half_start, today),
        (_("Tahun ini"), date(today.year, 1, 1), today),
        (_("Tahun lalu"), date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    ]


def _period() -> tuple[survey.Period, dict, str | None]:
    """The period asked for (dari/sampai, local dates); default: this year so far. Returns an error message
    (and the default period) for a date that cannot be read or an end before the start."""
    today = survey.local_today()
    default = survey.Period(date(today.year, 1, 1), today)
    raw = {"dari": request.args.get("dari", ""), "sampai": request.args.get("sampai", "")}
    if not raw["dari"] and not raw["sampai"]:
        return default, {"dari": default.start.isoformat(), "sampai": default.end.isoformat()}, None
    start, end = _parse_date(raw["dari"]), _parse_date(raw["sampai"])
    if start is None or end is None:
        return default, raw, _("Tanggal periode tidak valid: isi tanggal awal dan akhir (HH-BB-TTTT).")
    if end < start:
        return default, raw, _("Tanggal akhir periode tidak boleh sebelum tanggal awal.")
    if (end - start).days > 3660:
        return default, raw, _("Periode paling panjang 10 tahun.")
    return survey.Period(start, end), raw, None


@bp.get("/petugas/ikm")
@role_required(*REPORT_ROLES)
def report():
    period, raw, error = _period()
    rep = survey.report(period)
    return render("survey/report.html", block="results", status=422 if error else 200, rep=rep, raw=raw,
                  error=error, presets=_presets(survey.local_today()), bands=ikm.bands(),
                  args={"dari": period.start.isoformat(), "sampai": period.end.isoformat()})


@bp.get("/petugas/ikm/unduh.<fmt>")
@role_required(*REPORT_ROLES)
def export(fmt: str):
    if fmt not in {"xlsx", "pdf"}:
        abort(404)
    period, _raw, error = _period()
    if error:
        flash(error, "error")
        return redirect(url_for("survey.report"), code=303)
    rep = survey.report(period)
    name = f"ikm-{period.start.isoformat()}-{period.end.isoformat()}.{fmt}"
    if fmt == "xlsx":
        body = survey.export_xlsx(rep, actor=current_user)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = survey.export_pdf(rep, actor=current_user)
        mimetype = "application/pdf"
    db.session.commit()  # the audit entry of the export
    return send_private(body, mimetype=mimetype, filename=name, attachment=True)
