"""Front-office staff: account verification, reset codes, the population register."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2_fragments.flask import render_block

from sempelmas.domain import digits as digit_rules
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.residents import Resident
from sempelmas.services.accountability import audit
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import render as letter_render
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.services.people import account_verification, password_resets, residents
from sempelmas.services.requests import declared_data, lifecycle, promise, questions, queue, review
from sempelmas.web import account_review
from sempelmas.web.access import role_required
from sempelmas.web.forms import EmptyForm, add_error
from sempelmas.web.htmx import is_htmx, render
from sempelmas.web.i18n import current_lang
from sempelmas.web.letter_http import letter_response
from sempelmas.web.lookups import get_or_404, request_or_404
from sempelmas.web.staff.forms import ActionForm, FixForm, KKChangeForm, NoteForm, ReasonForm

bp = Blueprint("staff", __name__)
STAFF = (Role.STAFF, Role.ADMIN)
PAGE_SIZE = 25


@bp.get("/")
@role_required(Role.STAFF)
def home():
    return render("staff/home.html", pending=len(account_verification.pending_accounts(current_user)),
                  counts=queue.status_counts())


@bp.get("/akun")
@role_required(*STAFF)
def accounts_pending():
    return account_review.pending_page("staff", scope=None)


@bp.get("/akun/<int:user_id>")
@role_required(*STAFF)
def account(user_id: int):
    return account_review.review_page(user_id, "staff")


@bp.get("/akun/<int:user_id>/ktp")
@role_required(*STAFF)
def account_ktp(user_id: int):
    return account_review.ktp_photo(user_id)


@bp.post("/akun/<int:user_id>/verifikasi")
@role_required(*STAFF)
def account_verify(user_id: int):
    return account_review.verify(user_id, "staff")


@bp.post("/akun/<int:user_id>/tolak")
@role_required(*STAFF)
def account_reject(user_id: int):
    return account_review.reject(user_id, "staff")


@bp.get("/penduduk")
@role_required(*STAFF)
def residents_search():
    q = request.args.get("q", "").strip()
    page = digit_rules.query_int(request.args, "page", 1)
    rows, total = residents.search(q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if q:
        audit.record("register.search", object_type="residents", query=q, results=total)
        db.session.commit()
    return render("staff/residents.html", block="results", q=q, rows=rows, total=total, page=page,
                  pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


def _resident_or_404(resident_id: int) -> Resident:
    return get_or_404(Resident, resident_id)


@bp.route("/penduduk/<int:resident_id>", methods=["GET", "POST"])
@role_required(*STAFF)
def resident_detail(resident_id: int):
    resident = _resident_or_404(resident_id)
    form = KKChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            residents.change_kk(resident, form.kk_number.data, actor=current_user)
        except residents.ResidentError as e:
            db.session.rollback()
            add_error(form, "kk_number", str(e))
            status = 422
        else:
            db.session.commit()
            flash(_("Nomor KK sudah diganti; nomor lama tersimpan di riwayat."), "success")
            return redirect(url_for("staff.resident_detail", resident_id=resident.id), code=303)
    elif form.errors:
        status = 422
    audit.record("register.view", resident)
    db.session.commit()
    return render(
        "staff/resident.html", status=status, resident=resident,
        household=residents.household(resident.kk_number), history=residents.kk_history(resident),
        account=residents.account_for(resident), form=form, reset_form=EmptyForm(),
    )


@bp.post("/akun/<int:user_id>/kode-pemulihan")
@role_required(*STAFF)
def reset_code(user_id: int):
    user = get_or_404(User, user_id, allowed=lambda user: user.is_resident)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    code = password_resets.issue_reset_code(current_user, user)
    db.session.commit()
    return render("staff/reset_code.html", account=user, code=code)


# ------------------------------------------------------------------ the request queue and review


def _with_counts(body: str, status: int = 200, counts: queue.StatusCounts | None = None):
    """An htmx fragment plus the counts bar as an out-of-band swap (the counts change with every action)."""
    counts = counts or queue.status_counts(fresh=request.method == "POST")
    body += render_template("staff/_counts.html", counts=counts, oob=True)
    resp = make_response(body, status)
    resp.vary.add("HX-Request")
    return resp


@bp.get("/permohonan")
@role_required(Role.STAFF)
def queue_list():
    filters = queue.QueueFilters.from_args(request.args)
    page = queue.queue_page(filters)
    counts = queue.status_counts()
    unread = questions.office_unread_by_request([row.id for row in page.rows])
    if is_htmx():
        return _with_counts(render_block("staff/queue.html", "results", page=page, f=filters, unread=unread),
                            counts=counts)
    return render("staff/queue.html", page=page, f=filters, counts=counts, services=queue.service_choices(),
                  statuses=queue.status_choices(), page_sizes=queue.PAGE_SIZES, unread=unread,
                  unread_total=questions.office_unread_total())


def _forms(letter_request, **given) -> dict:
    """The review screen's forms: the one just posted (with its errors) and fresh ones at the current version."""
    version = {"version": letter_request.version}
    forms = {}
    for step, (action, form_class) in ACTIONS.items():
        name = FORM_NAMES[action]
        forms[name] = given.get(name) or form_class(formdata=None, data=version, prefix=step)
    fix = forms["fix_form"]
    fix.fields.choices, fix.files.choices = review.fix_choices(letter_request, current_lang())
    return forms


