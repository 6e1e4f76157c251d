"""Complaints (pengaduan): filing, the one table of status transitions, staff answers and their notices.

Functions add and flush, never commit (the view commits once). Every filing, answer, status change and
photo view is audited. The complainant hears of every answer: a resident in the bell and, like a public
complainant, through the outbox (e-mail / WhatsApp gateway, per outbox.py's configured channels).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from sempelmas.domain import digits as digit_rules
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.masking import BULLET, mask_name, mask_phone
from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, User
from sempelmas.models.base import utcnow
from sempelmas.models.complaints import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_STATUS_LABELS,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
)
from sempelmas.models.notifications import Notification
from sempelmas.models.requests import LetterRequest
from sempelmas.services import access
from sempelmas.services.accountability import audit
from sempelmas.services.files import uploads
from sempelmas.services.operations import notice_text, outbox, webhooks
from sempelmas.services.operations.notice_text import Msg, msg, word

S = ComplaintStatus
UPLOAD_KIND = uploads.COMPLAINT_PHOTOS

#: (from status, action) -> to status; the whole complaint lifecycle. Closed is final: a new problem is a
#: new complaint.
TRANSITIONS: dict[tuple[ComplaintStatus, str], ComplaintStatus] = {
    (S.NEW, "process"): S.IN_PROGRESS,
    (S.NEW, "close"): S.CLOSED,
    (S.IN_PROGRESS, "close"): S.CLOSED,
}
ACTION_LABELS = {
    "process": _l("Tandai diproses"),
    "close": _l("Tandai selesai"),
}
#: actions that must carry an answer (closing without telling the complainant why is not allowed)
TEXT_REQUIRED = frozenset({"close"})

#: the code's alphabet: no 0/O, 1/I/L, so it can be read over the phone; 12 of them ≈ 59 bits
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_GROUPS, CODE_GROUP_LEN = 3, 4

# where the complainant reads the answer (paths: the worker has no request context)
RESIDENT_URL = "/warga/pengaduan/{}"
PUBLIC_PATH = "/pengaduan/{}"


class ComplaintError(ValueError):
    """A refused filing or answer; ``field`` names the form field it belongs to (or None)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = str(message), field


# ----------------------------------------------------------------------------- codes


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_GROUPS * CODE_GROUP_LEN))
    return "-".join(raw[i:i + CODE_GROUP_LEN] for i in range(0, len(raw), CODE_GROUP_LEN))


def normalise_code(raw: str | None) -> str | None:
    """What a person typed (lower case, spaces, without dashes) → the stored form, or None if it cannot be one."""
    chars = "".join(c for c in digit_rules.code(raw) if c.isalnum())
    if len(chars) != CODE_GROUPS * CODE_GROUP_LEN or any(c not in CODE_ALPHABET for c in chars):
        return None
    return "-".join(chars[i:i + CODE_GROUP_LEN] for i in range(0, len(chars), CODE_GROUP_LEN))


def find_by_code(raw: str | None) -> Complaint | None:
    code = normalise_code(raw)
    if code is None:
        return None
    return db.session.scalar(select(Complaint).where(Complaint.code == code))


# ----------------------------------------------------------------------------- filing


@dataclass
class Filing:
    name: str
    category: str
    subject: str
    body: str
    phone: str | None = None
    email: str | None = None


def filed_with_key(idempotency_key: str | None) -> Complaint | None:
    """The complaint an earlier sending of the same form created (the form's one-time key), if any."""
    if not idempotency_key:
        return None
    return db.session.scalar(select(Complaint).where(Complaint.idempotency_key == idempotency_key))


