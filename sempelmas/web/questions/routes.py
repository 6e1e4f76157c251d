"""Questions on a request: the resident's thread (/warga/permohonan/<n>/tanya), the staff's
(/petugas/permohonan/<n>/tanya, turning a question into a fix request) and the office's inbox (/petugas/pertanyaan).

Who reads and writes which thread is services.requests.questions' (``side_of``); here, the resident's pages find
the request like every resident page (404 for another's), the staff's are for the staff role. A thread page
works without JavaScript (a form that posts, a redirect back); with htmx the form posts in place and the
messages refresh every 30 s without touching what is being typed.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.extensions import db, limiter
from sempelmas.models.accounts import Role
from sempelmas.models.questions import MessageSide
from sempelmas.services.files.uploads import discard, stored_path
from sempelmas.services.requests import lifecycle, review
from sempelmas.services.requests import questions as service
from sempelmas.web.access import role_required
from sempelmas.web.acting import acting_resident
from sempelmas.web.forms import add_error, save_form
from sempelmas.web.htmx import is_htmx, render
from sempelmas.web.i18n import current_lang
from sempelmas.web.lookups import request_or_404, resident_request_or_404
from sempelmas.web.private_files import send_private_image
from sempelmas.web.questions.forms import MessageForm
from sempelmas.web.staff.forms import FixForm
from sempelmas.web.uploads_form import save_form_photo

bp = Blueprint("questions", __name__)
ENDPOINTS = {MessageSide.RESIDENT: "questions.resident_thread", MessageSide.STAFF: "questions.staff_thread"}
TEMPLATES = {MessageSide.RESIDENT: "questions/resident.html", MessageSide.STAFF: "questions/staff.html"}


def question_limit() -> str:
    return current_app.config["QUESTION_RATE_LIMIT"]


def _new_form(form: MessageForm | None = None) -> MessageForm:
    form = form or MessageForm(formdata=None)
    form.kunci.data = form.kunci.data or secrets.token_urlsafe(24)
    return form


def _submit(form: MessageForm, found, side: MessageSide, on_behalf_of=None):
    """Store the message of a validated form; returns it, or None with the errors on the form (the text kept)."""
    key = (form.kunci.data or "")[:64] or None
    earlier = service.posted_with_key(key)  # before the photo is stored: a double tap keeps no orphan file
    if earlier is not None:
        return earlier
    photo = save_form_photo(form.photo, service.UPLOAD_KIND, name_the_file=True)
    if form.photo.errors:  # refused: the field says why, the text stays in the form
        return None
    saved, posted = save_form(form, lambda: service.post(found, current_user, form.text.data, side=side,
                                                         on_behalf_of=on_behalf_of, photo=photo,
                                                         idempotency_key=key), service.QuestionError)
    if not saved:
        return None
    message, created = posted
    if not created:
        discard(service.UPLOAD_KIND, photo)
    return message


def _thread(found, side: MessageSide, form: MessageForm | None = None, status: int = 200):
    """The thread page (or, for htmx, its messages after a GET, the messages and the form after a POST)."""
    fresh = {m.id for m in service.thread(found) if m.side != side and m.read_at is None}
    if service.mark_read(found, side):
        db.session.commit()
    block = "thread" if request.method == "POST" else "messages"
    return render(TEMPLATES[side], block=block, status=status, req=found, messages=service.thread(found),
                  fresh=fresh, form=_new_form(form), side=side, may_ask=service.may_ask(found),
                  open_until=service.open_until(found), may_fix=lambda m: service.may_turn_into_fix(
                      found, m, current_user) if side == MessageSide.STAFF else False)


def _posted_or_page(found, side: MessageSide, on_behalf_of=None):
    form = MessageForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return _thread(found, side, form, status=422)
    message = _submit(form, found, side, on_behalf_of)
    if message is None:
        return _thread(found, side, form, status=422)
    if is_htmx():
        resp = _thread(found, side)
        resp.headers["HX-Trigger"] = "notifications-changed"
        return resp
    flash(_("Pesan terkirim.") if side == MessageSide.RESIDENT else _("Jawaban terkirim; warga diberi tahu."),
          "success")
    return redirect(url_for(ENDPOINTS[side], tracking_number=found.tracking_number, _anchor=f"pesan-{message.id}"),
                    code=303)


# ------------------------------------------------------------------ residents (and their pendamping)


@bp.route("/warga/permohonan/<tracking_number>/tanya", methods=["GET", "POST"])
@role_required(Role.RESIDENT, Role.ASSISTANT)
@limiter.limit(question_limit, methods=["POST"])
def resident_thread(tracking_number: str):
    found = resident_request_or_404(tracking_number)
    if request.method == "GET":
        return _thread(found, MessageSide.RESIDENT)
    resident_user = acting_resident()
    return _posted_or_page(found, MessageSide.RESIDENT,
                           on_behalf_of=resident_user if resident_user.id != current_user.id else None)


@bp.get("/warga/permohonan/<tracking_number>/tanya/<int:message_id>/foto")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def resident_photo(tracking_number: str, message_id: int):
    message = service.find(resident_request_or_404(tracking_number), message_id)
    return send_private_image(stored_path(service.UPLOAD_KIND, message.photo or "") if message else None)


# ------------------------------------------------------------------ staff


@bp.route("/petugas/permohonan/<tracking_number>/tanya", methods=["GET", "POST"])
@role_required(Role.STAFF)
def staff_thread(tracking_number: str):
    found = request_or_404(tracking_number)
    if request.method == "GET":
        return _thread(found, MessageSide.STAFF)
    return _posted_or_page(found, MessageSide.STAFF)


@bp.get("/petugas/permohonan/<tracking_number>/tanya/<int:message_id>/foto")
@role_required(Role.STAFF)
def staff_photo(tracking_number: str, message_id: int):
    found = request_or_404(tracking_number)
    message = service.find(found, message_id)
    if message is None:
        abort(404)
    resp = send_private_image(stored_path(service.UPLOAD_KIND, message.photo or ""))
    if message.side == MessageSide.RESIDENT:
        service.record_photo_view(found, message, current_user)
        db.session.commit()
    return resp


@bp.route("/petugas/permohonan/<tracking_number>/tanya/<int:message_id>/perbaikan", methods=["GET", "POST"])
@role_required(Role.STAFF)
def staff_to_fix(tracking_number: str, message_id: int):
    """A resident's question made into "perlu perbaikan": the fix form, its reason prefilled with the question."""
    found = request_or_404(tracking_number)
    message = service.find(found, message_id)
    if message is None or not service.may_turn_into_fix(found, message, current_user):
        abort(404)
    form = FixForm(prefix="perbaikan", data={"reason": message.text, "version": found.version}
                   if request.method == "GET" else None)
    form.fields.choices, form.files.choices = review.fix_choices(found, current_lang())
    if request.method == "POST":
        if form.validate_on_submit():
            return _turn(found, message, form)
        if "csrf_token" in form.errors:
            abort(400)
    return render("questions/to_fix.html", req=found, message=message, form=form,
                  claims_first=service.claims_first(found, current_user), status=422 if form.errors else 200)


