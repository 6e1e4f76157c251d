"""Notifications caused by request status changes: the bell and the outbox (delivered by the notify worker).

``request_changed`` is called inside the transaction that changes the status, so a message is never
lost and never sent for a change that was rolled back: it only adds rows. ``deliver_due`` (run by
``flask --app app notify-worker``) sends the outbox later, outside any web request, retrying with
backoff; a mail server or gateway that is down only delays messages, it never blocks a status change.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select, update

from sempelmas import links
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import Notification, OutboxMessage, OutboxStatus
from sempelmas.models.requests import REQUEST_STATUS_LABELS, LetterRequest, RequestEvent, RequestStatus
from sempelmas.services import audit

log = logging.getLogger(__name__)

S = RequestStatus

#: minutes to wait after the 1st, 2nd, … failed attempt (the last value repeats)
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 720)
#: a claimed batch is invisible to other workers this long; a worker that dies mid-send is retried after it
CLAIM_LEASE = timedelta(minutes=15)
#: the gateway's JSON body when NOTIFY_GATEWAY_TEMPLATE is not set
DEFAULT_GATEWAY_TEMPLATE = '{"to": "{phone}", "message": "{message}"}'
#: actions whose note is a reason the resident must read
_REASON_ACTIONS = frozenset({"return_to_resident", "ask_fix", "reject", "send_back"})

# where each audience opens the request (built as paths: the worker has no request context)
RESIDENT_URL = "/warga/permohonan/{}"
RT_URL = "/rt/permohonan/{}"
STAFF_URL = "/petugas/permohonan/{}"
SIGNER_URL = "/penandatangan/"
#: where a resident reads the state of their account, and where a pendamping finds the people they registered
ACCOUNT_URL = "/warga/"
ASSISTED_URL = "/warga/pendamping"


@dataclass
class _Notice:
    user: User
    message: str
    url: str
    #: residents and their pendamping also get e-mail / WhatsApp; officials use the bell
    external: bool = False


# ----------------------------------------------------------------------------- queueing


def request_changed(request: LetterRequest, event: RequestEvent) -> None:
    """Queue what ``event`` (a RequestEvent just added to ``request``) should tell whom.

    The applicant (and the pendamping assisting them) hears of every change, the submission included;
    the subject's RT heads when it waits for their pengantar, the RW heads when the RT step is done
    (action "endorse_rt"); signers when it waits for signing; the staff member who claimed it when
    the resident resubmits a fix or a signer sends it back. The actor is not told of their own
    action except as the applicant's confirmation. Adds Notification rows and, for residents, outbox
    rows for the configured channels; flushes, never commits or sends.
    """
    # stored text, whatever language the actor's screen uses: the kelurahan's people read Indonesian
    with force_locale("id"):
        notices = _notices(request, event)
        subject = _("Permohonan %(tn)s: %(status)s", tn=request.tracking_number, status=_label(event.to_status))
    _store(request, notices, f"request.{event.action}", subject)


def tell_applicant_side(request: LetterRequest, *, kind: str, message: str, url: str, subject: str) -> None:
    """Queue one notice about ``request`` to its applicant and their pendamping: the bell, and e-mail /
    WhatsApp as configured (e.g. the satisfaction-survey invitation). Flushes, never commits or sends."""
    _store(request, [_Notice(u, message, url, external=True) for u in _applicant_side(request)], kind, subject)


def _store(request: LetterRequest, notices: list[_Notice], kind: str, subject: str) -> None:
    """Bell rows for ``notices``, and outbox rows for the external ones on the configured channels."""
    if not notices:
        return
    rows = [Notification(user_id=n.user.id, request_id=request.id, kind=kind[:40],
                         message=n.message, url=n.url) for n in notices]
    db.session.add_all(rows)
    db.session.flush()  # the outbox rows point at their bell entry
    for notice, row in zip(notices, rows, strict=True):
        if notice.external:
            queue_external(row.id, email=notice.user.email, phone=notice.user.phone, subject=subject,
                           body=with_link(notice.message, notice.url))
    db.session.flush()


def tell(user: User, *, kind: str, message: str, url: str | None, subject: str) -> Notification:
    """One notice to ``user`` that is not about a letter request: a bell entry, and e-mail / WhatsApp on the
    configured channels (``queue_external``). Flushes, never commits or sends."""
    row = Notification(user_id=user.id, kind=kind[:40], message=message, url=url)
    db.session.add(row)
    db.session.flush()  # the outbox rows point at their bell entry
    queue_external(row.id, email=user.email, phone=user.phone, subject=subject, body=with_link(message, url))
    return row


def account_decided(user: User) -> None:
    """Tell a resident that staff or the RT head verified or rejected their account (a rejection with its
    reason), and the pendamping who registered them: the bell and e-mail / WhatsApp as configured."""
    verified = user.status == AccountStatus.VERIFIED
    reason = (user.verification_note or "-").rstrip(" .")
    with force_locale("id"):  # stored text: the kelurahan's people read Indonesian
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
        subject, own, helper = str(subject), str(own), str(helper)
    kind = "account.verify" if verified else "account.reject"
    for person in _with_pendamping(user):
        if person.id == user.id:
            tell(person, kind=kind, message=own, url=ACCOUNT_URL, subject=subject)
        else:
            tell(person, kind=kind, message=helper, url=ASSISTED_URL, subject=subject)


def with_link(message: str, path: str | None) -> str:
    """A message for e-mail / WhatsApp, ending with the full address of ``path`` (an app path) when given."""
    return message + (f"\n\n{links.absolute_url(path)}" if path else "")


def queue_external(notification_id: int | None, *, email: str | None, phone: str | None, subject: str,
                   body: str) -> None:
    """Outbox rows on the configured channels: e-mail when MAIL_SERVER is set and there is an address, the
    gateway (WhatsApp/SMS) when NOTIFY_GATEWAY_URL is set and there is a phone. The worker sends them."""
    cfg = current_app.config
    if cfg.get("MAIL_SERVER") and email:
        db.session.add(OutboxMessage(notification_id=notification_id, channel="email", recipient=email,
                                     subject=subject[:200], body=body))
    if cfg.get("NOTIFY_GATEWAY_URL") and phone:
        db.session.add(OutboxMessage(notification_id=notification_id, channel="gateway", recipient=phone,
                                     subject=subject[:200], body=body))


def _label(status: str) -> str:
    return str(REQUEST_STATUS_LABELS[RequestStatus(status)])


def _notices(request: LetterRequest, event: RequestEvent) -> list[_Notice]:
    tn = request.tracking_number
    service = request.service_snapshot.get("name") or request.service_snapshot.get("code", "")
    status = _label(event.to_status)
    to = RequestStatus(event.to_status)
    action = event.action
    notices: list[_Notice] = []

    # the applicant and their pendamping: every change
    if action == "submit":
        text = _("Permohonan %(tn)s (%(service)s) sudah kami terima. Status: %(status)s.",
                 tn=tn, service=service, status=status)
    elif action == "endorse_rt":
        text = _("Permohonan %(tn)s (%(service)s) sudah diberi pengantar RT dan kini menunggu pengantar RW.",
                 tn=tn, service=service)
    else:
        text = _("Status permohonan %(tn)s (%(service)s) sekarang: %(status)s.", tn=tn, service=service,
                 status=status)
    if action != "send_back":  # the signer's reason is addressed to staff, not to the resident
        text += _reason(action, event.note)
    for user in _applicant_side(request):
        notices.append(_Notice(user, text, RESIDENT_URL.format(tn), external=True))

    # officials: only when it is now their turn
    if action == "endorse_rt":
        text = _("Permohonan %(tn)s (%(service)s) dari %(name)s sudah diberi pengantar RT %(rt)s dan menunggu "
                 "pengantar RW Anda.", tn=tn, service=service, name=request.subject.full_name,
                 rt=request.subject.rt)
        notices += [_Notice(u, text, RT_URL.format(tn)) for u in _rw_heads(request)]
    elif to == S.AWAITING_ENDORSEMENT:
        text = _("Permohonan %(tn)s (%(service)s) dari %(name)s menunggu pengantar Anda.",
                 tn=tn, service=service, name=request.subject.full_name)
        if action == "resubmit":
            text = _("Permohonan %(tn)s (%(service)s) dari %(name)s sudah diperbaiki dan menunggu pengantar Anda.",
                     tn=tn, service=service, name=request.subject.full_name)
        notices += [_Notice(u, text, RT_URL.format(tn)) for u in _rt_heads(request)]
    elif to == S.AWAITING_SIGNATURE:
        text = _("Permohonan %(tn)s (%(service)s) menunggu tanda tangan Anda.", tn=tn, service=service)
        notices += [_Notice(u, text, SIGNER_URL) for u in users_with_role(Role.SIGNER)]
    elif to == S.IN_REVIEW and action in {"resubmit", "send_back"} and request.claimed_by_id:
        claimer = db.session.get(User, request.claimed_by_id)
        if action == "resubmit":
            text = _("Permohonan %(tn)s (%(service)s) sudah diperbaiki pemohon dan menunggu pemeriksaan Anda.",
                     tn=tn, service=service)
        else:
            text = _("Permohonan %(tn)s (%(service)s) dikembalikan oleh penandatangan.", tn=tn, service=service)
            text += _reason(action, event.note)
        if claimer is not None and _active(claimer):
            notices.append(_Notice(claimer, text, STAFF_URL.format(tn)))

    # one notice per person (a pendamping may also be the RT head), never to the official who acted
    seen: set[int] = set()
    out = []
    for n in notices:
        if n.user.id in seen or (not n.external and n.user.id == event.actor_id):
            continue
        seen.add(n.user.id)
        out.append(n)
    return out


def _reason(action: str, note: str | None) -> str:
    if not note:
        return ""
    if action in _REASON_ACTIONS:
        return " " + _("Alasan: %(note)s", note=note)
    return " " + _("Catatan: %(note)s", note=note)


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
    subject = request.subject
    return _grant_holders(RoleGrant.role == Role.RT_HEAD, RoleGrant.rt == subject.rt, RoleGrant.rw == subject.rw)


def _rw_heads(request: LetterRequest) -> list[User]:
    return _grant_holders(RoleGrant.role == Role.RW_HEAD, RoleGrant.rw == request.subject.rw)


def users_with_role(role: str) -> list[User]:
    """Active accounts holding ``role``, oldest first."""
    return _grant_holders(RoleGrant.role == role)


# ----------------------------------------------------------------------------- the bell


def unread_count(user_id: int) -> int:
    """Unread bell entries of a user (served by the (user_id, read_at) index)."""
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()


def mark_all_read(user_id: int) -> int:
    """Mark every unread entry of a user read; returns how many."""
    return db.session.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount


# ----------------------------------------------------------------------------- delivery


class DeliveryError(Exception):
    """A message could not be handed over; it is retried later."""


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based)."""
    return timedelta(minutes=BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1])


