"""Who may see a letter request and its files: the one place that answers it (screens answer 404 otherwise)."""

from __future__ import annotations

from sempelmas.models.accounts import Role, User
from sempelmas.models.requests import LetterRequest


def in_rt_scope(user: User, request: LetterRequest) -> bool:
    """The head of the subject's RT, or of its RW."""
    subject = request.subject
    for grant in user.roles:
        if grant.role == Role.RT_HEAD and (grant.rt, grant.rw) == (subject.rt, subject.rw):
            return True
        if grant.role == Role.RW_HEAD and grant.rw == subject.rw:
            return True
    return False


def is_family_request(resident_user: User, request: LetterRequest) -> bool:
    """The resident made it, or it is about / made by someone on the resident's KK."""
    if request.applicant_user_id == resident_user.id:
        return True
    own = resident_user.resident
    if own is None:
        return False
    applicant_resident = request.applicant.resident
    return own.kk_number in {request.subject.kk_number,
                             applicant_resident.kk_number if applicant_resident else None}


def can_view(user: User | None, request: LetterRequest, *, acting_for: User | None = None) -> bool:
    """Staff and signers: any request. RT/RW heads: their area. Residents (or the pendamping acting
    for one): their own and their family's."""
    if user is None or not user.is_authenticated:
        return False
    if user.has_role(Role.STAFF, Role.SIGNER):
        return True
    if in_rt_scope(user, request):
        return True
    resident = acting_for or (user if user.is_resident else None)
    return resident is not None and is_family_request(resident, request)
