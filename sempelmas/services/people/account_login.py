"""Signing in: which account a typed NIK, phone or username names, and the password check, throttled per source
and per account (``login_guard``)."""

from __future__ import annotations

from sqlalchemy import case, func, select

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.phone import looks_like_phone, normalise
from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Registration, User
from sempelmas.models.base import utcnow
from sempelmas.services.accountability import audit
from sempelmas.services.people import accounts, login_guard
from sempelmas.services.people.passwords import check_password


def find_login_user(identifier: str) -> User | None:
    """Residents by NIK or by a phone that belongs to one account only; staff by username."""
    ident = (identifier or "").strip()
    digits = nik_rules.clean_digits(ident)
    if digit_rules.is_ascii_digits(digits) and len(digits) == 16:
        return account_by_nik(digits)
    if looks_like_phone(ident):
        # the one active account with this phone; a phone only a rejected or disabled account has still
        # names it (login then says why it cannot sign in)
        users = db.session.scalars(select(User).where(User.phone == normalise(ident)).limit(3)).all()
        active = [u for u in users if u.status not in accounts.INACTIVE]
        if len(active) == 1:
            return active[0]
        return users[0] if len(users) == 1 else None
    return db.session.scalar(select(User).where(func.lower(User.username) == ident.lower()))


def account_by_nik(nik: str) -> User | None:
    """The account a NIK stands for: the one holding its register entry (``nik_holder``), else the newest
    registration of that NIK still waiting for verification; a rejected one only when no other is left
    (its owner may still log in to read the reason), a disabled one last."""
    holder = accounts.nik_holder(nik)
    if holder is not None:
        return holder
    rank = case((User.status == AccountStatus.REJECTED, 1), (User.status == AccountStatus.DISABLED, 2), else_=0)
    return db.session.scalar(
        select(User).join(Registration, Registration.user_id == User.id)
        .where(Registration.nik == nik, User.resident_id.is_(None))
        .order_by(rank, User.created_at.desc(), User.id.desc()).limit(1)
    )


SHARED_PHONE = _("Nomor HP ini dipakai oleh lebih dari satu akun, jadi tidak dapat dipakai untuk masuk. Masuk "
                 "dengan NIK Anda (warga) atau nama pengguna Anda (petugas), lalu minta petugas membetulkan "
                 "nomor HP akun yang lain.")


def _typed(identifier: str) -> str:
    """What was typed as the login name, for the audit log of attempts on no account."""
    return (identifier or "").strip().lower()[:64]


def _shared_phone_account(identifier: str, password: str) -> User | None:
    """For a phone several active accounts share (older data): the one whose password this is, if any."""
    ident = (identifier or "").strip()
    if not looks_like_phone(ident):
        return None
    users = db.session.scalars(select(User).where(
        User.phone == normalise(ident), User.status.notin_([str(s) for s in accounts.INACTIVE])).limit(3)).all()
    if len(users) < 2:
        return None
    return next((u for u in users if u.password_hash and check_password(u.password_hash, password)), None)


def authenticate(identifier: str, password: str, *, client: login_guard.Client | None = None) -> User:
    """Return the user or raise AccountError with one message for unknown user and wrong password.

    Rules: wrong passwords are throttled per source and per account (services/people/login_guard.py), so a
    stranger cannot lock the owner out: a locked source or device is refused even with the right password;
    a disabled account cannot log in; a phone that older data gives to several accounts gets, with the
    right password, a message saying to log in with the NIK or username instead.
    """
    client = client or login_guard.Client(address=audit.client_ip())
    user = find_login_user(identifier)
    guard = login_guard.guard_for(user, identifier, client)
    refused = login_guard.refusal(guard)
    if refused:
        audit.record("auth.login_locked", actor=None, object_type="users" if user else None,
                     object_id=user.id if user else None, identifier=_typed(identifier) if user is None else None)
        raise accounts.AccountError(refused)
    ok = check_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        if user is None and (shared := _shared_phone_account(identifier, password)) is not None:
            audit.record("auth.login_shared_phone", shared, actor=None)
            raise accounts.AccountError(str(SHARED_PHONE))
        login_guard.record_failure(guard)
        audit.record(
            "auth.login_failed",
            actor=None,
            object_type="users" if user else None,
            object_id=user.id if user else None,
            identifier=_typed(identifier) if user is None else None,
        )
        raise accounts.AccountError(_("NIK/nama pengguna atau kata sandi salah."))
    login_guard.record_success(guard)
    user.last_login_at = utcnow()
    audit.record("auth.login", user, actor=user)
    return user
