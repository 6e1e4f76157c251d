"""Residents' own pages, and pendamping acting for residents without a phone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from sempelmas.extensions import db
from sempelmas.models.accounts import ROLE_LABELS, Role, User
from sempelmas.models.residents import Resident
from sempelmas.services import access
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import KTP, stored_path
from sempelmas.services.letters import issued as letters
from sempelmas.services.people import account_registration, accounts
from sempelmas.services.people.registration_uploads import HeldPhotoError
from sempelmas.services.requests import (
    attachments,
    catalogue,
    catalogue_english,
    declared_data,
    lifecycle,
    progress,
    promise,
    questions,
    registered_ktp,
)
from sempelmas.services.requests import submission as requests_service
from sempelmas.services.requests.lifecycle import RequestError
from sempelmas.web import registration_photo
from sempelmas.web.access import role_required, verified_resident_required
from sempelmas.web.acting import acting_resident, start_acting, stop_acting
from sempelmas.web.choose_whom import choose_whom_page
from sempelmas.web.forms import EmptyForm, form_status, save_form
from sempelmas.web.htmx import render
from sempelmas.web.i18n import current_lang
from sempelmas.web.lookups import get_or_404, resident_request_or_404
from sempelmas.web.private_files import send_private_image
from sempelmas.web.registration_forms import AssistedRegisterForm
from sempelmas.web.resident import request_form

bp = Blueprint("resident", __name__)
@bp.get("/")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def home():
    resident_user = acting_resident()
    if resident_user is None:  # a pendamping not acting for anyone yet: choose whom
        return assisted()
    # until verification the account has no register entry: it sees what it typed, and no family
    return render("resident/home.html", account=resident_user, resident=resident_user.resident,
                  declared=resident_user.registration, family=access.family_members(resident_user),
                  acting=resident_user.id != current_user.id, stop_form=EmptyForm(),
                  moving=progress.for_home(resident_user), unread_questions=questions.resident_unread(resident_user))


@bp.get("/ktp")
@role_required(Role.RESIDENT)
def own_ktp():
    reg = current_user.registration
    return send_private_image(stored_path(KTP, reg.ktp_photo or "") if reg else None)


@bp.get("/pendamping")
@role_required(Role.ASSISTANT)
def assisted():
    return choose_whom_page()


@bp.route("/pendamping/baru", methods=["GET", "POST"])
@role_required(Role.ASSISTANT)
def assisted_new():
    form = AssistedRegisterForm()
    valid = form.validate_on_submit()
    if form.is_submitted() and registration_photo.keep_photo(form) and valid:
        # the photo's copy is kept only if the account is committed below: a refusal or a failure deletes it
        saved, user = save_form(form, lambda: account_registration.register_resident(
            form.registration_data(registration_photo.claim_photo(form)), assisted_by=current_user),
            (accounts.AccountError, HeldPhotoError))
        if saved:
            flash(_("Warga %(name)s sudah didaftarkan dan menunggu verifikasi.", name=user.full_name), "success")
            return redirect(url_for("resident.assisted"), code=303)
    status = form_status(form)
    return render("resident/assisted_new.html", form=form, status=status)


@bp.post("/pendamping/<int:user_id>/bertindak")
@role_required(Role.ASSISTANT)
def act_for(user_id: int):
    user = get_or_404(User, user_id, allowed=lambda user: user.assisted_by_id == current_user.id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    start_acting(user)
    audit.record("assist.start", user, on_behalf_of=user)
    db.session.commit()
    flash(_("Anda sekarang bertindak untuk %(name)s.", name=user.full_name), "info")
    return redirect(url_for("resident.home"), code=303)


@bp.post("/pendamping/selesai")
@role_required(Role.ASSISTANT)
def act_stop():
    if not EmptyForm().validate_on_submit():
        abort(400)
    user_id = stop_acting()
    if user_id:
        audit.record("assist.stop", object_type="users", object_id=user_id, on_behalf_of=user_id)
        db.session.commit()
    return redirect(url_for("resident.assisted"), code=303)


# ------------------------------------------------------------------ letter requests

def _acting_pair():
    """(the resident the request is for, the pendamping acting for them or None)."""
    resident_user = acting_resident()
    return resident_user, (current_user if resident_user is not None and resident_user.id != current_user.id
                           else None)


def _service_version(code: str):
    service = catalogue.get_service(code)
    version = catalogue.current_version(service) if service is not None else None
    if version is None:
        abort(404)
    return service, version


def _subject_from(resident_user: User, raw: str | None):
    """The person chosen under "untuk siapa": the applicant or a family member on the same KK, else None."""
    family = access.family_members(resident_user)
    if not raw:
        return family[0] if family else None
    return next((m for m in family if str(m.id) == raw), None)


def _form_page(service, version, resident_user, subject, key: str, state: request_form.FormState,
               status: int = 200):
    snap = version.snapshot
    requirements = requests_service.requirements_for(snap, subject)
    questions = state.questions if state.questions is not None else declared_data.questions_for(snap, subject)
    return render("resident/request_form.html", service=service, snap=snap, account=resident_user,
                  applicant=resident_user.resident, family=access.family_members(resident_user),
                  subject=subject, requirements=requirements, key=key, questions=questions,
                  origin=declared_data.origin_of(resident_user.resident),
                  ktp_on_file=registered_ktp.stands_in(requirements, resident_user, set(state.drafts)),
                  state=state, max_files=request_form.max_files(), acting=resident_user.id != current_user.id,
                  time_phrase=promise.service_time_phrase(snap), owner=owner_tag(resident_user), status=status)


@bp.get("/layanan")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def services():
    if acting_resident() is None:  # a pendamping not acting for anyone yet: choose whom first
        return assisted()
    return render("resident/services.html", services=catalogue.enabled_services())


@dataclass
class _Posted:
    """The new-request form as posted: its key, the person it is for, the documents they need, what was typed."""

    key: str
    subject: Resident
    requirements: list[dict]
    state: request_form.FormState


def _posted(version, resident_user: User) -> _Posted:
    key = request_form.posted_key(request.form.get("kunci") or request.args.get("kunci"))
    snap = version.snapshot
    subject = _subject_from(resident_user, request.form.get("untuk"))
    state = request_form.FormState(answers=request_form.posted_answers(request.form, snap["fields"]),
                                   declared=declared_data.posted(request.form, declared_data.every_question()))
    if subject is None:
        subject = _subject_from(resident_user, None)
        state.field_errors["untuk"] = _(
            "Permohonan hanya dapat diajukan untuk diri sendiri atau anggota keluarga dalam KK yang sama.")
    requirements = requests_service.requirements_for(snap, subject)
    state.brought = request_form.posted_originals(request.form, requirements)
    return _Posted(key, subject, requirements, state)


@bp.route("/ajukan/<code>", methods=["GET", "POST"])
@verified_resident_required
def new_request(code: str):
    """The request form, its review and its submission, all at one URL: ``langkah`` says which."""
    service, version = _service_version(code)
    resident_user, pendamping = _acting_pair()
    if resident_user.resident is None:
        abort(404)
    if request.method == "GET":
        return _form_page(service, version, resident_user, _subject_from(resident_user, None),
                          secrets.token_urlsafe(24), request_form.FormState())
    posted = _posted(version, resident_user)
    step = request.form.get("langkah", "periksa")
    if step == "kirim":
        return _send(service, version, resident_user, pendamping, posted)
    if step == "ubah":  # back from the review: everything as it was
        return _form_page(service, version, resident_user, posted.subject, posted.key,
                          request_form.with_drafts(posted.state, posted.key, resident_user))
    return _review(service, version, resident_user, posted)


def _send(service, version, resident_user: User, pendamping: User | None, posted: _Posted):
    """"kirim": the request is made with its files, or the form comes back with what is wrong. A form kept on the
    phone without a signal (static/js/outbox.js) arrives here whole, files included, and gets JSON back."""
    state = posted.state
    if request.form.get("pemilik", owner_tag(resident_user)) != owner_tag(resident_user):
        state.message = _("Formulir ini diisi dengan akun lain di ponsel ini. Masuk dengan akun itu untuk mengirimnya.")
    elif request.files and requests_service.find_by_idempotency_key(posted.key) is None:
        state.drafts, state.file_errors = request_form.accept_uploads(
            request.files, [r["code"] for r in posted.requirements], draft_key=posted.key, owner=resident_user,
            uploaded_by=current_user)
    if not (state.field_errors or state.file_errors or state.message):
        created = request_form.save(state, lambda: requests_service.submit_with_files(
            version, resident_user, posted.subject, state.answers, idempotency_key=posted.key,
            brought_originals=state.brought, submitted_by=pendamping, declared=state.declared))
        if created is not None and request.headers.get(OUTBOX_HEADER):
            detail = url_for("resident.request_detail", tracking_number=created.tracking_number)
            return jsonify(number=created.tracking_number, url=detail), 201
        if created is not None:
            flash(_("Permohonan terkirim dengan nomor %(number)s.", number=created.tracking_number), "success")
            return redirect(url_for("resident.request_detail", tracking_number=created.tracking_number), code=303)
    request_form.with_drafts(state, posted.key, resident_user)
    state.message = state.message or _("Permohonan belum terkirim: periksa kembali isian yang ditandai.")
    return _form_page(service, version, resident_user, posted.subject, posted.key, state, status=422)


#: sent by static/js/outbox.js with a form it kept on the phone: the answer is JSON, not a redirect and a flash
OUTBOX_HEADER = "X-SemPelMas-Outbox"


def owner_tag(resident_user: User | None) -> str:
    """Who a request form is filled by and for ("<signed-in account>-<resident>"): a form kept on a shared phone
    is sent only by the account that filled it, for the same resident."""
    return f"{current_user.id}-{resident_user.id if resident_user is not None else ''}"


@bp.get("/sinyal")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def outbox_session():
    """What static/js/outbox.js needs to send a form kept on the phone: a CSRF token of this session (the stored
    one may be from a session that has ended) and whose form it may send. Anonymous: 401 (JSON asked)."""
    resp = jsonify(csrf=generate_csrf(), owner=owner_tag(acting_resident()))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _review(service, version, resident_user: User, posted: _Posted):
    """"periksa": the files posted are kept as drafts, then the review page, or the form with what is wrong."""
    state = posted.state
    state.drafts, state.file_errors = request_form.accept_uploads(
        request.files, [r["code"] for r in posted.requirements], draft_key=posted.key, owner=resident_user,
        uploaded_by=current_user)
    state.reused = registered_ktp.stands_in(posted.requirements, resident_user, set(state.drafts))
    checked = requests_service.check_form(version.snapshot, posted.requirements, state.answers,
                                          set(state.drafts) | state.reused, state.brought, subject=posted.subject,
                                          declared=state.declared)
    state.questions = checked.questions
    state.field_errors.update(checked.field_errors)
    for code, message in checked.file_errors.items():
        state.file_errors.setdefault(code, message)
    if state.has_errors:
        return _form_page(service, version, resident_user, posted.subject, posted.key, state, status=422)
    return render("resident/request_review.html", service=service, snap=version.snapshot, subject=posted.subject,
                  key=posted.key, state=state, requirements=posted.requirements, clean=checked.clean,
                  declared=[(q, declared_data.shown(q.field, checked.declared.get(q.field)))
                            for q in checked.questions],
                  acting=resident_user.id != current_user.id, owner=owner_tag(resident_user))


@bp.errorhandler(413)
def form_too_large(e):
    """The whole form was over the limit: back to the form with the files accepted earlier, if it was one."""
    view_args = request.view_args or {}
    if (request.endpoint == "resident.new_request" and request_form.is_form_key(request.args.get("kunci"))
            and current_user.is_authenticated):
        resident_user = acting_resident()
        service = catalogue.get_service(view_args.get("code", ""))
        version = catalogue.current_version(service) if service is not None else None
        if resident_user is not None and resident_user.resident is not None and version is not None:
            key = request.args["kunci"]
            state = request_form.FormState(
                drafts={d.requirement_code: d for d in attachments.drafts(key, resident_user)},
                message=_("Kiriman terlalu besar (lebih dari %(mb)d MB sekaligus). Isian belum terkirim: unggah "
                          "berkas satu per satu, masing-masing paling besar %(each)d MB.",
                          mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
                          each=current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024)))
            return _form_page(service, version, resident_user, _subject_from(resident_user, None), key, state,
                              status=413)
    return render("errors/error.html", status=413, code=413, title=_("Berkas terlalu besar"),
                  message=_("Ukuran kiriman melebihi batas yang diizinkan."))


@bp.get("/permohonan")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def request_list():
    resident_user = acting_resident()
    if resident_user is None:
        return assisted()
    items = requests_service.family_requests(resident_user)
    return render("resident/requests.html", items=items, account=resident_user,
                  revoked=letters.without_valid_letter([r.id for r in items]))


def _detail_context(found):
    resident_user, pendamping = _acting_pair()
    actions = lifecycle.allowed_actions(found, current_user, on_behalf_of=pendamping and resident_user)
    fields, codes = requests_service.fixable(found)
    snap = found.service_snapshot
    return {
        "req": found, "snap": snap, "final": lifecycle.is_final(found.status),
        "may_withdraw": "cancel" in actions, "may_fix": "resubmit" in actions and bool(fields or codes),
        "files": attachments.current(found),
        "field_labels": catalogue_english.labels_in(snap.get("fields", []), "name", current_lang()),
        "doc_labels": catalogue_english.labels_in(requests_service.requirements_for(snap, found.subject), "code",
                                                  current_lang())
        | {attachments.PAPER_PENGANTAR: _("Surat pengantar RT/RW (kertas)")},
        "actor_label": _actor_label, "status_label": lifecycle.status_label,
        "letters": letters.of_request(found.id),
        "waiting_text": promise.waiting_text(found, lifecycle.endorsement_step(found)),
        "declared": declared_data.of_request(found), "declared_labels": declared_data.labels(),
        "declared_shown": declared_data.shown,
        "questions": questions.summary(found, questions.MessageSide.RESIDENT),
    }


def _actor_label(user) -> str:
    """Staff, RT/RW heads and signers by name and role; residents by name."""
    if user is None:
        return _("Sistem")
    roles = [str(ROLE_LABELS[g.role]) + (f" {g.rt}/{g.rw}" if g.rt else f" {g.rw}" if g.rw else "")
             for g in user.roles if g.role != Role.RESIDENT]
    return f"{user.full_name} ({', '.join(roles)})" if roles else user.full_name


@bp.get("/permohonan/<tracking_number>")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def request_detail(tracking_number: str):
    found = resident_request_or_404(tracking_number)
    return render("resident/request_detail.html", block="status", **_detail_context(found))


@bp.get("/permohonan/<tracking_number>/status")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def request_status(tracking_number: str):
    """The status block alone (htmx polling); without htmx, the whole page."""
    found = resident_request_or_404(tracking_number)
    return render("resident/request_detail.html", block="status", **_detail_context(found))


@bp.route("/permohonan/<tracking_number>/batal", methods=["GET", "POST"])
@role_required(Role.RESIDENT, Role.ASSISTANT)
def request_withdraw(tracking_number: str):
    """Withdraw a request. Without ``yakin`` (JS off, or a plain link) the question comes first on a page of its
    own; with JS the button's confirm dialog adds ``yakin`` (static/js/app.js)."""
    found = resident_request_or_404(tracking_number)
    resident_user, pendamping = _acting_pair()
    on_behalf = pendamping and resident_user
    if (request.method == "GET" or not request.form.get("yakin")) and "cancel" in lifecycle.allowed_actions(
            found, current_user, on_behalf_of=on_behalf):
        return render("resident/request_withdraw.html", req=found, snap=found.service_snapshot,
                      version=request.form.get("versi", type=int) or found.version)
    if request.method == "GET":
        return _to_detail(tracking_number)
    try:
        requests_service.withdraw(found, current_user, on_behalf_of=on_behalf,
                                  expected_version=request.form.get("versi", type=int))
    except RequestError as e:
        db.session.rollback()
        flash(e.message, "error")
    else:
        db.session.commit()
        flash(_("Permohonan %(number)s dibatalkan.", number=found.tracking_number), "success")
    return _to_detail(tracking_number)


