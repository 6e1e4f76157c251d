"""What the system tells whom when a request moves or an account is decided, and in which words.

``request_moved`` receives ``lifecycle.request_moved`` (services/requests/subscriptions.py) inside the
transaction that changes the status, so a message is never lost and never sent for a change that was rolled
back: it only adds rows. The notices are stored through services/operations/outbox.py (the bell, and the
outbox that the notify worker delivers: services/operations/delivery.py).
"""

from __future__ import annotations

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
from sempelmas.models.letters import Letter
from sempelmas.models.questions import MessageSide, RequestMessage
from sempelmas.models.requests import LetterRequest, RequestEvent
from sempelmas.services import access
from sempelmas.services.operations.notice_text import Msg, service_of, status
from sempelmas.services.operations.notice_text import msg as _
from sempelmas.services.operations.outbox import Notice, store, tell
from sempelmas.services.requests import lifecycle

# where each audience opens the request (built as paths: the worker has no request context)
RESIDENT_URL = "/warga/permohonan/{}"
RT_URL = "/rt/permohonan/{}"
STAFF_URL = "/petugas/permohonan/{}"
SIGNER_URL = "/penandatangan/"
#: where a resident reads the state of their account, and where a pendamping finds the people they registered
ACCOUNT_URL = "/warga/"
ASSISTED_URL = "/warga/pendamping"


# ----------------------------------------------------------------------------- requests


def request_moved(request: LetterRequest, *, event: RequestEvent, **_) -> None:
    """Receiver of ``lifecycle.request_moved``: queue what the move tells whom (``request_changed``)."""
    request_changed(request, event)


def request_changed(request: LetterRequest, event: RequestEvent) -> None:
    """Queue what ``event`` (a RequestEvent just added to ``request``) should tell whom.

    The applicant (and the pendamping assisting them) hears of every change, the submission included;
    the subject's RT heads when it waits for their pengantar, the RW heads when the RT step is done
    (action "endorse_rt"); signers when it waits for signing; the staff member who claimed it when
    the resident resubmits a fix or a signer sends it back. The actor is not told of their own
    action except as the applicant's confirmation. Adds Notification rows and, for residents, outbox
    rows for the configured channels; flushes, never commits or sends.
    """
    # keys and values: each reader sees them in their own language, whatever language the actor's screen uses
    notices = _notices(request, event)
    subject = _("Permohonan %(tn)s: %(status)s", tn=request.tracking_number, status=status(event.to_status))
    store(request, notices, f"request.{event.action}", subject)


def tell_applicant_side(request: LetterRequest, *, kind: str, message: Msg | str, url: str,
                        subject: Msg | str) -> None:
    """Queue one notice about ``request`` to its applicant and their pendamping: the bell, and e-mail /
    WhatsApp as configured (e.g. the satisfaction-survey invitation). Flushes, never commits or sends."""
    store(request, [Notice(u, message, url, external=True) for u in _applicant_side(request)], kind, subject)


