"""Complaints: the public form and tracking page (no login), the resident's own complaints, the staff queue.

One blueprint for the three audiences, each URL under its audience's prefix (/pengaduan, /warga/pengaduan,
/petugas/pengaduan), so the access rules of one feature sit together.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.domain import digits as digit_rules
from sempelmas.extensions import db, limiter
from sempelmas.models.accounts import Role
from sempelmas.models.complaints import Complaint, ComplaintStatus
from sempelmas.services.accountability import complaints as service
from sempelmas.services.files.uploads import discard, stored_path
from sempelmas.services.requests import submission as requests_service
from sempelmas.web.access import role_required
from sempelmas.web.acting import acting_resident
from sempelmas.web.choose_whom import choose_whom_page
from sempelmas.web.complaints.forms import AnswerForm, ComplaintForm, ResidentComplaintForm
from sempelmas.web.forms import add_error, form_status, save_form
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404
from sempelmas.web.private_files import send_private_image
from sempelmas.web.uploads_form import save_form_photo

bp = Blueprint("complaints", __name__)
STAFF = (Role.STAFF, Role.ADMIN)
READERS = (Role.STAFF, Role.ADMIN, Role.SIGNER)


def complaint_limit() -> str:
    return current_app.config["COMPLAINT_RATE_LIMIT"]


@bp.app_template_filter("mask_email")
def _mask_email(value):
    return service.mask_email(value)


def _new_key() -> str:
    return secrets.token_urlsafe(24)


def _submit(form: ComplaintForm, **who):
    """File the complaint from a validated form; returns the complaint, or None with errors on the form."""
    key = (form.kunci.data or "")[:64] or None
    earlier = service.filed_with_key(key)  # before the photo is stored: a double tap keeps no orphan file
    if earlier is not None:  # the same form sent again (a double tap, a reload): no copy
        return earlier
    photo = save_form_photo(form.photo, service.UPLOAD_KIND, name_the_file=True)
    if form.photo.errors:  # refused: the field says why, the rest of the form stays
        return None
    try:
        # the photo goes with any failure from here on: it belongs to this transaction (uploads.store_file)
        complaint, created = service.file_complaint(form.filing(), idempotency_key=key, photo=photo, **who)
        db.session.commit()
    except service.ComplaintError as e:
        db.session.rollback()
        add_error(form, e.field, e.message)
        return None
    if not created:
        discard(service.UPLOAD_KIND, photo)
    return complaint


def _photo_response(complaint: Complaint):
    return send_private_image(stored_path(service.UPLOAD_KIND, complaint.photo or ""))


# ------------------------------------------------------------------ public


@bp.route("/pengaduan", methods=["GET", "POST"])
@limiter.limit(complaint_limit, methods=["POST"])
def public_new():
    form = ComplaintForm()
    if request.method == "GET":
        form.kunci.data = _new_key()
    elif form.validate_on_submit():
        complaint = _submit(form)
        if complaint is not None:
            return redirect(url_for("complaints.public_detail", code=complaint.code, baru=1), code=303)
    if not form.kunci.data:
        form.kunci.data = _new_key()
    status = form_status(form)
    return render("complaints/public_form.html", form=form, status=status)


@bp.get("/pengaduan/lacak")
def public_lookup():
    raw = request.args.get("kode", "")
    complaint = service.find_by_code(raw)
    if complaint is None:
        return render("complaints/public_lookup.html", code=raw[:40], status=404 if raw else 200)
    return redirect(url_for("complaints.public_detail", code=complaint.code), code=303)


@bp.get("/pengaduan/<code>")
def public_detail(code: str):
    complaint = service.find_by_code(code)
    if complaint is None:
        abort(404)
    if complaint.code != code:
        return redirect(url_for("complaints.public_detail", code=complaint.code), code=301)
    return render("complaints/public_detail.html", c=complaint, contact=service.masked_contact(complaint),
                  events=service.answers(complaint), fresh=request.args.get("baru") == "1",
                  status_label=service.status_label)


# ------------------------------------------------------------------ residents


def _own_or_404(own: dict, tracking_number: str | None):
    """The resident's (or family's) request a complaint is about, None for none; 404 for another's."""
    if not tracking_number:
        return None
    if tracking_number not in own:
        abort(404)  # another's request (or none): not a page for them
    return own[tracking_number]


def _prefill(form, resident_user, own: dict) -> None:
    """A new complaint form: the resident's contact, and the request named in ``?permohonan=``."""
    form.kunci.data = _new_key()
    form.name.data = resident_user.full_name
    form.phone.data = resident_user.phone
    form.email.data = resident_user.email
    wanted = request.args.get("permohonan")
    if _own_or_404(own, wanted) is not None:
        form.request.data = wanted


def _resident_or_choose():
    """The resident the pages are for; None when a pendamping has not chosen whom they act for."""
    return acting_resident()


