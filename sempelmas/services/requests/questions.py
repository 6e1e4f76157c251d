"""Questions on a request ("Tanya petugas"): a thread between the resident's side and the office.

Who takes part (``side_of``):
- **The resident's side**: whoever may follow the request as a resident (``access.is_family_request``: the
  applicant, and once verified their family on the KK), and a pendamping acting for one of them. Their messages
  are the side "warga"; a pendamping's carries the resident it was written for.
- **The office**: staff (the role that reviews requests). Any staff member may answer, like any may act on a
  request (services/requests/review.py).
- **Nobody else**: RT/RW heads and signers see neither the thread nor its photos. A question is between the
  applicant and the office that decides (often about documents or personal matters); the RT's part is the
  pengantar, and the signer reads what staff forward. Everyone else gets 404, like for the request itself.

When: the resident's side may ask while the request is open and for QUESTION_DAYS_AFTER_CLOSE days after it
closed (done, rejected, cancelled): a kelurahan is asked "where do I pick it up", "why was it refused", "the
letter has a typo" in the days after, not months later (then the thread stays readable, and a complaint or a
new request is the way). The office may answer at any time, so a question asked on the last day is answered.

Unread: each message is read once by the other side (``read_at``), when someone of that side opens the thread or
answers in it. The office is one team: a resident's message read by one staff member is read for the office.
The counts come from one index (side, read_at, request_id).

Every message is audited ("question.post", with its text); a photo goes through the upload pipeline (re-encoded,
hostile files refused: services/files/uploads.py) and is served only to those who may read the thread. The
same form sent twice (its ``idempotency_key``) is one message. Posting sends ``message_posted``; the notices hang
on it (services/requests/subscriptions.py). Functions add and flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from blinker import NamedSignal
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.catalogue import ServiceVersion
from sempelmas.models.questions import MessageSide, RequestMessage
from sempelmas.models.requests import LetterRequest
from sempelmas.services import access
from sempelmas.services.accountability import audit
from sempelmas.services.files import uploads
from sempelmas.services.requests import lifecycle, review

UPLOAD_KIND = uploads.QUESTION_PHOTOS
MAX_TEXT = 2000

#: sent after a message is stored: ``message_posted.send(request, message=...)``
message_posted = NamedSignal("question-posted")


class QuestionError(ValueError):
    """A refused message; ``field`` names the form field it belongs to (or None)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = str(message), field


# ----------------------------------------------------------------------------- who and when


def side_of(user: User | None, request: LetterRequest, *, acting_for: User | None = None) -> MessageSide | None:
    """The side ``user`` takes in ``request``'s thread (``acting_for``: the resident a pendamping acts for), or
    None when they may not read it at all."""
    if user is None or not user.is_authenticated:
        return None
    resident = acting_for or (user if user.is_resident else None)
    if resident is not None and access.is_family_request(resident, request):
        return MessageSide.RESIDENT
    if user.has_role(Role.STAFF):
        return MessageSide.STAFF
    return None


def open_until(request: LetterRequest):
    """Until when the resident's side may ask (UTC, naive); None while the request is open."""
    if not lifecycle.is_final(request.status):
        return None
    closed = request.closed_at or request.updated_at
    return closed + timedelta(days=current_app.config["QUESTION_DAYS_AFTER_CLOSE"])


def may_ask(request: LetterRequest, now=None) -> bool:
    """The resident's side may still write: the request is open, or closed less than the window ago."""
    until = open_until(request)
    return until is None or (now or utcnow()) < until


# ----------------------------------------------------------------------------- posting


def posted_with_key(idempotency_key: str | None) -> RequestMessage | None:
    """The message an earlier sending of the same form stored, if any."""
    if not idempotency_key:
        return None
    return db.session.scalar(select(RequestMessage).where(RequestMessage.idempotency_key == idempotency_key))