def _notices(request: LetterRequest, event: RequestEvent) -> list[Notice]:
    tn = request.tracking_number
    service = service_of(request.service_snapshot)
    state = status(event.to_status)
    turn = lifecycle.waits_for(event.to_status)
    action = event.action
    notices: list[Notice] = []

    # the applicant and their pendamping: every change
    if action == "submit":
        text = _("Permohonan %(tn)s (%(service)s) sudah kami terima. Status: %(status)s.",
                 tn=tn, service=service, status=state)
    elif action == "endorse_rt":
        text = _("Permohonan %(tn)s (%(service)s) sudah diberi pengantar RT dan kini menunggu pengantar RW.",
                 tn=tn, service=service)
    else:
        text = _("Status permohonan %(tn)s (%(service)s) sekarang: %(status)s.", tn=tn, service=service,
                 status=state)
    if action != "send_back":  # the signer's reason is addressed to staff, not to the resident
        text += _reason(action, event.note, request)
    for user in _applicant_side(request):
        notices.append(Notice(user, text, RESIDENT_URL.format(tn), external=True))

    # officials: only when it is now their turn
    if action == "endorse_rt":
        text = _("Permohonan %(tn)s (%(service)s) dari %(name)s sudah diberi pengantar RT %(rt)s dan menunggu "
                 "pengantar RW Anda.", tn=tn, service=service, name=request.subject.full_name,
                 rt=request.subject.rt)
        notices += [Notice(u, text, RT_URL.format(tn)) for u in _rw_heads(request)]
    elif turn == lifecycle.RT:
        text = _("Permohonan %(tn)s (%(service)s) dari %(name)s menunggu pengantar Anda.",
                 tn=tn, service=service, name=request.subject.full_name)
        if action == "resubmit":
            text = _("Permohonan %(tn)s (%(service)s) dari %(name)s sudah diperbaiki dan menunggu pengantar Anda.",
                     tn=tn, service=service, name=request.subject.full_name)
        notices += [Notice(u, text, RT_URL.format(tn)) for u in _rt_heads(request)]
    elif turn == lifecycle.SIGNER:
        text = _("Permohonan %(tn)s (%(service)s) menunggu tanda tangan Anda.", tn=tn, service=service)
        notices += [Notice(u, text, SIGNER_URL) for u in users_with_role(Role.SIGNER)]
    elif turn == lifecycle.STAFF and action in {"resubmit", "send_back"} and request.claimed_by_id:
        claimer = db.session.get(User, request.claimed_by_id)
        if action == "resubmit":
            text = _("Permohonan %(tn)s (%(service)s) sudah diperbaiki pemohon dan menunggu pemeriksaan Anda.",
                     tn=tn, service=service)
        else:
            text = _("Permohonan %(tn)s (%(service)s) dikembalikan oleh penandatangan.", tn=tn, service=service)
            text += _reason(action, event.note)
        if claimer is not None and _active(claimer):
            notices.append(Notice(claimer, text, STAFF_URL.format(tn)))

    # one notice per person (a pendamping may also be the RT head), never to the official who acted
    seen: set[int] = set()
    out = []
    for n in notices:
        if n.user.id in seen or (not n.external and n.user.id == event.actor_id):
            continue
        seen.add(n.user.id)
        out.append(n)
    return out


def _reason(action: str, note: str | None, request: LetterRequest | None = None) -> Msg | None:
    """What follows the notice (after a space): the reason or the note the official wrote; for a signature, the
    letter's number (the event's own note, "Surat nomor …", is the system's words in Indonesian)."""
    if not note:
        return None
    if action == "sign" and request is not None:
        number = db.session.scalar(select(Letter.number).where(Letter.request_id == request.id)
                                   .order_by(Letter.id.desc()).limit(1))
        if number:
            return _("Nomor surat: %(number)s", number=number)
    if action in lifecycle.REASON_REQUIRED:
        return _("Alasan: %(note)s", note=note)
    return _("Catatan: %(note)s", note=note)


# ----------------------------------------------------------------------------- questions ("Tanya petugas")

RESIDENT_THREAD_URL = "/warga/permohonan/{}/tanya"
STAFF_THREAD_URL = "/petugas/permohonan/{}/tanya"


def question_posted(request: LetterRequest, *, message: RequestMessage, **_signal) -> None:
    """Receiver of ``questions.message_posted``: a resident's question tells the office, an answer the resident.

    A question goes to the staff member handling the request, or to every active staff member while nobody
    does (the bell: officials use the app). An answer goes to the applicant and their pendamping (the bell, and
    e-mail / WhatsApp as configured) and to the family member who asked, if another. The text stays in the app:
    the notice names the request, the message may carry personal details an e-mail or a gateway need not hold.
    Never to the author. Adds rows and flushes, never commits or sends.
    """
    tn = request.tracking_number
    service = service_of(request.service_snapshot)
    if message.side == MessageSide.RESIDENT:
        kind = "question.new"
        text = _("Pertanyaan baru dari warga tentang permohonan %(tn)s (%(service)s).", tn=tn, service=service)
        subject = text
        notices = [Notice(u, text, STAFF_THREAD_URL.format(tn)) for u in _office_for(request)]
    else:
        kind = "question.reply"
        text = _("Petugas menjawab pertanyaan Anda tentang permohonan %(tn)s (%(service)s). Buka "
                 "permohonan untuk membacanya.", tn=tn, service=service)
        subject = _("Permohonan %(tn)s: jawaban petugas", tn=tn)
        people = _applicant_side(request) + _askers(request)
        notices = [Notice(u, text, RESIDENT_THREAD_URL.format(tn), external=True) for u in people]
    seen = {message.author_id}
    unique = []
    for n in notices:
        if n.user.id not in seen:
            seen.add(n.user.id)
            unique.append(n)
    store(request, unique, kind, subject)


