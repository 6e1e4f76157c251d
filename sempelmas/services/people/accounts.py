"""Accounts: passwords, login (throttled by services/people/login_guard.py), resident registration and verification,
roles, resets, phone numbers."""

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
from sqlalchemy.orm import aliased

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.phone import PhoneError, looks_like_phone, normalise
from sempelmas.extensions import db
from sempelmas.models.accounts import (
    ACCOUNT_STATUS_LABELS,
    AccountStatus,
    PasswordResetCode,
    Registration,
    Role,
    RoleGrant,
    User,
)
from sempelmas.models.base import utcnow
from sempelmas.models.residents import Resident, ResidentSource
from sempelmas.services import access
from sempelmas.services.accountability import audit
from sempelmas.services.operations import notify
from sempelmas.services.people import login_guard, sessions

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
    """A new password hash; the devices trusted for the account stop being trusted (auth_version)."""
    user.password_hash = hash_password(password)
    user.auth_version = (user.auth_version or 0) + 1


#: Flask-Login's loader (the session id inside the cookie must name an open session)
load_user = sessions.load_user


# ---------------------------------------------------------------- phone numbers

#: accounts whose phone signs no one in: a refused registration, a disabled account
_INACTIVE = (AccountStatus.REJECTED, AccountStatus.DISABLED)


def phone_taken(phone: str | None, *, exclude_user_id: int | None = None) -> bool:
    """Whether another active account (not rejected, not disabled) already has ``phone`` (normalised +62…)."""
    if not phone:
        return False
    stmt = select(User.id).where(User.phone == phone, User.status.notin_([str(s) for s in _INACTIVE]))
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


# ---------------------------------------------------------------- login


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
        active = [u for u in users if u.status not in _INACTIVE]
        if len(active) == 1:
            return active[0]
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
        User.phone == normalise(ident), User.status.notin_([str(s) for s in _INACTIVE])).limit(3)).all()
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
        raise AccountError(refused)
    ok = check_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        if user is None and (shared := _shared_phone_account(identifier, password)) is not None:
            audit.record("auth.login_shared_phone", shared, actor=None)
            raise AccountError(str(SHARED_PHONE))
        login_guard.record_failure(guard)
        audit.record(
            "auth.login_failed",
            actor=None,
            object_type="users" if user else None,
            object_id=user.id if user else None,
            identifier=_typed(identifier) if user is None else None,
        )
        raise AccountError(_("NIK/nama pengguna atau kata sandi salah."))
    login_guard.record_success(guard)
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
    check_phone_free(data.phone or None)
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
    return access.heads_rt(verifier, *review_area(user))


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
    if phone_taken(user.phone, exclude_user_id=user.id):  # a rejected account's phone was free for others
        raise AccountError(REACTIVATED_PHONE_TAKEN)
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
        if verifier.grant(Role.RT_HEAD) is None:
            return []
        entry = aliased(Resident)
        stmt = stmt.outerjoin(entry, and_(entry.nik == Registration.nik, entry.source == ResidentSource.IMPORT,
                                          entry.rt.is_not(None), entry.rw.is_not(None)))
        stmt = stmt.where(access.area_clause(verifier, func.coalesce(entry.rt, Registration.rt),
                                             func.coalesce(entry.rw, Registration.rw), rw_heads=False))
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------- passwords


def validate_new_password(password: str) -> None:
    if len(password or "") < 8:
        raise AccountError(_("Kata sandi minimal 8 karakter."), "password")


def change_password(user: User, current: str, new: str) -> None:
    """Requires the current password; ends the account's other sessions and the trust in its devices
    (the caller re-trusts the device in use)."""
    if not check_password(user.password_hash, current):
        raise AccountError(_("Kata sandi saat ini salah."), "current_password")
    validate_new_password(new)
    set_password(user, new)
    ended = sessions.end_all(user, "sandi", keep=user.session_id)
    audit.record("account.password_change", user, actor=user, sessions_ended=ended)
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


def redeem_reset_code(nik: str, code: str, new_password: str, *, client: login_guard.Client | None = None) -> User:
    """Set a new password with a valid code; the code is spent, every session ends.

    Rules: wrong codes count with wrong passwords (services/people/login_guard.py) and a locked source or device
    is refused; the lock of an account's untrusted clients is not (the code came from the office in
    person), and the caller then trusts the client that redeemed it."""
    wrong = AccountError(_("NIK atau kode pemulihan salah, sudah dipakai, atau kedaluwarsa."), "code")
    client = client or login_guard.Client(address=audit.client_ip())
    user = find_login_user(nik)
    guard = login_guard.guard_for(user, nik, client)
    refused = login_guard.refusal(guard, account_wide=False)
    if refused:
        raise AccountError(refused, "code")
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


# ---------------------------------------------------------------- staff accounts and roles


def create_staff_account(
    username: str, full_name: str, password: str, roles: list[str], *, actor: User | None,
    rt: str | None = None, rw: str | None = None, phone: str | None = None,
) -> User:
    """Create an account for staff, officials, RT/RW heads or pendamping (verified from the start)."""
    username = (username or "").strip().lower()
    plain = username.replace("-", "").replace("_", "").replace(".", "")
    if not username or not plain.isascii() or not plain.isalnum():  # ASCII: no look-alike of another name
        raise AccountError(_("Nama pengguna hanya boleh huruf, angka, titik, - dan _."), "username")
    if username.isdigit():
        raise AccountError(_("Nama pengguna tidak boleh hanya angka."), "username")
    if db.session.scalar(select(User.id).where(func.lower(User.username) == username)):
        raise AccountError(_("Nama pengguna sudah dipakai."), "username")
    if phone:
        try:
            phone = normalise(phone)
        except PhoneError as e:
            raise AccountError(str(e), "phone") from e
        check_phone_free(phone)
    validate_new_password(password)
    user = User(username=username, full_name=full_name.strip(), status=AccountStatus.VERIFIED,
                phone=phone or None)
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
    trusted entries on its KK (``access.family_kk``); never a row someone typed at registration."""
    own = user.resident
    if own is None:
        return []
    kk = access.family_kk(user)
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
        if phone_taken(user.phone, exclude_user_id=user.id):  # a disabled account's phone was free for others
            raise AccountError(REACTIVATED_PHONE_TAKEN)
        # a resident disabled before anyone verified them goes back to the queue, not to "verified"
        never_verified = user.registration is not None and user.resident_id is None
        user.status = AccountStatus.PENDING if never_verified else AccountStatus.VERIFIED
        audit.record("account.enable", user, actor=actor)
    elif not active and user.status != AccountStatus.DISABLED:
        user.status = AccountStatus.DISABLED
        user.auth_version += 1  # its devices are no longer trusted
        ended = sessions.end_all(user, "nonaktif")  # and every session ends at once
        audit.record("account.disable", user, actor=actor, sessions_ended=ended)
    db.session.flush()


def list_accounts(query: str = "", limit: int = 100) -> list[User]:
    stmt = select(User).where(User.username.is_not(None)).order_by(User.username)
    if query:
        stmt = stmt.where(func.lower(User.full_name).contains(query.lower())
                          | func.lower(User.username).contains(query.lower()))
    return list(db.session.scalars(stmt.limit(limit)))
