"""The KTP photo given at registration stands in for the KTP a request asks for ("Foto KTP: sudah ada — ganti?").

The request gets its own copy (a new file under the documents, a RequestAttachment like any upload): staff, the RT
and the family see it as any other document of the request, the retention job purges it with the request's other
files, an erasure treats it as the request's, and the registration's photo (seen only by the resident and by whoever
verifies the account) is never exposed or deleted through a request. A file uploaded for the requirement on the
form replaces it for that request.
"""

from __future__ import annotations

import secrets

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.requests import LetterRequest, RequestAttachment
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import DOCUMENTS, KTP, store_file, stored_path

#: the requirement code of the applicant's own KTP (the standard catalogue's "Fotokopi KTP-el pemohon"); other
#: people's KTPs (a witness, the reporter) have codes of their own and are never filled from an account
REQUIREMENT = "ktp"


def photo_of(applicant: User):
    """The path of the applicant's registration KTP photo, or None (no registration, no photo, file gone)."""
    reg = applicant.registration
    if reg is None or not reg.ktp_photo:
        return None
    return stored_path(KTP, reg.ktp_photo)


def stands_in(requirements: list[dict], applicant: User, uploaded: set[str]) -> set[str]:
    """The requirement codes the registration photo fills on this form: the applicant's KTP when the service asks
    for it, no file was uploaded for it and the photo is there."""
    codes = {r["code"] for r in requirements}
    if REQUIREMENT in codes and REQUIREMENT not in uploaded and photo_of(applicant) is not None:
        return {REQUIREMENT}
    return set()


def attach_copy(request: LetterRequest, applicant: User, actor: User) -> RequestAttachment | None:
    """Copy the registration photo into the request's documents (kept only if the transaction commits); audited
    as "request.ktp_reused". None when the photo is gone."""
    path = photo_of(applicant)
    if path is None:
        return None
    data = path.read_bytes()
    name = secrets.token_urlsafe(24) + ".jpg"
    store_file(DOCUMENTS, name, data)
    copy = RequestAttachment(request_id=request.id, owner_user_id=applicant.id, uploaded_by_id=actor.id,
                             requirement_code=REQUIREMENT, stored_name=name, mime="image/jpeg", size=len(data))
    db.session.add(copy)
    db.session.flush()
    audit.record("request.ktp_reused", request, actor=actor, tracking_number=request.tracking_number)
    return copy


def note() -> str:
    return str(_("Foto KTP diambil dari pendaftaran akun."))