def claim_due(now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` pending messages that are due, and hide them from other workers for a lease.

    PostgreSQL skips rows another worker has locked (SKIP LOCKED); on SQLite the conditional UPDATE
    decides (writers are serialised there).
    The claim is committed before anything is sent, so no transaction stays open during network calls.
    """
    due = (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.next_attempt_at <= now)
    candidates = db.session.scalars(
        select(OutboxMessage.id).where(due).order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit).with_for_update(skip_locked=True)).all()
    ids = []
    for msg_id in candidates:
        # conditional, so a second worker on SQLite (no row locks) cannot take the same message
        claimed = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == msg_id, due)
            .values(next_attempt_at=now + CLAIM_LEASE).execution_options(synchronize_session=False)).rowcount
        if claimed:
            ids.append(msg_id)
    db.session.commit()
    return ids


def deliver_due(now: datetime | None = None, limit: int = 50) -> dict[str, int]:
    """Send the due outbox messages; returns counts {"sent", "retry", "failed"}.

    Success marks a message SENT with its time; a failure stores the error, counts the attempt and
    schedules the next one with exponential backoff (BACKOFF_MINUTES), until NOTIFY_MAX_ATTEMPTS
    attempts mark it FAILED (kept for the admin, never deleted). Commits after each message.
    """
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    max_attempts = int(current_app.config.get("NOTIFY_MAX_ATTEMPTS") or 8)
    for msg_id in claim_due(now, limit):
        msg = db.session.get(OutboxMessage, msg_id)
        if msg is None or msg.status != OutboxStatus.PENDING:
            continue
        try:
            send(msg)
        except Exception as exc:  # noqa: BLE001 - any failure of a transport is retried, never raised
            msg.attempts += 1
            msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if msg.attempts >= max_attempts:
                msg.status = OutboxStatus.FAILED
                counts["failed"] += 1
                log.warning("outbox %s (%s) gave up after %d attempts: %s", msg.id, msg.channel, msg.attempts,
                            msg.last_error)
            else:
                msg.next_attempt_at = now + backoff(msg.attempts)
                counts["retry"] += 1
                log.info("outbox %s (%s) attempt %d failed, retry at %s: %s", msg.id, msg.channel, msg.attempts,
                         msg.next_attempt_at, msg.last_error)
        else:
            msg.attempts += 1
            msg.status = OutboxStatus.SENT
            msg.sent_at = utcnow()
            msg.last_error = None
            counts["sent"] += 1
            log.info("outbox %s (%s) sent to %s", msg.id, msg.channel, msg.recipient)
        db.session.commit()
    return counts


def outbox_overview(status: str | None = None, limit: int = 100) -> tuple[dict[str, int], list[OutboxMessage]]:
    """For the admin: how many messages wait, went out or failed, and the latest of one status."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return counts, list(db.session.scalars(query))


def resend(message: OutboxMessage, actor: User) -> None:
    """Queue a failed message again from scratch (after the admin fixed the SMTP or gateway settings)."""
    if message.status != OutboxStatus.FAILED:
        raise ValueError("only a failed message is sent again")
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()
    audit.record("outbox.resend", message, actor=actor, channel=message.channel, last_error=message.last_error)
    db.session.flush()


def send(msg: OutboxMessage) -> None:
    """Hand one message to its channel; raises on any failure."""
    if msg.channel == "email":
        send_email(msg.recipient, msg.subject, msg.body)
    elif msg.channel == "gateway":
        send_gateway(msg.recipient, msg.body)
    else:
        raise DeliveryError(f"unknown channel {msg.channel!r}")


def send_email(to: str, subject: str, body: str) -> None:
    """Send a plain-text e-mail through the configured SMTP server (STARTTLS or SSL, optional login)."""
    cfg = current_app.config
    host = cfg.get("MAIL_SERVER")
    if not host:
        raise DeliveryError("MAIL_SERVER is not set")
    sender = cfg.get("MAIL_FROM") or cfg.get("MAIL_USERNAME") or "sempelmas@localhost"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(body)
    timeout = float(cfg.get("MAIL_TIMEOUT") or 10)
    port = int(cfg.get("MAIL_PORT") or (465 if cfg.get("MAIL_USE_SSL") else 25))
    context = ssl.create_default_context()
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)


def gateway_body(template: str, phone: str, message: str) -> bytes:
    """The gateway's JSON body: ``template`` with {phone} and {message} replaced by JSON-escaped text."""
    def esc(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)[1:-1]

    # one pass, so a message containing "{phone}" is not expanded again
    parts = template.split("{message}")
    body = esc(message).join(part.replace("{phone}", esc(phone)) for part in parts)
    try:
        json.loads(body)
    except ValueError as exc:
        raise DeliveryError(f"NOTIFY_GATEWAY_TEMPLATE does not give valid JSON: {exc}") from exc
    return body.encode("utf-8")


def send_gateway(phone: str, message: str) -> None:
    """POST the message to the WhatsApp/SMS gateway; anything but a 2xx answer is a failure."""
    cfg = current_app.config
    url = cfg.get("NOTIFY_GATEWAY_URL")
    if not url or not url.lower().startswith(("http://", "https://")):
        raise DeliveryError("NOTIFY_GATEWAY_URL must be an http:// or https:// URL")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "SemPelMas-notify"}
    auth = cfg.get("NOTIFY_GATEWAY_AUTH_HEADER")
    if auth:
        name, sep, value = auth.partition(":")
        if not sep or not name.strip():
            raise DeliveryError("NOTIFY_GATEWAY_AUTH_HEADER must look like 'Name: value'")
        headers[name.strip()] = value.strip()
    template = cfg.get("NOTIFY_GATEWAY_TEMPLATE") or DEFAULT_GATEWAY_TEMPLATE
    req = urllib.request.Request(url, data=gateway_body(template, phone, message), headers=headers,  # noqa: S310
                                 method="POST")
    timeout = float(cfg.get("NOTIFY_GATEWAY_TIMEOUT") or 10)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            status = resp.status
            resp.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace") if exc.fp else ""
        raise DeliveryError(f"gateway answered HTTP {exc.code}: {detail}".strip()) from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"gateway answered HTTP {status}")



def work_forever(poll_seconds: float, batch: int = 50) -> None:  # pragma: no cover - exercised by `make run`
    log.info("notify worker started")
    while True:
        try:
            counts = deliver_due(limit=batch)
        except Exception:  # the database may be briefly away; keep the worker alive
            db.session.rollback()
            log.exception("notify worker: delivery round failed")
            counts = {"sent": 0, "retry": 0, "failed": 0}
        if not any(counts.values()):
            time.sleep(poll_seconds)
