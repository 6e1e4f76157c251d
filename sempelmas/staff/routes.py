"""Front-office staff: account verification, reset codes, the population register."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from sempelmas import account_review
from sempelmas.access import role_required
from sempelmas.extensions import db
from sempelmas.forms import EmptyForm, add_error
from sempelmas.htmx import render
from sempelmas.models.accounts import Role, User
from sempelmas.models.residents import Resident
from sempelmas.services import accounts, audit, residents
from sempelmas.staff.forms import KKChangeForm

bp = Blueprint("staff", __name__)
STAFF = (Role.STAFF, Role.ADMIN)
PAGE_SIZE = 25


@bp.get("/")
@role_required(Role.STAFF)
def home():
    return render("staff/home.html", pending=len(accounts.pending_accounts(current_user)))


@bp.get("/akun")
@role_required(*STAFF)
def accounts_pending():
    return render("_shared/accounts_pending.html", pending=accounts.pending_accounts(current_user),
                  ep="staff", scope=None)


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
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = residents.search(q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    if q:
        audit.record("register.search", object_type="residents", query=q, results=total)
        db.session.commit()
    return render("staff/residents.html", block="results", q=q, rows=rows, total=total, page=page,
                  pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


def _resident_or_404(resident_id: int) -> Resident:
    resident = db.session.get(Resident, resident_id)
    if resident is None:
        abort(404)
    return resident


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
    user = db.session.get(User, user_id)
    if user is None or not user.is_resident:
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    code = accounts.issue_reset_code(current_user, user)
    db.session.commit()
    return render("staff/reset_code.html", account=user, code=code)
