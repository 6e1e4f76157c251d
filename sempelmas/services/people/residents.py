"""The population register: search, households, KK changes."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.residents import KKHistory, Resident
from sempelmas.services.accountability import audit
from sempelmas.services.people import account_login


class ResidentError(ValueError):
    pass


def search(query: str, limit: int = 50, offset: int = 0) -> tuple[list[Resident], int]:
    """By NIK or KK (exact or prefix of digits) or by name (case-insensitive, any part)."""
    q = (query or "").strip()
    stmt = select(Resident)
    if q:
        digits = nik_rules.clean_digits(q)
        if digit_rules.is_ascii_digits(digits):
            stmt = stmt.where(or_(Resident.nik.startswith(digits), Resident.kk_number.startswith(digits)))
        else:
            stmt = stmt.where(func.lower(Resident.full_name).contains(q.lower()))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(Resident.full_name).limit(limit).offset(offset)).all()
    return list(rows), total or 0


def household(kk_number: str) -> list[Resident]:
    return list(
        db.session.scalars(
            select(Resident).where(Resident.kk_number == kk_number).order_by(Resident.birth_date)
        )
    )


def kk_history(resident: Resident) -> list[KKHistory]:
    return list(
        db.session.scalars(
            select(KKHistory).where(KKHistory.resident_id == resident.id).order_by(KKHistory.changed_at.desc())
        )
    )


def change_kk(resident: Resident, new_kk: str, *, actor: User, source: str = "petugas") -> None:
    """A KK number changes (moving, divorce, split); the old one is kept in the history."""
    try:
        kk = nik_rules.check_kk(new_kk)
    except nik_rules.NikError as e:
        raise ResidentError(e.message) from e
    if kk == resident.kk_number:
        raise ResidentError(_("Nomor KK baru sama dengan yang lama."))
    db.session.add(KKHistory(resident_id=resident.id, old_kk_number=resident.kk_number,
                             new_kk_number=kk, changed_by_id=actor.id, source=source))
    audit.record("resident.kk_change", resident, actor=actor, old=resident.kk_number, new=kk)
    resident.kk_number = kk
    db.session.flush()


def account_for(resident: Resident) -> User | None:
    """The account of this entry's NIK: the one holding the entry, else a registration of it still waiting
    (``account_login.account_by_nik``, the account a reset code for this NIK opens)."""
    return account_login.account_by_nik(resident.nik)
