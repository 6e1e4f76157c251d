"""A resident signs up (alone, or with a pendamping at the office): the declared data waits in a Registration
until staff or the RT head verify it (``account_verification``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from sempelmas.domain import nik as nik_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Registration, Role, RoleGrant, User
from sempelmas.models.base import utcnow
from sempelmas.models.residents import Resident
from sempelmas.services.accountability import audit
from sempelmas.services.people import accounts
from sempelmas.services.people.passwords import hash_password

#: what a registration takes from the register when NIK, KK number and birth date match an entry there
FROM_REGISTER = ("birth_place", "gender", "address", "rt", "rw")


@dataclass
class RegistrationData:
    nik: str
    kk_number: str
    full_name: str
    birth_place: str | None
    birth_date: date
    gender: str | None
    address: str | None
    rt: str | None
    rw: str | None
    phone: str
    email: str | None
    password: str
    consent: bool
    ktp_photo: str | None = None


NOT_IN_REGISTER = _("Data Anda tidak ditemukan di data kependudukan kelurahan dengan NIK, nomor KK dan tanggal "
                    "lahir ini. Lengkapi tempat lahir, jenis kelamin, alamat, RT dan RW.")


def register_entry(nik: str | None, kk_number: str | None, birth_date: date | None) -> Resident | None:
    """The register entry a registration may take its birth place, gender, address, RT and RW from.

    Rules: NIK, KK number and birth date must all match one entry imported from the register or checked at a
    verification (an entry self-registered data made is no source), and that entry must hold all of FROM_REGISTER;
    anything less is no match (the person types them). Nothing of the entry is shown before a match: who does not
    know all three learns nothing."""
    if not (nik and kk_number and birth_date):
        return None
    entry = db.session.scalar(select(Resident).where(Resident.nik == nik, Resident.is_trusted))
    if entry is None or entry.kk_number != kk_number or entry.birth_date != birth_date:
        return None
    if not all((getattr(entry, name) or "").strip() for name in FROM_REGISTER):
        return None
    return entry


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
        raise accounts.AccountError(e.message, "nik") from e
    try:
        kk = nik_rules.check_kk(data.kk_number)
    except nik_rules.NikError as e:
        raise accounts.AccountError(e.message, "kk_number") from e
    if accounts.nik_taken(info.nik):
        raise accounts.AccountError(
            _("NIK ini sudah terdaftar. Jika Anda lupa kata sandi, datang ke kantor kelurahan "
              "dengan KTP untuk mendapatkan kode pemulihan."),
            "nik",
        )
    accounts.check_phone_free(data.phone or None)
    if not data.consent:
        raise accounts.AccountError(_("Persetujuan pemrosesan data pribadi wajib dicentang."), "consent")
    entry = register_entry(info.nik, kk, data.birth_date)
    if entry is not None:  # the register's values, not the typed ones (the form did not ask for them)
        data = replace(data, **{name: getattr(entry, name) for name in FROM_REGISTER})
    else:
        for name in FROM_REGISTER:
            if not (getattr(data, name) or "").strip():
                raise accounts.AccountError(NOT_IN_REGISTER, name)

    warnings = nik_rules.compare_with_declared(info, data.gender, data.birth_date)
    rt, rw = accounts.pad_rt(data.rt), accounts.pad_rt(data.rw)
    same_nik = db.session.scalar(select(func.count()).select_from(Registration).where(Registration.nik == info.nik))
    now = utcnow()
    user = User(
        full_name=data.full_name.strip(),
        phone=data.phone or None,
        email=data.email or None,
        status=accounts.NEW_RESIDENT,
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
        from_register=entry is not None,
    )
    return user
