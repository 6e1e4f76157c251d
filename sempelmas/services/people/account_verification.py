"""Verifying a registration: how it compares with the imported register, whose head may verify it, and the
verification or refusal itself (the account's status moves by ``accounts.move_status``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import ACCOUNT_STATUS_LABELS, AccountStatus, Registration, Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.residents import Resident, ResidentSource
from sempelmas.services import access
from sempelmas.services.accountability import audit
from sempelmas.services.operations import notify, webhooks
from sempelmas.services.people import accounts


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
    holder = accounts.nik_holder(reg.nik)
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
        .where(Resident.nik.in_(niks), User.status.in_(accounts.HOLDING_STATUSES))))
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
        raise accounts.AccountError(_("Akun ini tidak punya data pendaftaran untuk diverifikasi."))
    entry = db.session.scalar(select(Resident).where(Resident.nik == reg.nik))
    if entry is not None:
        holder = db.session.scalar(select(User).where(User.resident_id == entry.id, User.id != user.id))
        if holder is not None:
            raise accounts.AccountError(_(
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
        raise accounts.AccountError(_("Anda tidak berwenang memverifikasi akun ini."))
    if not accounts.can_move(user, "verify"):  # only a waiting or a rejected registration
        raise accounts.AccountError(_("Akun ini tidak sedang menunggu verifikasi."))
    if accounts.phone_taken(user.phone, exclude_user_id=user.id):  # a rejected account's phone was free for others
        raise accounts.AccountError(accounts.REACTIVATED_PHONE_TAKEN)
    try:
        entry, how = _register_entry_for(user)
        user.resident = entry
        db.session.flush()
    except IntegrityError as e:
        # another verifier linked (or made) this NIK's entry between our check and our write: nothing of this
        # transaction is usable any more (and nothing was written before the check)
        db.session.rollback()
        raise accounts.AccountError(_("NIK ini baru saja diverifikasi untuk akun lain. Muat ulang halaman dan periksa "
                             "lagi.")) from e
    accounts.move_status(user, "verify")
    user.verified_by_id = verifier.id
    user.verified_at = utcnow()
    user.verification_note = note or None
    db.session.flush()
    audit.record("account.verify", user, actor=verifier, note=note or "", resident=entry.id, register_entry=how)
    notify.account_decided(user)
    webhooks.account_verified(user)
    db.session.flush()


def reject_account(verifier: User, user: User, reason: str) -> None:
    """Refuse a registration with a reason the resident sees (e.g. not living in this RT).

    The account keeps no register entry, so the NIK stays free for its real owner. Audited; tells the
    resident and their pendamping; flushes.
    """
    if not can_verify(verifier, user):
        raise accounts.AccountError(_("Anda tidak berwenang memverifikasi akun ini."))
    if not accounts.can_move(user, "reject"):  # only a waiting one
        raise accounts.AccountError(_("Akun ini tidak sedang menunggu verifikasi."))
    if not (reason or "").strip():
        raise accounts.AccountError(_("Alasan penolakan wajib diisi."), "reason")
    accounts.move_status(user, "reject")
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
