"""The right to have one's account erased: the resident asks (``request_deletion``), staff grant it
(``grant_deletion``) once nothing blocks it (``deletion_blockers``); what the law or the archive needs is
kept (``data_rights.retained_items``), the rest erased, and the files removed after the commit
(``remove_files``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import ROLE_LABELS, LoginThrottle, PasswordResetCode, Role, User, UserSession
from sempelmas.models.base import utcnow
from sempelmas.models.data_rights import DataRequestKind, DataRequestStatus, DataRightsRequest
from sempelmas.models.letters import Letter
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.models.push import PushSubscription
from sempelmas.models.questions import MessageSide, RequestMessage
from sempelmas.models.requests import LetterRequest, RequestAttachment
from sempelmas.services.accountability import audit, complaints
from sempelmas.services.accountability.data_export import complaints_of
from sempelmas.services.accountability.data_rights import (
    ERASED_NAME,
    EVIDENCE_KIND,
    DataRightsError,
    farewell,
    open_of,
    require_open,
    tell_staff,
)
from sempelmas.services.files.uploads import KTP, QUESTION_PHOTOS, stored_path
from sempelmas.services.people import accounts
from sempelmas.services.requests import attachments, lifecycle


def deletion_blockers(user: User) -> list[str]:
    """Why a deletion cannot be granted now (empty: it can)."""
    out = []
    others = sorted(user.role_codes - {Role.RESIDENT})
    if others:
        out.append(_("Akun ini juga memegang peran %(roles)s: peran itu dicabut admin lebih dulu.",
                     roles=", ".join(str(ROLE_LABELS[r]) for r in others)))
    running = db.session.scalars(select(LetterRequest.tracking_number).where(
        LetterRequest.applicant_user_id == user.id,
        LetterRequest.status.notin_([str(s) for s in lifecycle.FINAL_STATUSES]))).all()
    if running:
        out.append(_("Masih ada permohonan surat yang berjalan (%(numbers)s): tunggu selesai atau batalkan dulu.",
                     numbers=", ".join(running)))
    return out


def request_deletion(user: User, reason: str | None) -> DataRightsRequest:
    """Open a deletion task. Rules: one open deletion request at a time."""
    reason = (reason or "").strip()
    if len(reason) > 2000:
        raise DataRightsError(_("Alasan terlalu panjang: paling banyak 2000 karakter."), "reason")
    if open_of(user, DataRequestKind.DELETION) is not None:
        raise DataRightsError(_("Permintaan penghapusan akun Anda sudah diajukan dan sedang diproses."))
    req = DataRightsRequest(user_id=user.id, kind=DataRequestKind.DELETION, explanation=reason or None)
    db.session.add(req)
    db.session.flush()
    audit.record("pdp.request", req, actor=user, kind=req.kind)
    tell_staff(req)
    return req


@dataclass
class Erasure:
    """What ``grant_deletion`` did: counts for the record, files to remove once committed."""

    erased: dict = field(default_factory=dict)
    kept: dict = field(default_factory=dict)
    files: list[tuple[str, str]] = field(default_factory=list)


def _kept_attachment(a: RequestAttachment) -> bool:
    """The archive keeps the documents a signed letter rests on (the retention job removes them later)."""
    return (a.request is not None and lifecycle.is_done(a.request.status) and a.superseded_at is None)


def grant_deletion(req: DataRightsRequest, actor: User, note: str | None = None) -> Erasure:
    """Erase the account except what the archive must keep (``retained_items``), and close the task.

    Erased: password hash, phone, e-mail, login name, account name (→ "Akun dihapus"), the link to the
    register entry (the NIK may register again), roles, reset codes, the registration record and KTP
    photo, uploads not under archive (drafts, those of requests without a letter, replaced ones),
    correction evidence photos, notifications and undelivered messages. Login is disabled and every
    session ends. Kept: the register entry, letters, request records with their history and
    endorsements, current attachments of requests that ended in a letter, data requests, the audit log.
    Refused (DataRightsError) while ``deletion_blockers`` names a reason.
    """
    require_open(req)
    if req.kind != DataRequestKind.DELETION:
        raise DataRightsError(_("Ini bukan permintaan penghapusan."))
    user = req.user
    blockers = deletion_blockers(user)
    if blockers:
        raise DataRightsError(" ".join(blockers))
    out = Erasure()

    # the last word reaches the resident outside the app (the bell goes with the account)
    contacts = {"email": user.email, "gateway": user.phone, "lang": user.lang}

    owned = db.session.scalars(select(RequestAttachment).where(RequestAttachment.owner_user_id == user.id)).all()
    erased_files = 0
    for a in owned:
        if _kept_attachment(a):
            continue
        out.files.append((attachments.KIND, a.stored_name))
        db.session.delete(a)
        erased_files += 1
    kept_files = len(owned) - erased_files

    reg = user.registration
    if reg is not None:
        if reg.ktp_photo:
            out.files.append((KTP, reg.ktp_photo))
        user.registration = None  # delete-orphan

    evidence = 0
    for d in db.session.scalars(select(DataRightsRequest).where(DataRightsRequest.user_id == user.id)):
        if d.evidence_photo:
            out.files.append((EVIDENCE_KIND, d.evidence_photo))
            d.evidence_photo = None
            evidence += 1

    # complaints stay as a record of the service (their text and answers), without who filed them
    complaints_erased = 0
    for c in complaints_of(user):
        if c.photo:
            out.files.append((complaints.UPLOAD_KIND, c.photo))
            c.photo = None
        c.name, c.phone, c.email = ERASED_NAME, None, None
        complaints_erased += 1

    # questions on requests stay as a record of the service (their text), without the photos the resident sent
    question_photos = 0
    for m in db.session.scalars(select(RequestMessage).where(
            RequestMessage.side == MessageSide.RESIDENT, RequestMessage.photo.is_not(None),
            or_(RequestMessage.author_id == user.id, RequestMessage.on_behalf_of_id == user.id))):
        out.files.append((QUESTION_PHOTOS, m.photo))
        m.photo = None
        question_photos += 1

    # messages about this account's notices go with them (a family phone shared with others keeps theirs)
    note_ids = select(Notification.id).where(Notification.user_id == user.id)
    outbox = db.session.execute(delete(OutboxMessage).where(OutboxMessage.notification_id.in_(note_ids))
                                .execution_options(synchronize_session=False)).rowcount
    notes = db.session.execute(delete(Notification).where(Notification.user_id == user.id)
                               .execution_options(synchronize_session=False)).rowcount
    pushes = db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id)
                                .execution_options(synchronize_session=False)).rowcount
    codes = db.session.execute(delete(PasswordResetCode).where(PasswordResetCode.user_id == user.id)
                               .execution_options(synchronize_session=False)).rowcount
    roles = sorted(user.role_codes)
    for grant in list(user.roles):
        user.roles.remove(grant)

    requests = db.session.scalars(select(LetterRequest.id).where(LetterRequest.applicant_user_id == user.id)).all()
    letters = db.session.scalar(select(db.func.count(Letter.id)).where(Letter.request_id.in_(requests))) \
        if requests else 0
    resident_id = user.resident_id

    user.password_hash = user.phone = user.email = user.username = None
    user.verification_note = None
    user.full_name = ERASED_NAME
    user.resident_id = None
    if accounts.can_move(user, "disable"):  # an erased account signs in no more
        accounts.move_status(user, "disable")
    user.auth_version = (user.auth_version or 1) + 1
    user.last_login_at = None
    # every session ends with its row (the devices and addresses it was used from go too)
    sessions_erased = db.session.execute(delete(UserSession).where(UserSession.user_id == user.id)
                                         .execution_options(synchronize_session=False)).rowcount
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.user_id == user.id)
                       .execution_options(synchronize_session=False))

    out.erased = {"attachments": erased_files, "registration": reg is not None,
                  "ktp_photo": bool(reg and reg.ktp_photo), "evidence_photos": evidence,
                  "complaint_contacts": complaints_erased, "question_photos": question_photos,
                  "notifications": notes, "outbox_messages": outbox, "reset_codes": codes, "roles": roles,
                  "sessions": sessions_erased, "push_devices": pushes}
    out.kept = {"register_entry": resident_id, "requests": len(requests), "letters": letters,
                "attachments": kept_files}
    req.status, req.resolved_at, req.resolved_by_id = DataRequestStatus.DONE, utcnow(), actor.id
    req.outcome_note = (note or "").strip()[:2000] or None
    req.summary = {"erased": out.erased, "kept": out.kept}
    db.session.flush()
    audit.record("pdp.erase", req, actor=actor, user_id=user.id, erased=out.erased, kept=out.kept)
    farewell(contacts)
    return out


def remove_files(files: list[tuple[str, str]]) -> None:
    """After the commit: delete the stored files the erasure let go."""
    for kind, name in files:
        path = stored_path(kind, name)
        if path is not None:
            path.unlink(missing_ok=True)
