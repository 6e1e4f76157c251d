"""Residents' own pages, and pendamping acting for residents without a phone."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.access import role_required
from sempelmas.acting import acting_id, acting_resident, start_acting, stop_acting
from sempelmas.auth.forms import AssistedRegisterForm
from sempelmas.extensions import db
from sempelmas.forms import EmptyForm, add_error
from sempelmas.htmx import render
from sempelmas.models.accounts import Role, User
from sempelmas.services import accounts, audit
from sempelmas.services.uploads import discard, stored_path
from sempelmas.uploads_form import save_form_photo

bp = Blueprint("resident", __name__)
@bp.get("/")
@role_required(Role.RESIDENT, Role.ASSISTANT)
def home():
    resident_user = acting_resident()
    if resident_user is None:  # a pendamping not acting for anyone yet: choose whom
        return assisted()
    resident = resident_user.resident
    family = accounts.family_members(resident) if resident else []
    return render("resident/home.html", account=resident_user, resident=resident, family=family,
                  acting=resident_user.id != current_user.id, stop_form=EmptyForm())


@bp.get("/ktp")
@role_required(Role.RESIDENT)
def own_ktp():
    reg = current_user.registration
    path = stored_path("ktp", reg.ktp_photo or "") if reg else None
    if path is None:
        abort(404)
    resp = send_file(path, mimetype="image/jpeg", max_age=0)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/pendamping")
@role_required(Role.ASSISTANT)
def assisted():
    return render("resident/assisted.html", people=accounts.assisted_residents(current_user),
                  form=EmptyForm(), acting_id=acting_id())


@bp.route("/pendamping/baru", methods=["GET", "POST"])
@role_required(Role.ASSISTANT)
def assisted_new():
    form = AssistedRegisterForm()
    if form.validate_on_submit():
        photo = save_form_photo(form.ktp_photo, "ktp")
        if not form.ktp_photo.errors:
            try:
                user = accounts.register_resident(form.registration_data(photo), assisted_by=current_user)
            except accounts.AccountError as e:
                db.session.rollback()
                discard("ktp", photo)
                add_error(form, e.field, e.message)
            else:
                db.session.commit()
                flash(_("Warga %(name)s sudah didaftarkan dan menunggu verifikasi.", name=user.full_name),
                      "success")
                return redirect(url_for("resident.assisted"), code=303)
    status = 422 if (form.errors or form.form_errors) else 200
    return render("resident/assisted_new.html", form=form, status=status)


@bp.post("/pendamping/<int:user_id>/bertindak")
@role_required(Role.ASSISTANT)
def act_for(user_id: int):
    user = db.session.get(User, user_id)
    if user is None or user.assisted_by_id != current_user.id:
        abort(404)
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