def file_complaint(data: Filing, *, idempotency_key: str | None, photo: str | None = None,
                   user: User | None = None, filed_by: User | None = None,
                   about: LetterRequest | None = None) -> tuple[Complaint, bool]:
    """Record a complaint; returns (complaint, created).

    Rules: a phone number or an e-mail address is required (the answer must reach someone); the request
    it is about must be one the resident may follow (their own or their family's); the same form sent
    twice (same ``idempotency_key``) gives back the first complaint, not a copy (the second photo is
    then the caller's to discard). Writes the filing event and an audit entry; flushes.
    """
    earlier = filed_with_key(idempotency_key)
    if earlier is not None:
        return earlier, False
    if not (data.phone or data.email):
        raise ComplaintError(_("Isi nomor HP atau alamat e-mail agar jawaban dapat kami sampaikan."), "phone")
    if data.category not in COMPLAINT_CATEGORIES:
        raise ComplaintError(_("Pilih kategori pengaduan."), "category")
    if about is not None and (user is None or not access.is_family_request(user, about)):
        raise ComplaintError(_("Permohonan itu bukan milik Anda."), "request")
    complaint = Complaint(code=new_code(), user_id=user.id if user else None,
                          filed_by_id=filed_by.id if filed_by else None, name=data.name.strip(),
                          phone=data.phone or None, email=data.email or None,
                          request_id=about.id if about else None, category=data.category,
                          subject=data.subject.strip(), body=data.body.strip(), photo=photo, status=S.NEW,
                          idempotency_key=idempotency_key or None)
    complaint.events.append(ComplaintEvent(author_id=(filed_by or user).id if (filed_by or user) else None,
                                           action="file", to_status=S.NEW))
    try:
        # a SAVEPOINT inside the request's transaction, on SQLite too (sempelmas/__init__.py opens it first)
        with db.session.begin_nested():
            db.session.add(complaint)
            db.session.flush()
    except IntegrityError:
        # the same form sent twice at the same moment: the other submit won
        earlier = filed_with_key(idempotency_key)
        if earlier is None:
            raise
        return earlier, False
    audit.record("complaint.file", complaint, actor=filed_by or user, on_behalf_of=user if filed_by else None,
                 code=complaint.code, category=complaint.category, public=user is None,
                 request=about.tracking_number if about else None, photo=bool(photo))
    webhooks.complaint_event("complaint.created", complaint)
    db.session.flush()
    return complaint, True


# ----------------------------------------------------------------------------- transitions and answers


def allowed_actions(complaint: Complaint) -> list[str]:
    status = ComplaintStatus(complaint.status)
    return [action for (frm, action) in TRANSITIONS if frm == status]


def is_final(complaint: Complaint) -> bool:
    return not allowed_actions(complaint)


def status_label(status: str | None) -> str:
    return str(COMPLAINT_STATUS_LABELS[ComplaintStatus(status)]) if status else ""


def answer(complaint: Complaint, actor: User, text: str | None, action: str | None = None) -> ComplaintEvent:
    """A staff answer, a status change, or both in one event.

    Rules: a closed complaint takes nothing more; the action must start from the current status
    (TRANSITIONS); closing needs an answer; an empty answer without a status change is refused.
    Audits the answer and the status change, tells the complainant; flushes.
    """
    text = (text or "").strip() or None
    action = action or None
    if is_final(complaint):
        raise ComplaintError(_("Pengaduan ini sudah selesai; jawaban baru tidak dapat ditambahkan."))
    to_status = None
    if action is not None:
        to_status = TRANSITIONS.get((ComplaintStatus(complaint.status), action))
        if to_status is None:
            raise ComplaintError(_("Perubahan status itu tidak berlaku untuk pengaduan berstatus %(status)s.",
                                   status=complaint.status_label), "action")
        if action in TEXT_REQUIRED and not text:
            raise ComplaintError(_("Tulis jawaban untuk pengadu sebelum menandai pengaduan selesai."), "text")
    elif not text:
        raise ComplaintError(_("Tulis jawaban atau pilih perubahan status."), "text")
    now = utcnow()
    from_status = complaint.status
    event = ComplaintEvent(author_id=actor.id, action=action or "answer", text=text,
                           from_status=from_status if to_status else None, to_status=to_status, at=now)
    complaint.events.append(event)
    if to_status is not None:
        complaint.status = to_status
        complaint.closed_at = now if to_status == S.CLOSED else None
    complaint.updated_at = now
    db.session.flush()
    if text:
        audit.record("complaint.answer", complaint, actor=actor, code=complaint.code, event=event.id)
    if to_status is not None:
        audit.record("complaint.status", complaint, actor=actor, code=complaint.code, transition=action,
                     from_status=from_status, to_status=str(to_status))
    notify_complainant(complaint, event)
    if text:
        webhooks.complaint_event("complaint.answered", complaint, action)
    db.session.flush()
    return event


def notify_complainant(complaint: Complaint, event: ComplaintEvent) -> None:
    """Tell the complainant of an answer or a status change.

    A resident: a bell entry (and the outbox, linked to it); a public complainant: the outbox only.
    The outbox uses the complaint's own contact details on the configured channels
    (``outbox.queue_external``). Adds rows only; the notify worker sends them.
    """
    message, subject = _complaint_notice(complaint, event)
    resident = complaint.user if complaint.user is not None and complaint.user.status != AccountStatus.DISABLED \
        else None
    path = (RESIDENT_URL if resident is not None else PUBLIC_PATH).format(complaint.code)
    notification = None
    if resident is not None:
        notification = notice_text.fill(Notification(user_id=resident.id, kind="complaint.answer", url=path),
                                        message)
        db.session.add(notification)
        db.session.flush()
    lang = resident.lang if resident is not None else None  # a public complainant: Indonesian
    outbox.queue_external(notification.id if notification is not None else None, email=complaint.email,
                          phone=complaint.phone, subject=notice_text.in_lang(subject, lang),
                          body=outbox.with_link(notice_text.in_lang(message, lang), path))


