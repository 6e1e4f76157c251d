"""Front-office staff: residents' correction and deletion requests (UU PDP)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.data_rights import DataRequestKind, DataRightsRequest
from sempelmas.services.accountability import audit, data_corrections, data_erasure, data_rights
from sempelmas.web.access import role_required
from sempelmas.web.data_rights.forms import ApplyForm, GrantForm, RefuseForm
from sempelmas.web.forms import save_form
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404
from sempelmas.web.private_files import send_private_image

bp = Blueprint("data_rights_staff", __name__)
STAFF = (Role.STAFF, Role.ADMIN)


def _task(request_id: int) -> DataRightsRequest:
    return get_or_404(DataRightsRequest, request_id)


@bp.get("/")
@role_required(*STAFF)
def index():
    status = request.args.get("status", "")
    return render("data_rights/staff_list.html", items=data_rights.staff_list(status), filter_status=status,
                  labels=data_rights.CORRECTABLE)


def _page(req: DataRightsRequest, *, apply_form=None, grant_form=None, refuse_form=None, status=200):
    if apply_form is None:
        apply_form = ApplyForm(formdata=None, value=req.requested_value)
    user = req.user
    return render("data_rights/staff_detail.html", req=req, user=user, labels=data_rights.CORRECTABLE,
                  current=data_corrections.current_value(user, req.field) if req.field else "",
                  blockers=data_erasure.deletion_blockers(user) if req.kind == DataRequestKind.DELETION and req.is_open
                  else [], kept=data_rights.retained_items(), erased=data_rights.erased_items(),
                  apply_form=apply_form, grant_form=grant_form or GrantForm(formdata=None),
                  refuse_form=refuse_form or RefuseForm(formdata=None), status=status)


@bp.get("/<int:request_id>")
@role_required(*STAFF)
def detail(request_id: int):
    req = _task(request_id)
    audit.record("pdp.view", req, user_id=req.user_id)
    db.session.commit()
    return _page(req)


@bp.get("/<int:request_id>/foto")
@role_required(*STAFF)
def photo(request_id: int):
    req = _task(request_id)
    path = data_rights.evidence_path(req)
    if path is None:
        abort(404)
    audit.record("document.view", req, document="pdp_evidence", user_id=req.user_id)
    db.session.commit()
    return send_private_image(path)


def _done(req: DataRightsRequest, message: str):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("data_rights_staff.detail", request_id=req.id), code=303)


@bp.post("/<int:request_id>/koreksi")
@role_required(*STAFF)
def apply(request_id: int):
    req = _task(request_id)
    form = ApplyForm()
    if form.validate_on_submit():
        saved, _result = save_form(form, lambda: data_corrections.apply_correction(
            req, current_user, form.value.data, form.note.data), data_rights.DataRightsError)
        if saved:
            return _done(req, _("Data sudah dikoreksi dan warga diberi tahu."))
    return _page(req, apply_form=form, status=422)


@bp.post("/<int:request_id>/kabulkan")
@role_required(*STAFF)
def grant(request_id: int):
    req = _task(request_id)
    form = GrantForm()
    if form.validate_on_submit():
        saved, erasure = save_form(form, lambda: data_erasure.grant_deletion(req, current_user, form.note.data),
                                   data_rights.DataRightsError)
        if saved:
            data_erasure.remove_files(erasure.files)
            flash(_("Akun sudah dihapus; arsip yang wajib disimpan tetap ada."), "success")
            return redirect(url_for("data_rights_staff.detail", request_id=req.id), code=303)
    return _page(req, grant_form=form, status=422)


@bp.post("/<int:request_id>/tolak")
@role_required(*STAFF)
def refuse(request_id: int):
    req = _task(request_id)
    form = RefuseForm()
    if form.validate_on_submit():
        saved, _result = save_form(form, lambda: data_rights.refuse(req, current_user, form.reason.data),
                                   data_rights.DataRightsError)
        if saved:
            return _done(req, _("Permintaan ditolak dan warga diberi tahu alasannya."))
    return _page(req, refuse_form=form, status=422)