def post(request: LetterRequest, author: User, text: str | None, *, side: MessageSide,
         on_behalf_of: User | None = None, photo: str | None = None,
         idempotency_key: str | None = None) -> tuple[RequestMessage, bool]:
    """Store a message on ``request``'s thread; returns (message, created).

    Rules: the text is required (a photo alone says too little to answer) and at most MAX_TEXT characters; the
    resident's side writes only within ``may_ask``; the same form sent twice (same ``idempotency_key``) gives
    back the first message (the second photo is then the caller's to discard). Writing reads the other side's
    messages (one answers what one has read). Audited with its text; sends ``message_posted``; flushes.
    """
    earlier = posted_with_key(idempotency_key)
    if earlier is not None:
        return earlier, False
    text = (text or "").strip()
    if not text:
        raise QuestionError(_("Tulis pertanyaan atau jawaban Anda."), "text")
    if len(text) > MAX_TEXT:
        raise QuestionError(_("Pesan paling panjang %(n)d karakter.", n=MAX_TEXT), "text")
    if side == MessageSide.RESIDENT and not may_ask(request):
        raise QuestionError(_("Permohonan ini sudah lama selesai; pertanyaan baru tidak dapat dikirim di sini. "
                              "Hubungi kantor kelurahan atau ajukan pengaduan."))
    message = RequestMessage(request_id=request.id, side=side, author_id=author.id,
                             on_behalf_of_id=on_behalf_of.id if on_behalf_of else None, text=text, photo=photo,
                             idempotency_key=idempotency_key or None)
    try:
        with db.session.begin_nested():  # a SAVEPOINT: a twin that won the race leaves this transaction usable
            db.session.add(message)
            db.session.flush()
    except IntegrityError:
        earlier = posted_with_key(idempotency_key)
        if earlier is None:
            raise
        return earlier, False
    mark_read(request, side)
    audit.record("question.post", request, actor=author, on_behalf_of=on_behalf_of,
                 tracking_number=request.tracking_number, message=message.id, side=str(side), text=text,
                 photo=bool(photo))
    message_posted.send(request, message=message)
    db.session.flush()
    return message, True


# ----------------------------------------------------------------------------- reading


def thread(request: LetterRequest) -> list[RequestMessage]:
    """Every message of the request, oldest first."""
    return list(db.session.scalars(select(RequestMessage).where(RequestMessage.request_id == request.id)
                                   .order_by(RequestMessage.id)))


def mark_read(request: LetterRequest, reader: MessageSide) -> int:
    """The other side's unread messages on ``request`` are read now by ``reader``'s side; returns how many."""
    other = MessageSide.STAFF if reader == MessageSide.RESIDENT else MessageSide.RESIDENT
    return db.session.execute(
        update(RequestMessage).where(RequestMessage.request_id == request.id, RequestMessage.side == other,
                                     RequestMessage.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session="fetch")).rowcount


def find(request: LetterRequest, message_id: int) -> RequestMessage | None:
    """A message of this request's thread (None for another request's)."""
    message = db.session.get(RequestMessage, message_id)
    return message if message is not None and message.request_id == request.id else None


@dataclass
class Summary:
    """What a request's page says of its thread: how many messages, how many the reader has not read."""

    total: int = 0
    unread: int = 0
    may_ask: bool = True


def summary(request: LetterRequest, reader: MessageSide) -> Summary:
    other = MessageSide.STAFF if reader == MessageSide.RESIDENT else MessageSide.RESIDENT
    total, unread = db.session.execute(
        select(func.count(), func.count().filter(RequestMessage.side == other, RequestMessage.read_at.is_(None)))
        .where(RequestMessage.request_id == request.id)).one()
    return Summary(total=total or 0, unread=unread or 0, may_ask=may_ask(request))


def _unread(side: MessageSide):
    return select(RequestMessage.request_id, func.count()).where(
        RequestMessage.side == side, RequestMessage.read_at.is_(None)).group_by(RequestMessage.request_id)