def _complaint_notice(complaint: Complaint, event: ComplaintEvent) -> tuple[Msg, Msg]:
    """What the complainant is told, as keys plus values (each reader's language: notice_text.py)."""
    _ = msg
    if event.to_status:
        message = _("Pengaduan %(code)s (%(subject)s): status sekarang %(status)s.", code=complaint.code,
                    subject=complaint.subject, status=word(COMPLAINT_STATUS_LABELS[ComplaintStatus(event.to_status)]))
    else:
        message = _("Pengaduan %(code)s (%(subject)s) mendapat jawaban dari petugas.", code=complaint.code,
                    subject=complaint.subject)
    if event.text:
        message += _("Jawaban: %(text)s", text=event.text)
    subject = _("Pengaduan %(code)s: %(status)s", code=complaint.code,
                status=word(COMPLAINT_STATUS_LABELS[ComplaintStatus(complaint.status)]))
    return message, subject


# ----------------------------------------------------------------------------- lists and views


def for_user(user: User) -> list[Complaint]:
    """A resident's own complaints, newest first."""
    return list(db.session.scalars(select(Complaint).where(Complaint.user_id == user.id)
                                   .order_by(Complaint.created_at.desc(), Complaint.id.desc())))


def find_own(user: User, raw_code: str) -> Complaint | None:
    complaint = find_by_code(raw_code)
    return complaint if complaint is not None and complaint.user_id == user.id else None


def status_counts() -> dict[str, int]:
    rows = db.session.execute(select(Complaint.status, func.count()).group_by(Complaint.status)).all()
    counts = {str(s): 0 for s in S}
    counts.update({status: n for status, n in rows})
    return counts


def queue(status: str | None, *, page: int = 1, per_page: int = 25) -> tuple[list[Complaint], bool]:
    """Complaints for staff, oldest open first (new ones wait longest); returns (page rows, has more)."""
    stmt = select(Complaint)
    if status:
        stmt = stmt.where(Complaint.status == status)
        order = (Complaint.created_at.desc(), Complaint.id.desc()) if status == S.CLOSED \
            else (Complaint.created_at, Complaint.id)
    else:
        order = (Complaint.created_at.desc(), Complaint.id.desc())
    rows = list(db.session.scalars(stmt.order_by(*order).limit(per_page + 1).offset((page - 1) * per_page)))
    return rows[:per_page], len(rows) > per_page


def record_photo_view(complaint: Complaint, actor: User) -> None:
    audit.record("complaint.photo_view", complaint, actor=actor, code=complaint.code)


def answers(complaint: Complaint) -> list[ComplaintEvent]:
    """What the complainant reads: the filing, every answer and every status change, oldest first."""
    return list(complaint.events)


def mask_email(email: str | None) -> str:
    """``budi.santoso@gmail.com`` → ``b•••@gmail.com``."""
    if not email:
        return ""
    local, _sep, domain = email.partition("@")
    return (local[:1] + BULLET * 3 + "@" + domain) if domain else BULLET * 3


def masked_contact(complaint: Complaint) -> dict[str, str]:
    """The personal data a public page may show: initials and the ends of the phone number."""
    return {"name": mask_name(complaint.name), "phone": mask_phone(complaint.phone),
            "email": mask_email(complaint.email)}


def seed_demo(resident_user: User, staff: User, about: LetterRequest | None) -> None:
    """Two demo complaints: one from the public (new), one from the demo resident about a request, answered."""
    public, _c = file_complaint(Filing(name="Agus Wibowo", phone="+6285712345678", category="pelayanan",
                                       subject="Antrean loket terlalu lama",
                                       body="Hari Senin pagi saya menunggu lebih dari dua jam di loket "
                                            "pelayanan tanpa nomor antrean."), idempotency_key=None)
    own, _c = file_complaint(Filing(name=resident_user.full_name, phone=resident_user.phone, category="pelayanan",
                                    subject="Surat keterangan belum selesai",
                                    body="Permohonan saya sudah lewat waktu yang dijanjikan."),
                             idempotency_key=None, user=resident_user, about=about)
    answer(own, staff, "Mohon maaf atas keterlambatannya; surat Anda sedang menunggu tanda tangan Lurah.",
           "process")
