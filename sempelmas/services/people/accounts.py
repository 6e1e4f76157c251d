"""Accounts: the rules every part of account handling shares: the refusal (``AccountError``), the account
status and its allowed moves, one phone per active account, who holds a NIK, and whom an account may act for.

The rest lives by responsibility: ``passwords`` (hashing, changing), ``account_login`` (signing in, throttled by
``login_guard``), ``password_resets`` (codes from the office), ``account_registration`` (a resident signs up),
``account_verification`` (staff or the RT head check a registration), ``staff_accounts`` (accounts and roles
made by an admin).
"""

from __future__ import annotations

from sqlalchemy import select

from sempelmas.domain import digits as digit_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, User
from sempelmas.models.residents import Resident
from sempelmas.services.people import sessions


class AccountError(Exception):
    """A refusal with a message for the user; ``field`` names the form field when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


#: Flask-Login's loader (the session id inside the cookie must name an open session)
load_user = sessions.load_user


# ---------------------------------------------------------------- account status

#: the status a new account starts in: a resident's waits for verification, a staff account is verified at once
NEW_RESIDENT = AccountStatus.PENDING
NEW_STAFF = AccountStatus.VERIFIED

#: the only moves of an account's status, by name: from which statuses, to which (``move_status`` is the one place
#: that changes a status). A registration waiting or refused is verified; a waiting one is refused; any account
#: not yet disabled is disabled (by an admin, or when its owner's data is erased); a disabled one is enabled
#: again, or goes back to the queue when nobody verified it yet.
STATUS_MOVES: dict[str, tuple[frozenset[AccountStatus], AccountStatus]] = {
    "verify": (frozenset({AccountStatus.PENDING, AccountStatus.REJECTED}), AccountStatus.VERIFIED),
    "reject": (frozenset({AccountStatus.PENDING}), AccountStatus.REJECTED),
    "disable": (frozenset({AccountStatus.PENDING, AccountStatus.VERIFIED, AccountStatus.REJECTED}),
                AccountStatus.DISABLED),
    "enable": (frozenset({AccountStatus.DISABLED}), AccountStatus.VERIFIED),
    "requeue": (frozenset({AccountStatus.DISABLED}), AccountStatus.PENDING),
}


def can_move(user: User, move: str) -> bool:
    """Whether ``user``'s account may take ``move`` (a key of ``STATUS_MOVES``) from its status now."""
    return AccountStatus(user.status) in STATUS_MOVES[move][0]


def move_status(user: User, move: str) -> AccountStatus:
    """Take ``move``; returns the old status. The caller checks ``can_move`` first and tells the user why not
    in its own words: a move the table does not allow from the account's status here is a programming error
    (ValueError)."""
    old, new = AccountStatus(user.status), STATUS_MOVES[move][1]
    if not can_move(user, move):
        raise ValueError(f"account status move {move!r} is not allowed from {old.value!r}")
    user.status = new
    return old


# ---------------------------------------------------------------- phone numbers

#: accounts whose phone signs no one in: a refused registration, a disabled account
INACTIVE = (AccountStatus.REJECTED, AccountStatus.DISABLED)


def phone_taken(phone: str | None, *, exclude_user_id: int | None = None) -> bool:
    """Whether another active account (not rejected, not disabled) already has ``phone`` (normalised +62…)."""
    if not phone:
        return False
    stmt = select(User.id).where(User.phone == phone, User.status.notin_([str(s) for s in INACTIVE]))
    if exclude_user_id is not None:
        stmt = stmt.where(User.id != exclude_user_id)
    return db.session.scalar(stmt.limit(1)) is not None


PHONE_TAKEN = _("Nomor HP ini sudah dipakai akun lain. Pakai nomor HP Anda sendiri; bila nomor ini memang "
                "milik Anda, datang ke kantor kelurahan agar nomor itu dilepas dari akun lain.")


#: verifying a rejected account or enabling a disabled one would give its phone two active accounts
REACTIVATED_PHONE_TAKEN = _("Nomor HP akun ini sekarang dipakai akun aktif lain, jadi akun ini belum dapat "
                            "diaktifkan: satu nomor HP hanya untuk satu akun. Hubungi kedua pemilik akun dan "
                            "minta salah satunya mengganti nomor HP lewat permintaan perbaikan data.")


def check_phone_free(phone: str | None, *, user: User | None = None, field: str = "phone") -> None:
    """Rule: a phone number signs in one account, so it belongs to one active account only.

    Every place that sets a phone calls this (registration, assisted registration, staff accounts, data
    corrections). Not a database index: older installs hold duplicates, and accounts move between
    rejected/disabled and active; login by a shared phone says what to do instead (``authenticate``)."""
    if phone_taken(phone, exclude_user_id=user.id if user is not None else None):
        raise AccountError(str(PHONE_TAKEN), field)


# ---------------------------------------------------------------- NIK, RT/RW, family

def pad_rt(value: str | None) -> str:
    """RT/RW numbers are printed with three digits: 1 → 001 (forms have checked them: domain.digits.rt_rw)."""
    return digit_rules.rt_rw(value) or (value or "").strip()


#: statuses of an account that holds its register entry (and so its NIK); a waiting or rejected one never does
HOLDING_STATUSES = (AccountStatus.VERIFIED, AccountStatus.DISABLED)


def nik_holder(nik: str) -> User | None:
    """The verified (or since disabled) account linked to the register entry of ``nik``, if any."""
    return db.session.scalar(
        select(User).join(Resident, User.resident_id == Resident.id)
        .where(Resident.nik == nik, User.status.in_(HOLDING_STATUSES))
    )


def nik_taken(nik: str) -> bool:
    """A verified (or disabled) account holds this NIK; waiting and rejected registrations never block it."""
    return nik_holder(nik) is not None


def assisted_residents(assistant: User) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.assisted_by_id == assistant.id).order_by(User.full_name)
        )
    )
