"""RT/RW heads: verify the residents of their own RT (endorsements come with the requests issue)."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from sempelmas import account_review
from sempelmas.access import role_required
from sempelmas.htmx import render
from sempelmas.models.accounts import Role
from sempelmas.services import accounts

bp = Blueprint("rt", __name__)
HEADS = (Role.RT_HEAD, Role.RW_HEAD)


@bp.get("/")
@role_required(*HEADS)
def home():
    return accounts_pending()


@bp.get("/akun")
@role_required(*HEADS)
def accounts_pending():
    grant = current_user.grant(Role.RT_HEAD) or current_user.grant(Role.RW_HEAD)
    return render("_shared/accounts_pending.html", pending=accounts.pending_accounts(current_user),
                  ep="rt", scope=grant.scope_label)


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
