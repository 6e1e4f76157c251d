"""Who may see and act on what: the one module that holds the access rules.

- **The RT/RW area.** The head of an RT sees and endorses the residents of his RT, the head of an RW those of
  his RW (``in_area``; ``area_clause`` is the same rule as a WHERE clause). Verifying accounts is narrower: only
  the head of the resident's own RT (``heads_rt``).
- **The family.** Family membership comes from trusted register entries only (imported, or checked when staff
  or the RT head verified an account), and only a verified account has a family. Until then an account sees only
  what it entered itself; a KK number or NIK someone typed never opens anyone else's data. The rules exist in the
  two forms the app needs: one request in Python (``is_family_request``), a list in SQL
  (``family_request_ids``).
- **A letter request and its files** (``can_view``): staff and signers see any, RT/RW heads their area,
  residents their own and their family's. Screens answer 404 to anyone else.

The web layer's decorators (``sempelmas.web.access``) only check that someone is signed in with a role and ask
this module the rest.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, false, or_, select, union
from sqlalchemy.sql.elements import ColumnElement

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, RoleGrant, User
from sempelmas.models.requests import LetterRequest
from sempelmas.models.residents import Resident

# ---------------------------------------------------------------- the RT/RW area


def heads_rt(user: User, rt: str | None, rw: str | None) -> bool:
    """``user`` is the head of RT ``rt`` in RW ``rw``."""
    return rt is not None and any(g.role == Role.RT_HEAD and (g.rt, g.rw) == (rt, rw) for g in user.roles)


def heads_rw(user: User, rw: str | None) -> bool:
    """``user`` is the head of RW ``rw``."""
    return rw is not None and any(g.role == Role.RW_HEAD and g.rw == rw for g in user.roles)


def in_area(user: User, resident: Resident | None) -> bool:
    """``resident`` lives in the RT ``user`` heads, or in the RW ``user`` heads."""
    return resident is not None and (heads_rt(user, resident.rt, resident.rw) or heads_rw(user, resident.rw))


def area_clause(user: User, rt: ColumnElement, rw: ColumnElement, *, rt_heads: bool = True,
                rw_heads: bool = True) -> ColumnElement[bool]:
    """``in_area`` as a WHERE clause over the columns (or expressions) ``rt`` and ``rw`` (``heads_rt`` alone
    with ``rw_heads=False``, ``heads_rw`` alone with ``rt_heads=False``); false for a user who heads nothing."""
    conditions = []
    for grant in user.roles:
        if grant.role == Role.RT_HEAD and rt_heads:
            conditions.append(and_(rt == grant.rt, rw == grant.rw))
        elif grant.role == Role.RW_HEAD and rw_heads:
            conditions.append(rw == grant.rw)
    return or_(*conditions) if conditions else false()


def heads_of_clause(resident: Resident, *, rt_heads: bool = True, rw_heads: bool = True) -> ColumnElement[bool]:
    """The other way round, over ``RoleGrant``: the grants of the heads in whose area ``resident`` lives (those
    of his RT with ``rw_heads=False``, of his RW with ``rt_heads=False``)."""
    conditions = []
    if rt_heads:
        conditions.append(and_(RoleGrant.role == Role.RT_HEAD, RoleGrant.rt == resident.rt,
                               RoleGrant.rw == resident.rw))
    if rw_heads:
        conditions.append(and_(RoleGrant.role == Role.RW_HEAD, RoleGrant.rw == resident.rw))
    return or_(*conditions) if conditions else false()


def heads_any_area(user: User) -> bool:
    """``user`` heads an RT or an RW (``area_clause`` would match something)."""
    return any(g.role in (Role.RT_HEAD, Role.RW_HEAD) for g in user.roles)


def in_rt_scope(user: User, request: LetterRequest) -> bool:
    """The head of the request subject's RT, or of its RW."""
    return in_area(user, request.subject)


# ---------------------------------------------------------------- the family


def family_kk(user: User | None) -> str | None:
    """The KK number of ``user``'s family, or None when the account has no family (yet).

    Only a verified account has one, and only through its own trusted register entry: an account
    waiting for verification (or rejected) has none, whatever KK number it typed.
    """
    if user is None or not user.is_verified:
        return None
    own = user.resident
    if own is None or not own.is_trusted:
        return None
    return own.kk_number


def is_family_member(user: User, resident: Resident | None) -> bool:
    """``resident`` is ``user``'s own trusted entry or a trusted entry on its KK (``family_kk``)."""
    kk = family_kk(user)
    return resident is not None and kk is not None and resident.is_trusted and resident.kk_number == kk


def family_members(user: User) -> list[Resident]:
    """The people ``user`` may request letters for: its own register entry first, then, once verified, the
    trusted entries on its KK (``family_kk``); never a row someone typed at registration."""
    own = user.resident
    if own is None:
        return []
    kk = family_kk(user)
    if kk is None:
        return [own]
    members = db.session.scalars(
        select(Resident).where(Resident.kk_number == kk, Resident.is_trusted).order_by(Resident.birth_date)
    ).all()
    return sorted(members, key=lambda r: r.id != own.id)


def is_family_request(resident_user: User, request: LetterRequest) -> bool:
    """The resident made it, or (verified residents only) it is about or made by a family member."""
    if request.applicant_user_id == resident_user.id:
        return True
    if is_family_member(resident_user, request.subject):
        return True
    return is_family_member(resident_user, request.applicant.resident)


def family_request_ids(resident_user: User) -> Select:
    """``is_family_request`` in SQL: the ids of the requests ``resident_user`` may follow.

    A UNION of three lookups that each walk an index (the applicant's requests; the requests about a trusted
    entry on the family's KK; the requests made by the accounts of those entries), not one OR over the
    request joined to its subject and its applicant's entry: SQLite could not use an index for such an OR and
    read every request of the kelurahan to return a family's few (bench/bench_pages.py)."""
    own = select(LetterRequest.id).where(LetterRequest.applicant_user_id == resident_user.id)
    kk = family_kk(resident_user)
    if kk is None:
        return own
    family = select(Resident.id).where(Resident.kk_number == kk, Resident.is_trusted)
    family_accounts = select(User.id).where(User.resident_id.in_(family))
    return union(own,
                 select(LetterRequest.id).where(LetterRequest.subject_resident_id.in_(family)),
                 select(LetterRequest.id).where(LetterRequest.applicant_user_id.in_(family_accounts)))


# ---------------------------------------------------------------- a letter request and its files


def can_view(user: User | None, request: LetterRequest, *, acting_for: User | None = None) -> bool:
    """Staff and signers: any request. RT/RW heads: their area. Residents (or the pendamping acting
    for one): their own and, once verified, their family's."""
    if user is None or not user.is_authenticated:
        return False
    if user.has_role(Role.STAFF, Role.SIGNER):
        return True
    if in_rt_scope(user, request):
        return True
    resident = acting_for or (user if user.is_resident else None)
    return resident is not None and is_family_request(resident, request)


def may_open_draft(owner_user_id: int | None, resident: User | None) -> bool:
    """A file uploaded with a form not sent yet: only the resident it belongs to (or their pendamping, acting
    for them) may open it."""
    return resident is not None and resident.id == owner_user_id
