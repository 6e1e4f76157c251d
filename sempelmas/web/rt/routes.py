"""RT/RW heads: verify the residents of their own RT, and endorse their letter requests (the online
surat pengantar) or return them to the resident."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.base import utcnow
from sempelmas.models.requests import LetterRequest
from sempelmas.services import access
from sempelmas.services.accountability import audit
from sempelmas.services.people import account_verification
from sempelmas.services.requests import attachments, catalogue_english, endorsements, lifecycle
from sempelmas.web import account_review
from sempelmas.web.access import role_required
from sempelmas.web.htmx import is_htmx, render
from sempelmas.web.i18n import current_lang
from sempelmas.web.lookups import request_or_404
from sempelmas.web.rt.forms import EndorseForm, ReturnForm

bp = Blueprint("rt", __name__)
HEADS = (Role.RT_HEAD, Role.RW_HEAD)


def _scope() -> str:
    grant = current_user.grant(Role.RT_HEAD) or current_user.grant(Role.RW_HEAD)
    return grant.scope_label if grant else ""


def _waited(since: datetime) -> str:
    """How long something has waited, roughly: "3 jam", "2 hari"."""
    return format_timedelta(utcnow() - since, threshold=1.1)


@bp.get("/")
@role_required(*HEADS)
def home():
    return render("rt/home.html", waiting=endorsements.waiting_count(current_user),
                  pending=account_verification.pending_accounts(current_user), scope=_scope())


# --- requests waiting for the pengantar --------------------------------------------------------


def _letter_request(tracking_number: str) -> LetterRequest:
    """The request, if it is about a resident of the head's RT (or RW); otherwise 404."""
    return request_or_404(tracking_number, allowed=lambda req: access.in_rt_scope(current_user, req))


def _detail(req: LetterRequest, *, endorse_form=None, return_form=None, message=None, category="info",
            status=200):
    """The request page (htmx: only its action panel, with ``message`` in it)."""
    actions = lifecycle.allowed_actions(req, current_user)
    endorse_action = next((a for a in actions if a in ("endorse_rt", "endorse")), None)
    snapshot = req.service_snapshot
    labels = catalogue_english.labels_in(snapshot.get("requirements", []), "code", current_lang())
    labels["pengantar_rt"] = _("Surat pengantar RT/RW (kertas)")
    return render(
        "rt/request.html", block="panel", status=status, req=req, snapshot=snapshot,
        files=[(labels.get(a.requirement_code, a.requirement_code), a) for a in attachments.current(req)],
        given=lifecycle.current_endorsements(req), step=lifecycle.endorsement_step(req),
        endorse_action=endorse_action, can_return="return_to_resident" in actions,
        endorse_form=endorse_form or EndorseForm(version=req.version),
        return_form=return_form or ReturnForm(version=req.version),
        waited=_waited(endorsements.waiting_since(req)), message=message, category=category,
        action_labels=lifecycle.ACTION_LABELS,
        last_return=next((e for e in reversed(req.events) if e.action == "return_to_resident"), None),
    )


def _invalid(req: LetterRequest, **forms):
    # 422 with the panel and its field errors, for htmx too (static/js/app.js swaps a 422 answer)
    return _detail(req, status=422, **forms)


def _refused(tracking_number: str, message: str):
    """Someone acted first, or the action is not (or no longer) this head's: say so, show the fresh state."""
    db.session.rollback()
    req = _letter_request(tracking_number)
    if is_htmx():
        return _detail(req, message=message, category="error")
    flash(message, "error")
    return redirect(url_for("rt.request_detail", tracking_number=tracking_number), code=303)


def _done(req: LetterRequest, message: str):
    if is_htmx():
        return _detail(req, message=message, category="success")
    flash(message, "success")
    return redirect(url_for("rt.requests"), code=303)


@bp.get("/permohonan")
@role_required(*HEADS)
def requests():
    return render("rt/requests.html", queue=endorsements.queue_for(current_user), scope=_scope(), waited=_waited)


@bp.get("/permohonan/<tracking_number>")
@role_required(*HEADS)
def request_detail(tracking_number: str):
    letter_request = _letter_request(tracking_number)
    resp = _detail(letter_request)
    if not is_htmx():
        # recorded after the page is rendered: the commit expires what the page read (audit.record_view)
        audit.record_view("request.view", letter_request, tracking_number=letter_request.tracking_number)
        db.session.commit()
    return resp


@bp.post("/permohonan/<tracking_number>/pengantar")
@role_required(*HEADS)
def request_endorse(tracking_number: str):
    req = _letter_request(tracking_number)
    form = EndorseForm()
    if not form.validate_on_submit():
        return _invalid(req, endorse_form=form)
    try:
        endorsement = endorsements.endorse(req, current_user, form.note.data, expected_version=form.version.data)
    except lifecycle.RequestError as e:
        return _refused(tracking_number, e.message)
    db.session.commit()
    if lifecycle.endorsement_step(req) == "rw":
        message = _("Pengantar RT nomor %(number)s tersimpan; permohonan diteruskan ke ketua RW.",
                    number=endorsement.number)
    else:
        message = _("Pengantar nomor %(number)s tersimpan; permohonan diteruskan ke petugas kelurahan.",
                    number=endorsement.number)
    return _done(req, message)


@bp.post("/permohonan/<tracking_number>/kembalikan")
@role_required(*HEADS)
def request_return(tracking_number: str):
    req = _letter_request(tracking_number)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _invalid(req, return_form=form)
    try:
        endorsements.return_to_resident(req, current_user, form.reason.data, expected_version=form.version.data)
    except lifecycle.RequestError as e:
        return _refused(tracking_number, e.message)
    db.session.commit()
    return _done(req, _("Permohonan %(number)s dikembalikan ke pemohon dengan alasan yang Anda tulis.",
                        number=req.tracking_number))


@bp.get("/akun")
@role_required(*HEADS)
def accounts_pending():
    return account_review.pending_page("rt", scope=_scope())


@bp.get("/akun/<int:user_id>")
@role_required(*HEADS)
def account(user_id: int):
    return account_review.review_page(user_id, "rt")


@bp.get("/akun/<int:user_id>/ktp")
@role_required(*HEADS)
def account_ktp(user_id: int):
    return account_review.ktp_photo(user_id)


@bp.post("/akun/<int:user_id>/verifikasi")
@role_required(*HEADS)
def account_verify(user_id: int):
    return account_review.verify(user_id, "rt")


@bp.post("/akun/<int:user_id>/tolak")
@role_required(*HEADS)
def account_reject(user_id: int):
    return account_review.reject(user_id, "rt")
