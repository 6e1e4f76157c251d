"""What the resident's home shows of their requests: those still moving (their own and their family's), each with the
step it is at and what, if anything, the resident has to do next; and the letters signed lately, to download.

Whose move a status waits for is the lifecycle's (``lifecycle.waits_for``); this module only words it for the
resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.catalogue import ServiceVersion
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.models.residents import Resident
from sempelmas.services import access
from sempelmas.services.letters import issued
from sempelmas.services.requests import lifecycle

R = LetterRequest
#: how long a signed letter stays on the home page, to download
RECENT_DONE = timedelta(days=14)
#: the resident's next step: "fix" (open the request and fix it), "download" (the signed letter), None (wait)
FIX, DOWNLOAD = "fix", "download"


@dataclass
class Progress:
    tracking_number: str
    #: the service's names as the request's snapshot keeps them: {"name": …, "name_en": …} (``|localized("name")``)
    service: dict
    subject_name: str
    status: str
    submitted_at: datetime
    #: what happens now, in the resident's words
    step: str
    #: FIX, DOWNLOAD or None
    action: str | None

    @property
    def status_label(self) -> str:
        return lifecycle.status_label(self.status)

    @property
    def needs_you(self) -> bool:
        return self.action == FIX


def _step(status: str, revoked: bool) -> tuple[str, str | None]:
    if status == RequestStatus.DONE:
        if revoked:
            return str(_("Surat ini sudah dicabut dan tidak berlaku lagi. Lihat keterangannya.")), None
        return str(_("Surat sudah ditandatangani dan siap diunduh.")), DOWNLOAD
    whose = lifecycle.waits_for(status)
    if whose == lifecycle.APPLICANT:
        if status == RequestStatus.RETURNED:
            return str(_("Dikembalikan oleh ketua RT/RW. Baca alasannya, perbaiki, lalu ajukan ulang.")), FIX
        return str(_("Petugas meminta perbaikan. Perbaiki, lalu ajukan ulang.")), FIX
    if whose == lifecycle.RT:
        return str(_("Menunggu surat pengantar dari ketua RT/RW. Anda tidak perlu berbuat apa-apa.")), None
    if whose == lifecycle.SIGNER:
        return str(_("Sudah diperiksa; menunggu tanda tangan pejabat kelurahan.")), None
    return str(_("Sedang diperiksa petugas kelurahan. Anda tidak perlu berbuat apa-apa.")), None


def for_home(resident_user: User, *, now: datetime | None = None) -> list[Progress]:
    """The requests the resident may follow that are still open, and those signed in the last RECENT_DONE: the
    ones waiting for the resident first, then the newest."""
    now = now or utcnow()
    rows = db.session.execute(
        select(R.id, R.tracking_number, ServiceVersion.snapshot["name"].as_string(),
               ServiceVersion.snapshot["name_en"].as_string(), Resident.full_name, R.status, R.submitted_at)
        .join(ServiceVersion, ServiceVersion.id == R.service_version_id)
        .join(Resident, Resident.id == R.subject_resident_id)
        .where(R.id.in_(access.family_request_ids(resident_user)),
               or_(R.status.in_([str(s) for s in lifecycle.OPEN_STATUSES]),
                   and_(R.status == RequestStatus.DONE, R.closed_at >= now - RECENT_DONE)))
        .order_by(R.submitted_at.desc(), R.id.desc())).all()
    revoked = issued.without_valid_letter([row.id for row in rows])
    out = []
    for request_id, tracking_number, name, name_en, subject_name, status, submitted_at in rows:
        step, action = _step(status, request_id in revoked)
        out.append(Progress(tracking_number, {"name": name, "name_en": name_en}, subject_name, status, submitted_at,
                            step, action))
    return sorted(out, key=lambda p: not p.needs_you)  # stable: the newest first within each group