def _to_detail(tracking_number: str):
    return redirect(url_for("resident.request_detail", tracking_number=tracking_number), code=303)


@bp.route("/permohonan/<tracking_number>/perbaikan", methods=["GET", "POST"])
@role_required(Role.RESIDENT, Role.ASSISTANT)
def request_fix(tracking_number: str):
    """After "perlu perbaikan" (only what staff named) or a return by the RT (every answer and document)."""
    found = resident_request_or_404(tracking_number)
    resident_user, pendamping = _acting_pair()
    on_behalf = pendamping and resident_user
    fields, codes = requests_service.fixable(found)
    if not (fields or codes) or "resubmit" not in lifecycle.allowed_actions(found, current_user,
                                                                            on_behalf_of=on_behalf):
        flash(_("Permohonan ini tidak sedang menunggu perbaikan dari Anda."), "error")
        return _to_detail(tracking_number)
    fix = requests_service.fix_form(found, fields, codes)
    state = request_form.FormState(answers={name: "" if value is None else str(value)
                                            for name, value in (found.answers or {}).items()})
    if request.method == "GET":
        return _fix_page(found, fix, state, secrets.token_urlsafe(24), found.version)
    return _fix_posted(found, fix, codes, state, on_behalf)


def _fix_page(found, fix, state: request_form.FormState, key: str, version: int, status: int = 200):
    return render("resident/request_fix.html", req=found, editable=fix.fields, documents=fix.documents,
                  state=state, key=key, version=version, status=status)


