"""Accounts: passwords, login with lockout, resident registration and verification, roles, resets."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from sempelmas.domain import nik as nik_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.phone import looks_like_phone, normalise
from sempelmas.extensions import db
from sempelmas.models.accounts import (
    ACCOUNT_STATUS_LABELS,
    AccountStatus,
    LoginFailure,
    PasswordResetCode,
    Registration,
    Role,
    RoleGrant,
    User,
)
from sempelmas.models.base import utcnow
from sempelmas.models.residents import Resident, ResidentSource
from sempelmas.services import audit, notify, request_access

# A hash computed once so a login for an unknown user costs as much as a real one.
_DUMMY_HASH: dict[tuple, str] = {}


class AccountError(Exception):
    """A refusal with a message for the user; ``field`` names the form field when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


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
    user.password_hash = hash_password(password)
    user.auth_version = (user.auth_version or 0) + 1


def load_user(user_id: str) -> User | None:
    """Flask-Login loader: ``id.auth_version``; a changed password ends other sessions."""
    try:
        uid, version = (int(p) for p in user_id.split("."))
    except ValueError:
        return None
    # one query for the user, its roles and register entry: this runs on every signed-in request
    user = db.session.scalars(
        select(User).options(joinedload(User.roles), joinedload(User.resident)).where(User.id == uid)
    ).unique().one_or_none()
    if user is None or user.auth_version != version:
        return None
    return user


# ---------------------------------------------------------------- login


def find_login_user(identifier: str) -> User | None:
    """Residents by NIK or by a phone that belongs to one account only; staff by username."""
    ident = (identifier or "").strip()
    digits = nik_rules.clean_digits(ident)
    if digits.isdigit() and len(digits) == 16:
        return account_by_nik(digits)
    if looks_like_phone(ident):
        phone = normalise(ident)
        users = db.session.scalars(select(User).where(User.phone == phone).limit(2)).all()
        return users[0] if len(users) == 1 else None
    return db.session.scalar(select(User).where(func.lower(User.username) == ident.lower()))


def account_by_nik(nik: str) -> User | None:
    """The account a NIK stands for: the one holding its register entry (``nik_holder``), else the newest
    registration of that NIK still waiting for verification; a rejected one only when no other is left
    (its owner may still log in to read the reason), a disabled one last."""
    holder = nik_holder(nik)
    if holder is not None:
        return holder
    rank = case((User.status == AccountStatus.REJECTED, 1), (User.status == AccountStatus.DISABLED, 2), else_=0)
    return db.session.scalar(
        select(User).join(Registration, Registration.user_id == User.id)
        .where(Registration.nik == nik, User.resident_id.is_(None))
        .order_by(rank, User.created_at.desc(), User.id.desc()).limit(1)
    )


def _failure_key(identifier: str) -> str:
    return (identifier or "").strip().lower()[:64]


def is_locked(user: User | None, identifier: str) -> bool:
    now = utcnow()
    if user is not None:
        return bool(user.locked_until and user.locked_until > now)
    row = db.session.scalar(select(LoginFailure).where(LoginFailure.identifier == _failure_key(identifier)))
    return bool(row and row.locked_until and row.locked_until > now)


def _register_failure(user: User | None, identifier: str) -> None:
    cfg = current_app.config
    lock_for = timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"])
    if user is not None:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
            user.locked_until = utcnow() + lock_for
            user.failed_logins = 0
            audit.record("auth.lockout", user, actor=user)
        return
    key = _failure_key(identifier)
    row = db.session.scalar(select(LoginFailure).where(LoginFailure.identifier == key))
    if row is None:
        row = LoginFailure(identifier=key, count=0)
        db.session.add(row)
    row.count += 1
    row.updated_at = utcnow()
    if row.count >= cfg["LOGIN_MAX_FAILURES"]:
        row.locked_until = utcnow() + lock_for
        row.count = 0