def _office_for(request: LetterRequest) -> list[User]:
    if request.claimed_by_id:
        claimer = db.session.get(User, request.claimed_by_id)
        if claimer is not None and _active(claimer) and claimer.has_role(Role.STAFF):
            return [claimer]
    return users_with_role(Role.STAFF)


def _askers(request: LetterRequest) -> list[User]:
    """The residents who wrote on the thread (a family member may ask about the applicant's request)."""
    ids = select(RequestMessage.on_behalf_of_id).where(RequestMessage.request_id == request.id,
                                                        RequestMessage.on_behalf_of_id.is_not(None)).union(
        select(RequestMessage.author_id).where(RequestMessage.request_id == request.id,
                                               RequestMessage.side == MessageSide.RESIDENT,
                                               RequestMessage.on_behalf_of_id.is_(None)))
    users = db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)).all()
    return [u for u in users if _active(u) and u.is_resident]


# ----------------------------------------------------------------------------- accounts


def account_decided(user: User) -> None:
    """Tell a resident that staff or the RT head verified or rejected their account (a rejection with its
    reason), and the pendamping who registered them: the bell and e-mail / WhatsApp as configured."""
    verified = user.status == AccountStatus.VERIFIED
    reason = (user.verification_note or "-").rstrip(" .")
    if verified:
        subject = _("Akun SemPelMas Anda sudah diverifikasi")
        own = _("Akun Anda sudah diverifikasi. Sekarang Anda dapat mengajukan surat untuk diri sendiri dan "
                "keluarga dalam KK Anda.")
        helper = _("Akun %(name)s yang Anda daftarkan sudah diverifikasi; Anda dapat mengajukan surat "
                   "untuknya.", name=user.full_name)
    else:
        subject = _("Pendaftaran akun SemPelMas ditolak")
        own = _("Pendaftaran akun Anda ditolak. Alasan: %(reason)s. Hubungi kantor kelurahan untuk bantuan.",
                reason=reason)
        helper = _("Pendaftaran %(name)s yang Anda daftarkan ditolak. Alasan: %(reason)s.",
                   name=user.full_name, reason=reason)
    kind = "account.verify" if verified else "account.reject"
    for person in _with_pendamping(user):
        if person.id == user.id:
            tell(person, kind=kind, message=own, url=ACCOUNT_URL, subject=subject)
        else:
            tell(person, kind=kind, message=helper, url=ASSISTED_URL, subject=subject)


# ----------------------------------------------------------------------------- who hears


def _active(user: User) -> bool:
    return user.status != AccountStatus.DISABLED


def _applicant_side(request: LetterRequest) -> list[User]:
    return _with_pendamping(request.applicant)


def _with_pendamping(resident: User) -> list[User]:
    """The resident and the pendamping who registered them, those of the two whose account is active."""
    users = [resident] if _active(resident) else []
    if resident.assisted_by_id:
        helper = db.session.get(User, resident.assisted_by_id)
        if helper is not None and _active(helper) and helper.has_role(Role.ASSISTANT):
            users.append(helper)
    return users


def _grant_holders(*where) -> list[User]:
    return list(db.session.scalars(
        select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(*where, User.status != AccountStatus.DISABLED).order_by(User.id)).unique())


def _rt_heads(request: LetterRequest) -> list[User]:
    return _grant_holders(access.heads_of_clause(request.subject, rw_heads=False))


def _rw_heads(request: LetterRequest) -> list[User]:
    return _grant_holders(access.heads_of_clause(request.subject, rt_heads=False))


def users_with_role(role: str) -> list[User]:
    """Active accounts holding ``role``, oldest first."""
    return _grant_holders(RoleGrant.role == role)
