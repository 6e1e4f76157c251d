"""The satisfaction survey (IKM, PermenPANRB 14/2017): invitation, answers, the period report and its exports.

One response per finished request, given by its applicant (or the pendamping acting for them). The response
row keeps no user: reports show counts, averages and comments, never who answered.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import gettext as _g
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from sempelmas.domain import ikm
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.requests import LetterRequest, RequestEvent
from sempelmas.models.survey import ANSWER_COLUMNS, SurveyResponse
from sempelmas.services.accountability import audit
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.operations import notify
from sempelmas.services.operations.notice_text import msg
from sempelmas.services.requests import lifecycle

#: where the resident answers (a path: the notify worker has no request context)
SURVEY_URL = "/warga/permohonan/{}/survei"
COMMENT_MAX = 1000
#: comments listed on the report page and in its PDF (newest first); the XLSX holds all of them
COMMENTS_SHOWN = 200


class SurveyError(Exception):
    """A refused answer; ``message`` is shown to the resident as is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AlreadyAnswered(SurveyError):
    """The request already has its response (a second submit, a double tap, another tab)."""


class AnswersError(SurveyError):
    """Missing or invalid answers; ``errors`` maps an element code (or "comment") to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(str(_("Survei belum terkirim: lengkapi jawaban yang ditandai.")))
        self.errors = errors


# ----------------------------------------------------------------------------- invitation and answers


def request_moved(request: LetterRequest, *, event: RequestEvent, **_) -> None:
    """Receiver of ``lifecycle.request_moved``: the move to "selesai" (the letter is out) invites the applicant
    side to rate the service (IKM)."""
    if lifecycle.is_done(event.to_status):
        invite(request)


def invite(request: LetterRequest) -> None:
    """Invite the applicant side of a request that has just become done (bell + e-mail/WhatsApp with the link).

    Adds rows and flushes, never commits or sends.
    """
    if has_response(request):
        return
    _ = msg  # a key plus values, rendered in each recipient's language (services/operations/notice_text.py)
    message = _("Permohonan %(tn)s sudah selesai. Bantu kami memperbaiki layanan: nilai layanan kami "
                "(9 pertanyaan singkat, tanpa nama).", tn=request.tracking_number)
    subject = _("Nilai layanan kami: permohonan %(tn)s", tn=request.tracking_number)
    notify.tell_applicant_side(request, kind="survey.invite", message=message,
                               url=SURVEY_URL.format(request.tracking_number), subject=subject)


def already_answered_message() -> str:
    return str(_("Terima kasih, penilaian untuk permohonan ini sudah kami terima sebelumnya. Penilaian hanya "
                 "dapat dikirim satu kali."))


def is_open(request: LetterRequest) -> bool:
    """A request can be rated once it is done (its letter issued)."""
    return lifecycle.is_done(request.status)


def may_answer(resident_user: User | None, request: LetterRequest) -> bool:
    """Only the applicant (the signed-in resident, or the one a pendamping acts for) rates a request; the
    family who may follow it do not."""
    return resident_user is not None and request.applicant_user_id == resident_user.id


def has_response(request: LetterRequest) -> bool:
    return bool(db.session.scalar(select(exists().where(SurveyResponse.request_id == request.id))))


def awaits_answer(resident_user: User | None, request: LetterRequest) -> bool:
    """Whether the request page shows the "Nilai layanan kami" card."""
    return is_open(request) and may_answer(resident_user, request) and not has_response(request)


def parse_form(form) -> tuple[dict[str, int], str, dict[str, str]]:
    """The posted answers (element code → 1–4), the comment as typed, and the errors of missing or invalid
    answers and of a comment too long (keyed by element code, or "comment")."""
    answers: dict[str, int] = {}
    errors: dict[str, str] = {}
    for element in ikm.ELEMENTS:
        raw = (form.get(element.code) or "").strip()
        if raw in {str(a) for a in ikm.ANSWERS}:
            answers[element.code] = int(raw)
        elif raw:
            errors[element.code] = str(_("Jawaban tidak valid: pilih salah satu dari empat pilihan."))
        else:
            errors[element.code] = str(_("Pilih satu jawaban untuk unsur %(name)s.", name=_g(element.name)))
    comment = form.get("saran") or ""
    if len(comment.strip()) > COMMENT_MAX:
        errors["comment"] = _comment_error(comment.strip())
    return answers, comment, errors


def _comment_error(comment: str) -> str:
    return str(_("Saran paling panjang %(n)d karakter (sekarang %(m)d).", n=COMMENT_MAX, m=len(comment)))


def submit(request: LetterRequest, answers: dict[str, int], comment: str | None, *, actor: User,
           on_behalf_of: User | None = None) -> SurveyResponse:
    """Store the response to ``request``.

    Refuses (SurveyError) a request that is not done, (AlreadyAnswered) a second response, also when two
    submissions race (the unique request_id decides), and (AnswersError) anything but nine answers 1–4 or
    a comment over 1,000 characters. Audited without the answers. Flushes, never commits.
    """
    if not is_open(request):
        raise SurveyError(str(_("Survei dapat diisi setelah permohonan selesai.")))
    if has_response(request):
        raise AlreadyAnswered(already_answered_message())
    errors = {c: str(_("Pilih satu jawaban.")) for c in ikm.CODES if answers.get(c) not in ikm.ANSWERS}
    comment = (comment or "").strip() or None
    if comment and len(comment) > COMMENT_MAX:
        errors["comment"] = _comment_error(comment)
    if errors:
        raise AnswersError(errors)
    response = SurveyResponse(request_id=request.id, comment=comment, **{c: answers[c] for c in ikm.CODES})
    try:
        # a SAVEPOINT inside the request's transaction, on SQLite too (sempelmas/__init__.py opens it first)
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError as exc:
        raise AlreadyAnswered(already_answered_message()) from exc
    audit.record("survey.answer", request, actor=actor, on_behalf_of=on_behalf_of,
                 tracking_number=request.tracking_number)
    return response


# ----------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Period:
    """Local calendar days, both ends included."""

    start: date
    end: date

    def utc_bounds(self) -> tuple[datetime, datetime]:
        tz = ZoneInfo(profile_service.tz_name())
        lo = datetime.combine(self.start, time.min, tz).astimezone(UTC).replace(tzinfo=None)
        hi = datetime.combine(self.end + timedelta(days=1), time.min, tz).astimezone(UTC).replace(tzinfo=None)
        return lo, hi

    @property
    def label(self) -> str:
        from flask_babel import format_date

        if self.start == self.end:
            return format_date(self.start, "d MMMM yyyy")
        return f"{format_date(self.start, 'd MMMM yyyy')} – {format_date(self.end, 'd MMMM yyyy')}"


@dataclass(frozen=True)
class Comment:
    answered_at: datetime
    text: str


@dataclass(frozen=True)
class Report:
    period: Period
    #: None when nobody answered in the period
    result: ikm.IkmResult | None
    #: every comment of the period, oldest first (the XLSX has them all)
    comments: list[Comment]

    @property
    def recent_comments(self) -> list[Comment]:
        """The newest COMMENTS_SHOWN comments, newest first: what the page and the PDF list."""
        return self.comments[::-1][:COMMENTS_SHOWN]


def _in_period(period: Period):
    lo, hi = period.utc_bounds()
    return (SurveyResponse.answered_at >= lo) & (SurveyResponse.answered_at < hi)


def report(period: Period) -> Report:
    """Respondents, NRR per element, IKM, converted score, category and the comments of a period (anonymous)."""
    where = _in_period(period)
    result = period_result(period)
    comments = [Comment(at, text) for at, text in db.session.execute(
        select(SurveyResponse.answered_at, SurveyResponse.comment)
        .where(where, SurveyResponse.comment.is_not(None)).order_by(SurveyResponse.answered_at))]
    return Report(period, result, comments)


def period_result(period: Period) -> ikm.IkmResult | None:
    """The IKM of the responses sent in ``period``, or None when there is none."""
    # summed in the database: one row back however many answered (the answers are 1–4 by check constraint)
    sums = db.session.execute(select(func.count(SurveyResponse.id),
                                     *[func.coalesce(func.sum(getattr(SurveyResponse, c)), 0)
                                       for c in ANSWER_COLUMNS]).where(_in_period(period))).one()
    return ikm.from_totals(sums[0], [int(t) for t in sums[1:]])


def raw_answers(period: Period) -> list[tuple]:
    """(answered_at, u1…u9) of every response in the period, oldest first: the data sheet of the XLSX."""
    columns = [getattr(SurveyResponse, c) for c in ANSWER_COLUMNS]
    return [tuple(r) for r in db.session.execute(
        select(SurveyResponse.answered_at, *columns).where(_in_period(period)).order_by(SurveyResponse.answered_at))]


def local_today() -> date:
    return profile_service.local_today()


def latest_public_result() -> dict | None:
    """The IKM published on the transparency page: the current calendar year so far (profile time zone); in a
    year nobody has answered yet (January), the whole previous year. None when neither has a response.

    Returns {"period", "label", "respondents", "ikm", "converted", "category", "category_label"}.
    """
    today = local_today()
    for period, label in ((Period(date(today.year, 1, 1), today),
                           _("Tahun %(y)d (sampai %(d)s)", y=today.year, d=_date(today))),
                          (Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
                           _("Tahun %(y)d", y=today.year - 1))):
        found = period_result(period)
        if found is not None:
            return {"period": period, "label": label, "respondents": found.respondents, "ikm": found.ikm_shown,
                    "converted": found.converted, "category": found.category,
                    "category_label": _g(found.category_label)}
    return None


def local_day_label(moment: datetime) -> str:
    """A stored UTC time as the local day only ("3 Maret 2026"): the hour could tell who answered."""
    return _date(_local_naive(moment, ZoneInfo(profile_service.tz_name())).date())


def _date(day: date) -> str:
    from flask_babel import format_date

    return format_date(day, "d MMMM yyyy")


# ----------------------------------------------------------------------------- exports


def _profile_bits():
    from sempelmas.services.letters import kop as kop_surat

    profile = profile_service.profile_row()
    if profile is None:
        return None, None
    return kop_surat.kop(profile), kop_surat.logo_uri(profile)


def export_xlsx(rep: Report, *, actor: User) -> bytes:
    """The report as an XLSX workbook: "IKM" (per element and the summary), "Saran" (comments), "Data" (every
    response's answers by day, no identity). Written streaming (openpyxl write-only): a year of answers stays
    small in memory. Dates only, no time of day (the hour could tell who answered). Audited (report.export)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook(write_only=True)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    low_fill = PatternFill("solid", fgColor="FDE8E8")

    def cells(sheet, values, *, font=None, fill=None, formats: dict | None = None, align: dict | None = None):
        row = []
        for i, value in enumerate(values):
            cell = WriteOnlyCell(sheet, value=value)
            if font is not None:
                cell.font = font
            if fill is not None:
                cell.fill = fill
            if formats and i in formats:
                cell.number_format = formats[i]
            if align and i in align:
                cell.alignment = align[i]
            row.append(cell)
        sheet.append(row)

    kop, _logo = _profile_bits()
    ws = wb.create_sheet("IKM")
    for col, width in zip("ABCDEFGHI", (6, 7, 42, 13, 9, 15, 15, 7, 14), strict=True):
        ws.column_dimensions[col].width = width
    cells(ws, [_g("Indeks Kepuasan Masyarakat (IKM)")], font=Font(bold=True, size=14))
    if kop is not None:
        ws.append([kop.village.title() + ", " + kop.district.title()])
    cells(ws, [_g("Periode"), rep.period.start, rep.period.end], formats={1: "DD-MM-YYYY", 2: "DD-MM-YYYY"})
    result = rep.result
    ws.append([_g("Jumlah responden"), result.respondents if result else 0])
    ws.append([])
    cells(ws, [_g("No."), _g("Kode"), _g("Unsur pelayanan"), _g("Jumlah nilai"), _g("NRR"), _g("NRR tertimbang"),
               _g("Nilai konversi"), _g("Mutu"), _g("Terendah")], font=bold)
    if result is not None:
        for i, e in enumerate(result.elements, 1):
            cells(ws, [i, e.element.code.upper(), _g(e.element.name), e.total, float(e.nrr_shown),
                       float(e.weighted), float(e.converted), e.category, _g("ya") if e.lowest else ""],
                  fill=low_fill if e.lowest else None, formats={4: "0.00", 5: "0.0000", 6: "0.00"},
                  align={2: wrap})
        ws.append([])
        cells(ws, ["", "", _g("IKM (Σ NRR × 1/9)"), "", "", float(result.ikm_shown)], formats={5: "0.0000"})
        cells(ws, ["", "", _g("Nilai IKM konversi (IKM × 25)"), "", "", "", float(result.converted)],
              formats={6: "0.00"})
        cells(ws, ["", "", _g("Mutu pelayanan"), "", "", "", "", result.category, _g(result.category_label)],
              font=bold)
    else:
        ws.append([_g("Belum ada responden pada periode ini.")])

    tz = ZoneInfo(profile_service.tz_name())
    sheet = wb.create_sheet(_g("Saran"))
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 90
    cells(sheet, [_g("Tanggal"), _g("Saran dan masukan")], font=bold)
    for c in rep.comments:
        cells(sheet, [_local_naive(c.answered_at, tz).date(), c.text], formats={0: "DD-MM-YYYY"}, align={1: wrap})

    data = wb.create_sheet(_g("Data"))
    data.column_dimensions["A"].width = 14
    cells(data, [_g("Tanggal"), *[c.upper() for c in ikm.CODES]], font=bold)
    for at, *answers in raw_answers(rep.period):
        cells(data, [_local_naive(at, tz).date(), *answers], formats={0: "DD-MM-YYYY"})

    out = io.BytesIO()
    wb.save(out)
    _audit_export(rep, "xlsx", actor)
    return out.getvalue()


def _local_naive(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def export_pdf(rep: Report, *, actor: User) -> bytes:
    """The report as a printable PDF with the kop surat (the letters' kop and logo). Audited."""
    from sempelmas.services.letters import pdf as letter_pdf

    kop, logo = _profile_bits()
    html = render_template("survey/report_pdf.html", rep=rep, kop=kop, logo=logo, elements=ikm.ELEMENTS,
                           bands=ikm.bands(), font=letter_pdf.FONT_FAMILY,
                           printed_on=_date(local_today()))
    data = letter_pdf.html_to_pdf(html)
    _audit_export(rep, "pdf", actor)
    return data


def _audit_export(rep: Report, fmt: str, actor: User) -> None:
    audit.record("report.export", actor=actor, object_type="report", object_id="ikm", kind="ikm", format=fmt,
                 start=rep.period.start.isoformat(), end=rep.period.end.isoformat(),
                 respondents=rep.result.respondents if rep.result else 0)