def authenticate(identifier: str, password: str) -> User:
    """Return the user or raise AccountError with one message for unknown user and wrong password.

    Rules: a locked account (too many failures) is refused for a while, even with the right password;
    failures are counted in the database so every worker sees them; a disabled account cannot log in.
    """
    user = find_login_user(identifier)
    if is_locked(user, identifier):
        audit.record("auth.login_locked", actor=user, identifier=_failure_key(identifier))
        raise AccountError(
            _("Terlalu banyak percobaan gagal. Akun dikunci sementara; coba lagi dalam %(m)d menit.",
              m=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        )
    ok = check_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        _register_failure(user, identifier)
        audit.record(
            "auth.login_failed",
            actor=None,
            object_type="users" if user else None,
            object_id=user.id if user else None,
            identifier=_failure_key(identifier) if user is None else None,
        )
        raise AccountError(_("NIK/nama pengguna atau kata sandi salah."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    audit.record("auth.login", user, actor=user)
    return user


# ---------------------------------------------------------------- registration


@dataclass
class RegistrationData:
    nik: str
    kk_number: str
    full_name: str
    birth_place: str
    birth_date: date
    gender: str
    address: str
    rt: str
    rw: str
    phone: str
    email: str | None
    password: str
    consent: bool
    ktp_photo: str | None = None


def pad_rt(value: str | None) -> str:
    """RT/RW numbers are printed with three digits: 1 → 001."""
    v = (value or "").strip()
    return v.zfill(3) if v.isdigit() else v


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


def register_resident(data: RegistrationData, *, assisted_by: User | None = None) -> User:
    """Create a resident account waiting for verification.

    Rules: NIK and KK must pass the format rules; a NIK held by a verified (or disabled) account is
    refused, while waiting or rejected registrations of it never block anyone (several may wait; staff
    see them flagged side by side); consent is required (time and text version stored) unless a
    pendamping registers a person present at the office, whose consent the pendamping records; a NIK
    date or gender that disagrees with the typed values becomes a warning for staff, never a refusal.
    The declared data is kept in the Registration only: the account gets no register entry, and so no
    family, until staff or the RT head verify it (``verify_account``).
    """
    try:
        info = nik_rules.parse(data.nik)
    except nik_rules.NikError as e:
        raise AccountError(e.message, "nik") from e
    try:
        kk = nik_rules.check_kk(data.kk_number)
    except nik_rules.NikError as e:
        raise AccountError(e.message, "kk_number") from e
    if nik_taken(info.nik):
        raise AccountError(
            _("NIK ini sudah terdaftar. Jika Anda lupa kata sandi, datang ke kantor kelurahan "
              "dengan KTP untuk mendapatkan kode pemulihan."),
            "nik",
        )
    if not data.consent:
        raise AccountError(_("Persetujuan pemrosesan data pribadi wajib dicentang."), "consent")

    warnings = nik_rules.compare_with_declared(info, data.gender, data.birth_date)
    rt, rw = pad_rt(data.rt), pad_rt(data.rw)
    same_nik = db.session.scalar(select(func.count()).select_from(Registration).where(Registration.nik == info.nik))
    now = utcnow()
    user = User(
        full_name=data.full_name.strip(),
        phone=data.phone or None,
        email=data.email or None,
        status=AccountStatus.PENDING,
        assisted_by_id=assisted_by.id if assisted_by else None,
        consent_at=now,
        consent_version=current_app.config["CONSENT_VERSION"],
    )
    if data.password:
        user.password_hash = hash_password(data.password)
    user.roles.append(RoleGrant(role=Role.RESIDENT))
    user.registration = Registration(
        nik=info.nik, kk_number=kk, full_name=data.full_name.strip(), birth_place=data.birth_place,
        birth_date=data.birth_date, gender=data.gender, address=data.address, rt=rt, rw=rw,
        nik_warnings=warnings, ktp_photo=data.ktp_photo,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "account.register", user, actor=assisted_by or user,
        on_behalf_of=user if assisted_by else None, nik_warnings=len(warnings), same_nik_registrations=same_nik,
    )
    return user


@dataclass
class RegisterMatch:
    """How the declared data compares with the imported register, and who else claims the NIK (evidence for
    the verifier, never automatic)."""

    in_register: bool
    fields: dict[str, bool]
    #: the account already holding the NIK's register entry: verifying this one is refused until it is sorted
    holder: User | None = None
    #: other accounts that registered the same NIK (waiting, rejected, verified …), oldest first
    other_registrations: list[User] = field(default_factory=list)
    #: trusted register entries on the declared KK number other than the NIK's own
    kk_members: int = 0

    @property
    def matches(self) -> bool:
        return self.in_register and all(self.fields.values())


def _imported_entry(nik: str) -> Resident | None:
    return db.session.scalar(select(Resident).where(Resident.nik == nik, Resident.source == ResidentSource.IMPORT))


def register_match(user: User) -> RegisterMatch:
    """Compare the registration with the imported register entry of its NIK; name the account holding that
    entry, the other registrations of the NIK and how many register entries carry the declared KK."""
    reg = user.registration
    if reg is None:
        return RegisterMatch(False, {})
    holder = nik_holder(reg.nik)
    others = list(db.session.scalars(
        select(User).join(Registration, Registration.user_id == User.id)
        .where(Registration.nik == reg.nik, User.id != user.id).order_by(User.created_at, User.id)))
    kk_members = db.session.scalar(select(func.count()).select_from(Resident).where(
        Resident.kk_number == reg.kk_number, Resident.nik != reg.nik, Resident.is_trusted)) or 0
    common = {"holder": holder if holder is not None and holder.id != user.id else None,
              "other_registrations": others, "kk_members": kk_members}
    resident = user.resident if user.resident is not None and user.resident.nik == reg.nik else None
    resident = resident or _imported_entry(reg.nik)
    if resident is None or resident.source != ResidentSource.IMPORT:
        return RegisterMatch(False, {}, **common)
    return RegisterMatch(
        True,
        {
            "nik": reg.nik == resident.nik,
            "kk_number": reg.kk_number == resident.kk_number,
            "birth_date": reg.birth_date == resident.birth_date,
        },
        **common,
    )


def shared_nik(users: list[User]) -> set[int]:
    """The ids of ``users`` whose registered NIK another account registered too or already holds."""
    niks = {u.registration.nik for u in users if u.registration is not None}
    if not niks:
        return set()
    repeated = set(db.session.scalars(
        select(Registration.nik).where(Registration.nik.in_(niks)).group_by(Registration.nik)
        .having(func.count() > 1)))
    held = set(db.session.scalars(
        select(Resident.nik).join(User, User.resident_id == Resident.id)
        .where(Resident.nik.in_(niks), User.status.in_(HOLDING_STATUSES))))
    return {u.id for u in users if u.registration is not None and u.registration.nik in repeated | held}


def review_area(user: User) -> tuple[str | None, str | None]:
    """The RT and RW whose head may verify ``user``: the imported register's when its NIK is there (typing
    another RT cannot hand someone's register entry to that RT's head), otherwise the declared ones."""
    reg = user.registration
    if reg is None:
        resident = user.resident
        return (resident.rt, resident.rw) if resident is not None else (None, None)
    entry = _imported_entry(reg.nik)
    if entry is not None and entry.rt and entry.rw:
        return entry.rt, entry.rw
    return reg.rt, reg.rw


def can_verify(verifier: User, user: User) -> bool:
    """Staff and admins verify anyone; an RT head verifies residents of his own RT (``review_area``)."""
    if verifier.has_role(Role.STAFF, Role.ADMIN):
        return True
    grant = verifier.grant(Role.RT_HEAD)
    return bool(grant and (grant.rt, grant.rw) == review_area(user))


def _register_entry_for(user: User) -> tuple[Resident, str]:
    """The register entry a verified account stands on, and how it was found: the one of its NIK
    ("ditautkan"), else one made from the declared data ("dibuat"). Refused when another account
    already holds the NIK's entry."""
    if user.resident is not None:  # linked before issue 12's rules; keep it
        return user.resident, "ditautkan"
    reg = user.registration
    if reg is None:
        raise AccountError(_("Akun ini tidak punya data pendaftaran untuk diverifikasi."))
    entry = db.session.scalar(select(Resident).where(Resident.nik == reg.nik))
    if entry is not None:
        holder = db.session.scalar(select(User).where(User.resident_id == entry.id, User.id != user.id))
        if holder is not None:
            raise AccountError(_(
                "Data penduduk dengan NIK ini sudah dipakai akun lain: %(name)s (%(status)s). Periksa akun itu "
                "dulu; akun ini belum diverifikasi.",
                name=holder.full_name, status=ACCOUNT_STATUS_LABELS[AccountStatus(holder.status)]))
        if entry.is_trusted:
            return entry, "ditautkan"  # the register's data stays; differences were the verifier's evidence
    else:
        entry = Resident(nik=reg.nik, citizenship="WNI")
        db.session.add(entry)
    # a new entry, or one typed by some registrant before issue 12 and never checked: what was verified now
    for name in ("kk_number", "full_name", "birth_place", "birth_date", "gender", "address", "rt", "rw"):
        setattr(entry, name, getattr(reg, name))
    entry.source = ResidentSource.VERIFIED
    db.session.flush()
    return entry, "dibuat"


def verify_account(verifier: User, user: User, note: str | None = None) -> None:
    """Verify a waiting (or rejected) resident account and give it its register entry.

    Rules: ``can_verify``; only from "menunggu_verifikasi" or "ditolak". The account is linked to the
    register entry of its NIK, refused (AccountError) while another account holds that entry; without
    one, an entry is made from the declared data (source "verifikasi"), which from now on may make the
    resident family of others on that KK. Audited; tells the resident and their pendamping; flushes.
    """
    if not can_verify(verifier, user):
        raise AccountError(_("Anda tidak berwenang memverifikasi akun ini."))
    if user.status not in (AccountStatus.PENDING, AccountStatus.REJECTED):
        raise AccountError(_("Akun ini tidak sedang menunggu verifikasi."))
    try:
        entry, how = _register_entry_for(user)
        user.resident = entry
        db.session.flush()
    except IntegrityError as e:
        # another verifier linked (or made) this NIK's entry between our check and our write: nothing of this
        # transaction is usable any more (and nothing was written before the check)
        db.session.rollback()
        raise AccountError(_("NIK ini baru saja diverifikasi untuk akun lain. Muat ulang halaman dan periksa "
                             "lagi.")) from e
    user.status = AccountStatus.VERIFIED
    user.verified_by_id = verifier.id
    user.verified_at = utcnow()
    user.verification_note = note or None
    db.session.flush()
    audit.record("account.verify", user, actor=verifier, note=note or "", resident=entry.id, register_entry=how)
    notify.account_decided(user)
    db.session.flush()


def reject_account(verifier: User, user: User, reason: str) -> None:
    """Refuse a registration with a reason the resident sees (e.g. not living in this RT).

    The account keeps no register entry, so the NIK stays free for its real owner. Audited; tells the
    resident and their pendamping; flushes.
    """
    if not can_verify(verifier, user):
        raise AccountError(_("Anda tidak berwenang memverifikasi akun ini."))
    if user.status != AccountStatus.PENDING:
        raise AccountError(_("Akun ini tidak sedang menunggu verifikasi."))
    if not (reason or "").strip():
        raise AccountError(_("Alasan penolakan wajib diisi."), "reason")
    user.status = AccountStatus.REJECTED
    user.resident_id = None
    user.verified_by_id = verifier.id
    user.verified_at = utcnow()
    user.verification_note = reason.strip()
    audit.record("account.reject", user, actor=verifier, reason=reason.strip())
    notify.account_decided(user)
    db.session.flush()


def pending_accounts(verifier: User) -> list[User]:
    """Accounts waiting for verification, oldest first: all of them for staff and admins, those of his RT
    (``review_area``) for an RT head."""
    stmt = (
        select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(User.status == AccountStatus.PENDING)
        .order_by(User.created_at)
    )
    if not verifier.has_role(Role.STAFF, Role.ADMIN):
        grant = verifier.grant(Role.RT_HEAD)
        if grant is None:
            return []
        entry = aliased(Resident)
        stmt = stmt.outerjoin(entry, and_(entry.nik == Registration.nik, entry.source == ResidentSource.IMPORT,
                                          entry.rt.is_not(None), entry.rw.is_not(None)))
        stmt = stmt.where(func.coalesce(entry.rt, Registration.rt) == grant.rt,
                          func.coalesce(entry.rw, Registration.rw) == grant.rw)
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- passwords


def validate_new_password(password: str) -> None:
    if len(password or "") < 8:
        raise AccountError(_("Kata sandi minimal 8 karakter."), "password")


def change_password(user: User, current: str, new: str) -> None:
    """Requires the current password; ends the account's other sessions."""
    if not check_password(user.password_hash, current):
        raise AccountError(_("Kata sandi saat ini salah."), "current_password")
    validate_new_password(new)
    set_password(user, new)
    audit.record("account.password_change", user, actor=user)
    db.session.flush()


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


def redeem_reset_code(nik: str, code: str, new_password: str) -> User:
    """Set a new password with a valid code; the code is spent, other sessions end, lockout lifts."""
    wrong = AccountError(_("NIK atau kode pemulihan salah, sudah dipakai, atau kedaluwarsa."), "code")
    user = find_login_user(nik)
    clean = (code or "").replace("-", "").replace(" ", "").upper()
    if user is None:
        check_password(None, clean)
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
        _register_failure(user, nik)
        raise wrong
    validate_new_password(new_password)
    match.used_at = now
    set_password(user, new_password)
    user.locked_until = None
    user.failed_logins = 0
    audit.record("account.password_reset", user, actor=user)
    db.session.flush()
    return user


# ---------------------------------------------------------------- staff accounts and roles


def create_staff_account(
    username: str, full_name: str, password: str, roles: list[str], *, actor: User | None,
    rt: str | None = None, rw: str | None = None, phone: str | None = None,
) -> User:
    """Create an account for staff, officials, RT/RW heads or pendamping (verified from the start)."""
    username = (username or "").strip().lower()
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise AccountError(_("Nama pengguna hanya boleh huruf, angka, titik, - dan _."), "username")
    if username.isdigit():
        raise AccountError(_("Nama pengguna tidak boleh hanya angka."), "username")
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username)):
        raise AccountError(_("Nama pengguna sudah dipakai."), "username")
    validate_new_password(password)
    user = User(username=username, full_name=full_name.strip(), status=AccountStatus.VERIFIED,
                phone=phone)
    user.password_hash = hash_password(password)
    db.session.add(user)
    for role in roles:
        set_role(user, role, True, actor=actor, rt=rt, rw=rw, audit_it=False)
    db.session.flush()
    audit.record("account.create", user, actor=actor, roles=sorted(roles))
    return user


def set_role(user: User, role: str, on: bool, *, actor: User | None, rt: str | None = None,
             rw: str | None = None, audit_it: bool = True) -> None:
    """Grant or take away a role; RT/RW heads need the RT and RW they lead."""
    if role not in set(Role):
        raise AccountError(_("Peran tidak dikenal."), "role")
    grant = user.grant(role)
    if on:
        if role == Role.RT_HEAD and not (rt and rw):
            raise AccountError(_("Ketua RT harus diberi nomor RT dan RW."), "rt")
        if role == Role.RW_HEAD and not rw:
            raise AccountError(_("Ketua RW harus diberi nomor RW."), "rw")
        scope_rt = pad_rt(rt) if role == Role.RT_HEAD else None
        scope_rw = pad_rt(rw) if role in (Role.RT_HEAD, Role.RW_HEAD) else None
        if grant is None:
            user.roles.append(RoleGrant(role=role, rt=scope_rt, rw=scope_rw))
        else:
            grant.rt, grant.rw = scope_rt, scope_rw
    elif grant is not None:
        user.roles.remove(grant)
    if audit_it:
        audit.record("account.role_" + ("grant" if on else "revoke"), user, actor=actor, role=role,
                     rt=rt, rw=rw)


def family_members(user: User) -> list[Resident]:
    """The people ``user`` may request letters for: its own register entry first, then, once verified, the
    trusted entries on its KK (``request_access.family_kk``); never a row someone typed at registration."""
    own = user.resident
    if own is None:
        return []
    kk = request_access.family_kk(user)
    if kk is None:
        return [own]
    members = db.session.scalars(
        select(Resident).where(Resident.kk_number == kk, Resident.is_trusted).order_by(Resident.birth_date)
    ).all()
    return sorted(members, key=lambda r: r.id != own.id)


def assisted_residents(assistant: User) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.assisted_by_id == assistant.id).order_by(User.full_name)
        )
    )