def office_unread_total() -> int:
    """Residents' messages no staff member has read yet (the nav badge and the queue's header)."""
    return db.session.scalar(select(func.count()).select_from(RequestMessage).where(
        RequestMessage.side == MessageSide.RESIDENT, RequestMessage.read_at.is_(None))) or 0


def office_unread_by_request(request_ids: list[int]) -> dict[int, int]:
    """Per request of a queue page: the residents' messages unread by the office (requests with none left out)."""
    if not request_ids:
        return {}
    return dict(db.session.execute(
        _unread(MessageSide.RESIDENT).where(RequestMessage.request_id.in_(request_ids))).all())


@dataclass
class Waiting:
    tracking_number: str
    service_name: str
    unread: int


def _waiting(side: MessageSide, *where, limit: int = 100) -> list[Waiting]:
    name = ServiceVersion.snapshot["name"].as_string()
    rows = db.session.execute(
        select(LetterRequest.tracking_number, name, func.count()).select_from(RequestMessage)
        .join(LetterRequest, LetterRequest.id == RequestMessage.request_id)
        .join(ServiceVersion, ServiceVersion.id == LetterRequest.service_version_id)
        .where(RequestMessage.side == side, RequestMessage.read_at.is_(None), *where)
        .group_by(LetterRequest.tracking_number, name)
        .order_by(func.min(RequestMessage.id)).limit(limit)).all()
    return [Waiting(tn, service or "", n) for tn, service, n in rows]


def office_inbox(limit: int = 100) -> list[Waiting]:
    """The requests with residents' messages unread by the office, the longest waiting first."""
    return _waiting(MessageSide.RESIDENT, limit=limit)


def resident_unread(resident: User) -> list[Waiting]:
    """The requests ``resident`` may follow that carry answers from the office they have not read."""
    return _waiting(MessageSide.STAFF, RequestMessage.request_id.in_(access.family_request_ids(resident)))


# ----------------------------------------------------------------------------- staff: a question becomes a fix


def may_turn_into_fix(request: LetterRequest, message: RequestMessage, actor: User) -> bool:
    """A resident's message, not turned yet, on a request staff could send back now (after claiming it)."""
    if message.side != MessageSide.RESIDENT or message.fix_requested_at is not None:
        return False
    actions = lifecycle.allowed_actions(request, actor)
    return "ask_fix" in actions or "claim" in actions


def claims_first(request: LetterRequest, actor: User) -> bool:
    """Turning a question into a fix would claim the request first (nobody has taken it up yet)."""
    return "ask_fix" not in lifecycle.allowed_actions(request, actor)


def turn_into_fix(request: LetterRequest, message: RequestMessage, actor: User, *, reason: str | None,
                  fields: list[str], files: list[str], expected_version: int | None) -> None:
    """Send the request back for a fix ("perlu perbaikan") because of a resident's question.

    A request still waiting for staff is claimed first (what staff would do by hand). The fix itself is
    review.ask_fix's, with all its rules (a reason, at least one field or file, the version). The message is
    marked as turned into a fix (shown on the thread) and read; audited as "question.to_fix".
    """
    if not may_turn_into_fix(request, message, actor):
        raise QuestionError(_("Pertanyaan ini tidak dapat dijadikan permintaan perbaikan sekarang."))
    if claims_first(request, actor):
        lifecycle.transition(request, "claim", actor=actor, expected_version=expected_version)
        expected_version = request.version
    review.ask_fix(request, actor, reason=reason, fields=fields, files=files, expected_version=expected_version)
    message.fix_requested_at = utcnow()
    mark_read(request, MessageSide.STAFF)
    audit.record("question.to_fix", request, actor=actor, tracking_number=request.tracking_number,
                 message=message.id)
    db.session.flush()


def record_photo_view(request: LetterRequest, message: RequestMessage, actor: User) -> None:
    """Staff opened a resident's photo: audited, like every view of a resident's upload by the office."""
    audit.record("question.photo_view", request, actor=actor, tracking_number=request.tracking_number,
                 message=message.id)
