"""Passwords: hashing (Argon2, the cost from the config), checking in constant time whether or not the account
exists, and a resident or official changing their own."""

from __future__ import annotations

import contextlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.services.accountability import audit
from sempelmas.services.people import accounts, sessions

# A hash computed once so a login for an unknown user costs as much as a real one.
_DUMMY_HASH: dict[tuple, str] = {}


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def check_password(stored: str | None, password: str) -> bool:
    ph = hasher()
    if not stored:
        key = (ph.time_cost, ph.memory_cost)
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = ph.hash(secrets.token_hex(8))
        stored, password = _DUMMY_HASH[key], "x"
        with contextlib.suppress(VerificationError):
            ph.verify(stored, password)
        return False
    try:
        return ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(user: User, password: str) -> None:
    """A new password hash; the devices trusted for the account stop being trusted (auth_version)."""
    user.password_hash = hash_password(password)
    user.auth_version = (user.auth_version or 0) + 1


def validate_new_password(password: str) -> None:
    if len(password or "") < 8:
        raise accounts.AccountError(_("Kata sandi minimal 8 karakter."), "password")


def change_password(user: User, current: str, new: str) -> None:
    """Requires the current password; ends the account's other sessions and the trust in its devices
    (the caller re-trusts the device in use)."""
    if not check_password(user.password_hash, current):
        raise accounts.AccountError(_("Kata sandi saat ini salah."), "current_password")
    validate_new_password(new)
    set_password(user, new)
    ended = sessions.end_all(user, "sandi", keep=user.session_id)
    audit.record("account.password_change", user, actor=user, sessions_ended=ended)
    db.session.flush()