def _review(letter_request, *, status: int = 200, message: str | None = None, message_kind: str = "error",
            declared_errors: dict | None = None, declared_posted: dict | None = None, **forms):
    clock = queue.Clock.load()
    context = {
        "declared": declared_data.of_request(letter_request), "declared_questions": declared_data.by_field(),
        "declared_errors": declared_errors or {}, "declared_posted": declared_posted or {},
        "declared_shown": declared_data.shown, "may_check_declared": declared_data.may_check(letter_request),
        "r": letter_request, "snap": letter_request.service_snapshot,
        "answers": review.answers(letter_request), "requirements": review.requirements(letter_request),
        "warnings": review.nik_warnings(letter_request), "household": review.household(letter_request),
        "actions": lifecycle.allowed_actions(letter_request, current_user),
        "overdue": not lifecycle.is_final(letter_request.status) and clock.is_overdue(letter_request.due_at),
        "time_left": "" if lifecycle.is_final(letter_request.status) else clock.time_left(letter_request.due_at),
        "due_text": promise.staff_due_text(letter_request),
        "message": message, "message_kind": message_kind, "action_labels": lifecycle.ACTION_LABELS,
        "status_label": lifecycle.status_label, "letters": letters.of_request(letter_request.id),
        "letter_labels": letters.LETTER_STATUS_LABELS,
        "questions": questions.summary(letter_request, questions.MessageSide.STAFF),
        **_forms(letter_request, **forms),
    }
    if is_htmx():
        return _with_counts(render_block("staff/request.html", "review", **context), status)
    counts = queue.status_counts(fresh=request.method == "POST")
    return render("staff/request.html", status=status, counts=counts, **context)


@bp.get("/permohonan/<tracking_number>")
@role_required(Role.STAFF)
def request_review(tracking_number: str):
    letter_request = request_or_404(tracking_number)
    resp = _review(letter_request)
    if not is_htmx():
        # recorded after the page is rendered: the commit expires what the page read (audit.record_view)
        audit.record_view("request.view", letter_request, tracking_number=letter_request.tracking_number)
        db.session.commit()
    return resp


#: URL segment -> (lifecycle action or "note", form class, success message)
ACTIONS = {
    "tangani": ("claim", ActionForm),
    "perbaikan": ("ask_fix", FixForm),
    "tolak": ("reject", ReasonForm),
    "teruskan": ("forward_to_signing", ActionForm),
    "catatan": ("note", NoteForm),
}
DONE_MESSAGES = {
    "claim": _l("Permohonan ini sekarang Anda tangani."),
    "ask_fix": _l("Permohonan dikembalikan ke warga untuk diperbaiki."),
    "reject": _l("Permohonan ditolak; warga diberi tahu alasannya."),
    "forward_to_signing": _l("Permohonan diteruskan ke penandatangan."),
    "note": _l("Catatan internal disimpan."),
}
FORM_NAMES = {"claim": "claim_form", "ask_fix": "fix_form", "reject": "reject_form",
              "forward_to_signing": "forward_form", "note": "note_form"}


