"""A resident's own data: see it, download it, ask for a correction or for the account's deletion."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.data_rights import DataRightsRequest
from sempelmas.services.accountability import data_corrections, data_erasure, data_export, data_rights
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.web.access import role_required
from sempelmas.web.data_rights.forms import CorrectionForm, DeletionForm
from sempelmas.web.forms import form_status, save_form
from sempelmas.web.htmx import render
from sempelmas.web.i18n import current_lang
from sempelmas.web.lookups import get_or_404
from sempelmas.web.private_files import send_private, send_private_image
from sempelmas.web.uploads_form import save_form_photo

bp = Blueprint("data_rights", __name__)


def _download(body: bytes, mime: str, filename: str):
    return send_private(body, mimetype=mime, filename=filename, attachment=True)


def _own(request_id: int) -> DataRightsRequest:
    return get_or_404(DataRightsRequest, request_id, allowed=lambda req: req.user_id == current_user.id)


@bp.get("/")
@role_required(Role.RESIDENT)
def index():
    return render("data_rights/index.html", items=data_rights.for_user(current_user), account=current_user,
                  resident=current_user.resident)


@bp.get("/unduh.json")
@role_required(Role.RESIDENT)
def download_json():
    data = data_export.export(current_user)
    data_export.record_export(current_user, "json")
    db.session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    return _download(body, "application/json; charset=utf-8", "data-saya.json")


@bp.get("/unduh.pdf")
@role_required(Role.RESIDENT)
def download_pdf():
    data = data_export.export(current_user)
    try:
        pdf = data_export.export_pdf(current_user, data, lang=current_lang())
    except LetterRenderError:
        flash(_("PDF belum dapat dibuat; unduh versi JSON atau coba lagi nanti."), "error")
        return redirect(url_for("data_rights.index"), code=303)
    data_export.record_export(current_user, "pdf")
    db.session.commit()
    return _download(pdf, "application/pdf", "data-saya.pdf")


@bp.route("/koreksi", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def correction():
    form = CorrectionForm()
    if form.validate_on_submit():
        # kept only if the request is committed below: a refusal, a failure or a failed commit deletes it
        photo = save_form_photo(form.photo, data_rights.EVIDENCE_KIND)
        if not form.photo.errors:
            saved, req = save_form(form, lambda: data_corrections.request_correction(
                current_user, form.field.data, form.value.data, form.explanation.data, evidence_photo=photo),
                data_rights.DataRightsError)
            if saved:
                flash(_("Permintaan koreksi terkirim. Petugas akan memeriksanya."), "success")
                return redirect(url_for("data_rights.detail", request_id=req.id), code=303)
    status = form_status(form)
    current = [(label, data_corrections.current_value(current_user, code))
               for code, (label, where) in data_rights.CORRECTABLE.items() if where is not None]
    return render("data_rights/correction.html", form=form, current=current, status=status)


@bp.route("/hapus", methods=["GET", "POST"])
@role_required(Role.RESIDENT)
def deletion():
    form = DeletionForm()
    if form.validate_on_submit():
        saved, req = save_form(form, lambda: data_erasure.request_deletion(current_user, form.reason.data),
                               data_rights.DataRightsError)
        if saved:
            flash(_("Permintaan penghapusan akun terkirim. Petugas akan memeriksanya."), "success")
            return redirect(url_for("data_rights.detail", request_id=req.id), code=303)
    status = form_status(form)
    return render("data_rights/deletion.html", form=form, kept=data_rights.retained_items(),
                  erased=data_rights.erased_items(), blockers=data_erasure.deletion_blockers(current_user),
                  status=status)


@bp.get("/permintaan/<int:request_id>")
@role_required(Role.RESIDENT)
def detail(request_id: int):
    req = _own(request_id)
    return render("data_rights/detail.html", req=req, labels=data_rights.CORRECTABLE,
                  kept=data_rights.retained_items())


@bp.get("/permintaan/<int:request_id>/foto")
@role_required(Role.RESIDENT)
def own_photo(request_id: int):
    return send_private_image(data_rights.evidence_path(_own(request_id)))
