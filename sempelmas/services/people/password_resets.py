"""Password reset codes: staff hand a one-time code to a resident at the office; the resident sets a new
password with it (wrong codes throttled like wrong passwords)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from sempelmas.domain import digits as digit_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import PasswordResetCode, User
from sempelmas.models.base import utcnow
from sempelmas.services.accountability import audit
from sempelmas.services.people import accounts, login_guard, sessions
from sempelmas.services.people.account_login import find_login_user
from sempelmas.services.people.passwords import check_password, hash_password, set_password, validate_new_password

RESET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the counter


def issue_reset_code(staff: User, user: User) -> str:
    """Make a one-time code (valid 24 h, single use) and return it once; earlier codes die."""
    for old in db.session.scalars(
        select(PasswordResetCode).where(PasswordResetCode.user_id == user.id,
                                        PasswordResetCode.used_at.is_(None))
    ):
        old.used_at = utcnow()
    code = "".join(secrets.choice(RESET_ALPHABET) for _i in range(10))
    db.session.add(
        PasswordResetCode(
            user_id=user.id, code_hash=hash_password(code), created_by_id=staff.id,
            expires_at=utcnow() + timedelta(hours=current_app.config["PASSWORD_RESET_HOURS"]),
        )
    )
    audit.record("account.reset_code_issued", user, actor=staff)
    db.session.flush()
    return f"{code[:5]}-{code[5:]}"


def redeem_reset_code(nik: str, code: str, new_password: str, *, client: login_guard.Client | None = None) -> User:
    """Set a new password with a valid code; the code is spent, every session ends.

    Rules: wrong codes count with wrong passwords (services/people/login_guard.py) and a locked source or device
    is refused; the lock of an account's untrusted clients is not (the code came from the office in
    person), and the caller then trusts the client that redeemed it."""
    wrong = accounts.AccountError(_("NIK atau kode pemulihan salah, sudah dipakai, atau kedaluwarsa."), "code")
    client = client or login_guard.Client(address=audit.client_ip())
    user = find_login_user(nik)
    guard = login_guard.guard_for(user, nik, client)
    refused = login_guard.refusal(guard, account_wide=False)
    if refused:
        raise accounts.AccountError(refused, "code")
    clean = digit_rules.normalise(code).replace("-", "").replace(" ", "").upper()
    if user is None:
        check_password(None, clean)
        login_guard.record_failure(guard)
        raise wrong
    now = utcnow()
    candidates = db.session.scalars(
        select(PasswordResetCode).where(
            PasswordResetCode.user_id == user.id,
            PasswordResetCode.used_at.is_(None),
            PasswordResetCode.expires_at > now,
        )
    ).all()
    match = next((c for c in candidates if check_password(c.code_hash, clean)), None)
    if match is None:
        login_guard.record_failure(guard)
        raise wrong
    validate_new_password(new_password)
    match.used_at = now
    set_password(user, new_password)
    ended = sessions.end_all(user, "sandi")
    login_guard.record_success(guard)
    audit.record("account.password_reset", user, actor=user, sessions_ended=ended)
    db.session.flush()
    return user