def update_roles(user: User, roles: set[str], *, actor: User, rt: str | None, rw: str | None,
                 active: bool) -> None:
    """Set exactly these roles; an admin cannot take away his own admin role or disable himself.
    Enabling again restores "verified", except for a resident nobody verified yet: back to the queue."""
    if user.id == actor.id and (Role.ADMIN not in roles or not active):
        raise AccountError(_("Anda tidak dapat mencabut peran admin atau menonaktifkan akun sendiri."))
    if Role.RESIDENT in roles and user.resident_id is None and user.registration is None:
        raise AccountError(_("Peran warga hanya untuk akun yang terhubung dengan data penduduk."), "roles")
    for role in set(Role):
        currently = user.grant(role)
        wanted = role in roles
        if wanted:
            scope_changed = currently is not None and role in (Role.RT_HEAD, Role.RW_HEAD) and (
                currently.rt != (pad_rt(rt) if role == Role.RT_HEAD else None)
                or currently.rw != pad_rt(rw)
            )
            if currently is None or scope_changed:
                set_role(user, role, True, actor=actor, rt=rt, rw=rw)
        elif currently is not None:
            set_role(user, role, False, actor=actor)
    if active and user.status == AccountStatus.DISABLED:
        # a resident disabled before anyone verified them goes back to the queue, not to "verified"
        never_verified = user.registration is not None and user.resident_id is None
        user.status = AccountStatus.PENDING if never_verified else AccountStatus.VERIFIED
        audit.record("account.enable", user, actor=actor)
    elif not active and user.status != AccountStatus.DISABLED:
        user.status = AccountStatus.DISABLED
        user.auth_version += 1  # end the account's sessions at once
        audit.record("account.disable", user, actor=actor)
    db.session.flush()


def list_accounts(query: str = "", limit: int = 100) -> list[User]:
    stmt = select(User).where(User.username.is_not(None)).order_by(User.username)
    if query:
        stmt = stmt.where(func.lower(User.full_name).contains(query.lower())
                          | func.lower(User.username).contains(query.lower()))
    return list(db.session.scalars(stmt.limit(limit)))