def _turn(found, message, form: FixForm):
    try:
        service.turn_into_fix(found, message, current_user, reason=form.reason.data, fields=form.fields.data,
                              files=form.files.data, expected_version=form.version.data)
    except (service.QuestionError, lifecycle.RequestError) as e:
        db.session.rollback()
        add_error(form, getattr(e, "field", None), e.message)
        status = 409 if isinstance(e, lifecycle.ConcurrentUpdateError) else 422
        return render("questions/to_fix.html", req=found, message=message, form=form,
                      claims_first=service.claims_first(found, current_user), status=status)
    db.session.commit()
    flash(_("Permohonan dikembalikan ke warga untuk diperbaiki, dengan pertanyaannya sebagai alasan."), "success")
    return redirect(url_for("staff.request_review", tracking_number=found.tracking_number), code=303)


@bp.get("/petugas/pertanyaan")
@role_required(Role.STAFF)
def staff_inbox():
    return render("questions/inbox.html", rows=service.office_inbox(), total=service.office_unread_total())


@bp.get("/petugas/pertanyaan/jumlah")
@role_required(Role.STAFF)
def staff_count():
    """The nav's badge, loaded by htmx after the page (like the bell's)."""
    resp = render("notifications/_count.html", count=service.office_unread_total())
    resp.headers["Cache-Control"] = "no-store"
    return resp