def _fix_posted(found, fix, codes: list[str], state: request_form.FormState, on_behalf: User | None):
    """The fix as posted: the files kept as drafts, then the request resubmitted, or the form with what is wrong."""
    key = request_form.posted_key(request.form.get("kunci"))
    version = request.form.get("versi", type=int)
    state.answers.update(request_form.posted_answers(request.form, fix.fields))
    occupied = {a.requirement_code for a in attachments.current(found)}
    state.drafts, state.file_errors = request_form.accept_uploads(
        request.files, codes, draft_key=key, owner=found.applicant, uploaded_by=current_user, occupied=occupied)
    if not state.file_errors:
        done = request_form.save(state, lambda: requests_service.resubmit(
            found, current_user, answers=state.answers, draft_key=key, on_behalf_of=on_behalf,
            expected_version=version))
        if state.message:  # refused as a whole (the status moved on, someone changed it first)
            flash(state.message, "error")
            return _to_detail(found.tracking_number)
        if done is not None:
            flash(_("Permohonan %(number)s sudah diajukan ulang.", number=found.tracking_number), "success")
            return _to_detail(found.tracking_number)
        request_form.with_drafts(state, key, found.applicant)
    state.message = _("Perbaikan belum terkirim: periksa kembali isian yang ditandai.")
    return _fix_page(found, fix, state, key, version or found.version, status=422)
