"""Who may see a letter request and its files: the one place that answers it (screens answer 404 otherwise).

Family rules live here too, in the two forms the app needs (one request in Python, a list in SQL):
family membership comes from trusted register entries only (imported, or checked when staff or the RT
head verified an account), and only a verified account has a family. Until then an account sees only
what it entered itself; a KK number or NIK someone typed never opens anyone else's data.
"""

from __future__ import annotations

from sqlalchemy import Select, select, union

from sempelmas.models.accounts import Role, User
from sempelmas.models.requests import LetterRequest
from sempelmas.models.residents import Resident


def in_rt_scope(user: User, request: LetterRequest) -> bool:
    """The head of the subject's RT, or of its RW."""
    subject = request.subject
    for grant in user.roles:
        if grant.role == Role.RT_HEAD and (grant.rt, grant.rw) == (subject.rt, subject.rw):
            return True
        if grant.role == Role.RW_HEAD and grant.rw == subject.rw:
            return True
    return False


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
