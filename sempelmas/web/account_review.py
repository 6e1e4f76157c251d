"""Account verification screens shared by the staff and RT blueprints (same rules, other scope)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import StringField, TextAreaField

from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import KTP, stored_path
from sempelmas.services.people import account_verification, accounts
from sempelmas.web.forms import EmptyForm, Form, length, required
from sempelmas.web.htmx import render
from sempelmas.web.lookups import get_or_404
from sempelmas.web.private_files import send_private_image


class VerifyForm(Form):
    note = StringField(_l("Catatan (boleh kosong)"), [length(500)])


class RejectForm(Form):
    reason = TextAreaField(_l("Alasan penolakan"), [required(), length(500)])


def reviewable(user_id: int) -> User:
    """The account, if the current verifier may see it; otherwise 404 (never reveal it exists)."""
    return get_or_404(User, user_id,
                      allowed=lambda user: (user.registration is not None
                                            and account_verification.can_verify(current_user, user)))


def pending_page(endpoint_prefix: str, scope: str | None):
    """The accounts waiting for the current verifier, those whose NIK another account also claims marked."""
    pending = account_verification.pending_accounts(current_user)
    return render("_shared/accounts_pending.html", pending=pending, shared=account_verification.shared_nik(pending),
                  ep=endpoint_prefix, scope=scope)


def review_page(user_id: int, endpoint_prefix: str, verify_form=None, reject_form=None, status=200):
    user = reviewable(user_id)
    if verify_form is None and reject_form is None:  # a plain view, not a form shown again with its errors
        audit.record("account.view", user)
        db.session.commit()
    return render(
        "_shared/account_review.html",
        status=status,
        account=user,
        reg=user.registration,
        match=account_verification.register_match(user),
        verify_form=verify_form or VerifyForm(),
        reject_form=reject_form or RejectForm(),
        ep=endpoint_prefix,
    )


def _decide(user_id: int, endpoint_prefix: str, form, form_name: str, act, done):
    """Validate ``form``, apply the decision ``act(user, form)``, commit, tell the verifier."""
    user = reviewable(user_id)
    if not form.validate_on_submit():
        return review_page(user_id, endpoint_prefix, status=422, **{form_name: form})
    try:
        act(user, form)
    except accounts.AccountError as e:
        flash(e.message, "error")
        return redirect(url_for(f"{endpoint_prefix}.account", user_id=user.id), code=303)
    db.session.commit()
    flash(*done(user))
    return redirect(url_for(f"{endpoint_prefix}.accounts_pending"), code=303)


def verify(user_id: int, endpoint_prefix: str):
    return _decide(
        user_id, endpoint_prefix, VerifyForm(), "verify_form",
        lambda user, form: account_verification.verify_account(current_user, user, form.note.data),
        lambda user: (_("Akun %(name)s sudah diverifikasi.", name=user.full_name), "success"),
    )


def reject(user_id: int, endpoint_prefix: str):
    return _decide(
        user_id, endpoint_prefix, RejectForm(), "reject_form",
        lambda user, form: account_verification.reject_account(current_user, user, form.reason.data),
        lambda user: (_("Pendaftaran %(name)s ditolak.", name=user.full_name), "info"),
    )


def ktp_photo(user_id: int):
    """The KTP photo, only to verifiers of this account; every view is audited."""
    user = reviewable(user_id)
    path = stored_path(KTP, user.registration.ktp_photo or "")
    if path is None:
        abort(404)
    audit.record("document.view", user, document="ktp")
    db.session.commit()
    return send_private_image(path)


__all__ = ["EmptyForm", "RejectForm", "VerifyForm", "ktp_photo", "pending_page", "reject", "review_page", "verify"]