@bp.post("/permohonan/<tracking_number>/<any(tangani, perbaikan, tolak, teruskan, catatan):step>")
@role_required(Role.STAFF)
def request_action(tracking_number: str, step: str):
    letter_request = request_or_404(tracking_number)
    action, form_class = ACTIONS[step]
    form = form_class(prefix=step)
    if isinstance(form, FixForm):
        form.fields.choices, form.files.choices = review.fix_choices(letter_request, current_lang())
    forms = {FORM_NAMES[action]: form}
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _review(letter_request, status=422, message=_("Periksa kembali isian yang ditandai."), **forms)
    try:
        _perform(letter_request, action, form)
    except lifecycle.RequestError as e:
        return _refused(tracking_number, e, form, forms)
    db.session.commit()
    done = str(DONE_MESSAGES[action])
    if is_htmx():
        resp = _review(letter_request, message=done, message_kind="success")
        resp.headers["HX-Trigger"] = "notifications-changed"
        return resp
    flash(done, "success")
    return redirect(url_for("staff.request_review", tracking_number=letter_request.tracking_number), code=303)


def _perform(letter_request, action: str, form) -> None:
    """The service call for a staff action, with what its form says."""
    if action == "note":
        review.add_note(letter_request, current_user, form.text.data)
    elif action == "ask_fix":
        review.ask_fix(letter_request, current_user, reason=form.reason.data, fields=form.fields.data,
                       files=form.files.data, expected_version=form.version.data)
    else:
        reason = form.reason.data if hasattr(form, "reason") else None
        review.act(letter_request, action, current_user, reason=reason, expected_version=form.version.data)


def _refused(tracking_number: str, e: lifecycle.RequestError, form, forms: dict):
    """The review screen again, fresh from the database, saying why: 409 someone changed it first (fresh forms) or
    its status no longer allows it, 403 not this user's to do, 422 an input refused (on its field)."""
    db.session.rollback()
    fresh = request_or_404(tracking_number)
    if isinstance(e, lifecycle.ConcurrentUpdateError):
        return _review(fresh, status=409, message=e.message)
    if isinstance(e, review.ReviewError):
        add_error(form, e.field, e.message)
        status = 422
    elif isinstance(e, lifecycle.NotPermittedError):
        status = 403
    elif hasattr(form, "reason") and not (form.reason.data or "").strip():  # a blank reason (TransitionError)
        add_error(form, "reason", e.message)
        status = 422
    else:
        status = 409
    return _review(fresh, status=status, message=e.message, **forms)


@bp.post("/permohonan/<tracking_number>/data-pemohon")
@role_required(Role.STAFF)
def request_declared(tracking_number: str):
    """Staff confirm or correct the data the applicant gave (and may copy it into the empty register fields)."""
    letter_request = request_or_404(tracking_number)
    values = declared_data.posted(request.form, declared_data.every_question())
    try:
        declared_data.confirm(letter_request, current_user, values, update_register=bool(request.form.get("register")),
                              expected_version=request.form.get("version", type=int))
    except lifecycle.RequestError as e:
        db.session.rollback()
        errors = getattr(e, "errors", None)
        return _review(request_or_404(tracking_number), status=422 if errors else 409, message=e.message,
                       declared_errors=errors, declared_posted=values)
    db.session.commit()
    if is_htmx():
        return _review(letter_request, message=_("Data dari pemohon sudah diperiksa."), message_kind="success")
    flash(_("Data dari pemohon sudah diperiksa."), "success")
    return redirect(url_for("staff.request_review", tracking_number=letter_request.tracking_number), code=303)


@bp.get("/permohonan/<tracking_number>/pratinjau")
@role_required(Role.STAFF)
def request_letter_preview(tracking_number: str):
    """The letter as it will be signed, marked PRATINJAU, without number or QR: PDF, or HTML with ?format=html."""
    letter_request = request_or_404(tracking_number)
    as_html = request.args.get("format") == "html"
    try:
        if as_html:
            body = letter_render.render_html(letter_request, number=None, signed_at=None, official=None,
                                             verify_url=None)
        else:
            body = letter_render.render_pdf(letter_request, number=None, signed_at=None, official=None,
                                            verify_url=None)
    except LetterRenderError as e:
        db.session.rollback()
        flash(_("Pratinjau surat tidak dapat dibuat: %(error)s", error=e.message), "error")
        return redirect(url_for("staff.request_review", tracking_number=tracking_number), code=303)
    audit.record("letter.preview", letter_request, tracking_number=tracking_number,
                 format="html" if as_html else "pdf")
    db.session.commit()
    return letter_response(body, filename=f"pratinjau-{tracking_number}.pdf")