@bp.get("/warga/pengaduan")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def resident_list():
    resident_user = _resident_or_choose()
    if resident_user is None:  # a pendamping not acting for anyone yet: choose whom first
        return choose_whom_page()
    return render("complaints/resident_list.html", items=service.for_user(resident_user), account=resident_user)


@bp.route("/warga/pengaduan/baru", methods=["GET", "POST"])
@role_required(Role.RESIDENT, Role.ASSISTANT)
def resident_new():
    resident_user = _resident_or_choose()
    if resident_user is None:  # a pendamping not acting for anyone yet: choose whom first
        return choose_whom_page()
    own = {r.tracking_number: r for r in requests_service.family_requests(resident_user)}
    form = ResidentComplaintForm()
    form.request.choices = [("", _("— tidak tentang permohonan tertentu —"))] + [
        (number, f"{number} · {r.service_snapshot.get('name', '')}") for number, r in own.items()]
    if request.method == "GET":
        _prefill(form, resident_user, own)
    elif form.validate_on_submit():
        about = _own_or_404(own, form.request.data)
        pendamping = current_user if resident_user.id != current_user.id else None
        complaint = _submit(form, user=resident_user, filed_by=pendamping, about=about)
        if complaint is not None:
            flash(_("Pengaduan terkirim dengan kode %(code)s.", code=complaint.code), "success")
            return redirect(url_for("complaints.resident_detail", code=complaint.code), code=303)
    if not form.kunci.data:
        form.kunci.data = _new_key()
    status = form_status(form)
    return render("complaints/resident_form.html", form=form, status=status, account=resident_user,
                  acting=resident_user.id != current_user.id)


def _own_complaint(code: str) -> Complaint:
    resident_user = _resident_or_choose()
    complaint = service.find_own(resident_user, code) if resident_user is not None else None
    if complaint is None:
        abort(404)
    return complaint


@bp.get("/warga/pengaduan/<code>")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def resident_detail(code: str):
    complaint = _own_complaint(code)
    return render("complaints/resident_detail.html", c=complaint, events=service.answers(complaint),
                  status_label=service.status_label)


@bp.get("/warga/pengaduan/<code>/foto")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def resident_photo(code: str):
    return _photo_response(_own_complaint(code))


# ------------------------------------------------------------------ staff


FILTERS = ("", *(str(s) for s in ComplaintStatus))


@bp.get("/petugas/pengaduan")
@role_required(*READERS)
def staff_queue():
    status = request.args.get("status", ComplaintStatus.NEW)
    if status not in FILTERS:
        status = ComplaintStatus.NEW
    page = digit_rules.query_int(request.args, "page", 1)
    rows, more = service.queue(status or None, page=page)
    return render("complaints/staff_queue.html", block="list", rows=rows, more=more, page=page, current=status,
                  counts=service.status_counts(), statuses=list(ComplaintStatus), status_label=service.status_label)


def _complaint_or_404(complaint_id: int) -> Complaint:
    return get_or_404(Complaint, complaint_id)


def _staff_page(complaint: Complaint, form: AnswerForm | None = None, status: int = 200):
    may_answer = current_user.has_role(*STAFF) and not service.is_final(complaint)
    if form is None and may_answer:
        form = AnswerForm()
    if form is not None:
        form.set_actions(service.allowed_actions(complaint))
    return render("complaints/staff_detail.html", c=complaint, events=service.answers(complaint), form=form,
                  may_answer=may_answer, status_label=service.status_label, status=status)


@bp.get("/petugas/pengaduan/<int:complaint_id>")
@role_required(*READERS)
def staff_detail(complaint_id: int):
    return _staff_page(_complaint_or_404(complaint_id))


@bp.post("/petugas/pengaduan/<int:complaint_id>/jawab")
@role_required(*STAFF)
def staff_answer(complaint_id: int):
    complaint = _complaint_or_404(complaint_id)
    form = AnswerForm()
    form.set_actions(service.allowed_actions(complaint))
    if form.validate_on_submit():
        saved, _result = save_form(form, lambda: service.answer(
            complaint, current_user, form.text.data, form.action.data or None), service.ComplaintError)
        if saved:
            flash(_("Jawaban untuk pengaduan %(code)s tersimpan; pengadu diberi tahu.", code=complaint.code),
                  "success")
            return redirect(url_for("complaints.staff_detail", complaint_id=complaint.id), code=303)
    complaint = _complaint_or_404(complaint_id)
    return _staff_page(complaint, form, status=422)


@bp.get("/petugas/pengaduan/<int:complaint_id>/foto")
@role_required(*READERS)
def staff_photo(complaint_id: int):
    complaint = _complaint_or_404(complaint_id)
    resp = _photo_response(complaint)
    service.record_photo_view(complaint, current_user)
    db.session.commit()
    return resp
