"""Notifications caused by request status changes: the bell and the outbox (delivered by the notify worker).

``request_changed`` is called inside the transaction that changes the status, so a message is never
lost and never sent for a change that was rolled back: it only adds rows. ``deliver_due`` (run by
``flask --app app notify-worker``) sends the outbox later, outside any web request, retrying with
backoff; a mail server or gateway that is down only delays messages, it never blocks a status change.
Delivery is at least once: each message carries its own id (``OutboxMessage.uid``) on every attempt, so a
gateway or mail system that de-duplicates by it shows the resident one message.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import secrets
import smtplib
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select, text, update

from sempelmas import links
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, RoleGrant, User
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import Notification, OutboxMessage, OutboxStatus
from sempelmas.models.requests import REQUEST_STATUS_LABELS, LetterRequest, RequestEvent, RequestStatus
from sempelmas.services import audit, worker_loop

log = logging.getLogger(__name__)

S = RequestStatus

#: minutes to wait after the 1st, 2nd, … failed attempt (the last value repeats)
BACKOFF_MINUTES = (1, 5, 15, 60, 180, 720)
#: a message being sent is hidden from other notifiers this long, and the lease is renewed every RENEW_EVERY
#: while the send runs; a notifier that dies mid-send frees its one message when the lease ends. Short, so a
#: restart resumes within seconds; five renewals long, so renewals held up a few seconds (a busy database) do
#: not lose it. A renewal held up longer than the lease can: then a second notifier may send it too, same id.
CLAIM_LEASE = timedelta(seconds=5)
RENEW_EVERY = timedelta(seconds=1)
#: due messages looked at per claim (the first one still free is taken)
CLAIM_CANDIDATES = 5
#: the gateway's JSON body when NOTIFY_GATEWAY_TEMPLATE is not set
DEFAULT_GATEWAY_TEMPLATE = '{"to": "{phone}", "message": "{message}"}'
#: the template's placeholders: {phone}, {message}, {id} (the message's own id)
_PLACEHOLDER = re.compile(r"\{(phone|message|id)\}")
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


class OutcomeUnknown(DeliveryError):
    """The message went out but no answer came back (a timeout, a dropped connection): the gateway or mail
    server may well have it. Retried like any failure, with the same id, so a receiver that de-duplicates by
    it drops the repeat."""


@dataclass(frozen=True)
class Outgoing:
    """What a notifier needs to send one claimed message, read before the claim commits (no transaction,
    no ORM object, stays open while the network call runs)."""

    id: int
    uid: str
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int
    created_at: datetime
    status: str


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt (1-based)."""
    return timedelta(minutes=BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1])


def notifier_id() -> str:
    """Who holds a claim: host, process and a random part (a restarted notifier may get the same pid)."""
    return f"{socket.gethostname()[:50]}:{os.getpid()}:{secrets.token_hex(4)}"


#: the outbox as a table: the notifier's claims and outcomes are plain SQL (UPDATE … RETURNING), not ORM flushes
_OUTBOX = OutboxMessage.__table__


def _max_attempts() -> int:
    return int(current_app.config.get("NOTIFY_MAX_ATTEMPTS") or 8)


def claim_next(now: datetime, notifier: str, *, lease_until: datetime | None = None,
               max_attempts: int | None = None) -> Outgoing | None:
    """Claim the next due message for ``notifier`` and commit the claim; None when nothing is due.

    One message at a time, for a short lease (CLAIM_LEASE, renewed while it is sent): other notifiers skip it
    while the lease runs and take it up once a dead notifier's lease has ended, so a crash delays one message
    by seconds. PostgreSQL skips rows another notifier is claiming (SKIP LOCKED); on SQLite the conditional
    UPDATE decides (writers are serialised there). Claiming counts the attempt. A message whose previous
    claim never finished (its notifier died mid-send) has that attempt recorded as of unknown outcome; if it
    was the last one allowed (``max_attempts``) the message is marked FAILED instead of being sent again,
    and returned so. The claim commits before anything is sent: no transaction stays open during the send.
    """
    lease_until = lease_until or now + CLAIM_LEASE
    max_attempts = max_attempts or _max_attempts()
    t = _OUTBOX
    due = (t.c.status == OutboxStatus.PENDING) & (t.c.next_attempt_at <= now)
    _no_wait_for_disk(db.session.connection())
    candidates = db.session.execute(
        select(t.c.id, t.c.claimed_by, t.c.attempts).where(due).order_by(t.c.next_attempt_at, t.c.id)
        .limit(CLAIM_CANDIDATES).with_for_update(skip_locked=True)).all()
    for msg_id, holder, attempts in candidates:
        values: dict = {"claimed_by": notifier, "next_attempt_at": lease_until, "attempts": attempts + 1}
        if holder is not None:
            values["last_error"] = (f"attempt {attempts} interrupted: notifier {holder} stopped while "
                                    "sending; outcome unknown")
            if attempts >= max_attempts:
                values = {"claimed_by": None, "status": OutboxStatus.FAILED, "last_error": values["last_error"]}
        # compare-and-set on what was read, so a second notifier on SQLite (no row locks) cannot take it too
        unchanged = t.c.claimed_by.is_(None) if holder is None else t.c.claimed_by == holder
        row = db.session.execute(
            update(t).where(t.c.id == msg_id, due, unchanged, t.c.attempts == attempts).values(**values)
            .returning(t.c.id, t.c.uid, t.c.channel, t.c.recipient, t.c.subject, t.c.body, t.c.attempts,
                       t.c.created_at, t.c.status)).first()
        if row is not None:
            db.session.commit()
            out = Outgoing(*row)
            if out.status == OutboxStatus.FAILED:
                log.warning("outbox %s (%s) gave up: its last attempt was interrupted", out.id, out.channel)
            return out
    db.session.commit()
    return None


def _no_wait_for_disk(conn) -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk. For claims and lease
    renewals only: a database crash can lose the last ones, which frees the message early (sent again under
    the same id), never loses one; other notifiers see the commit at once all the same. It halves the disk
    flushes per message. No-op on SQLite (WAL with synchronous=NORMAL does not flush per commit)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _finish(msg: Outgoing, notifier: str, **values) -> bool:
    """Record how the send of a message this notifier holds ended, and release it. False (and nothing
    written) if the claim was lost meanwhile: its lease ran out and another notifier has taken it up."""
    t = _OUTBOX
    done = db.session.execute(update(t).where(t.c.id == msg.id, t.c.claimed_by == notifier)
                              .values(claimed_by=None, **values)).rowcount
    db.session.commit()
    if not done:
        log.warning("outbox %s (%s): the claim ran out during the send; the notifier holding it now decides",
                    msg.id, msg.channel)
    return bool(done)


class _LeaseKeeper:
    """Renews the lease of the message the notifier is sending (``holding``) every RENEW_EVERY, from a thread of
    its own (the send blocks the notifier's): a live notifier keeps its message however slow the gateway, a dead
    one frees it within CLAIM_LEASE. One thread for a delivery round; its own connection, one short UPDATE per
    renewal, and only while a send spans a tick (most take milliseconds and are never renewed)."""

    def __init__(self, notifier: str, clock) -> None:
        self._engine = db.engine
        self._notifier = notifier
        self._clock = clock
        self._current: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-lease", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def holding(self, msg_id: int | None) -> None:
        """The message being sent now (None between sends)."""
        self._current = msg_id

    def _run(self) -> None:
        t = _OUTBOX
        while not self._stop.wait(RENEW_EVERY.total_seconds()):
            msg_id = self._current
            if msg_id is None:
                continue
            # only while this notifier still holds it: a late renewal after the outcome is recorded changes nothing
            mine = (t.c.id == msg_id) & (t.c.claimed_by == self._notifier) & (t.c.status == OutboxStatus.PENDING)
            try:
                with self._engine.begin() as conn:
                    _no_wait_for_disk(conn)
                    conn.execute(update(t).where(mine).values(next_attempt_at=self._clock() + CLAIM_LEASE))
            except Exception:  # noqa: BLE001 - a missed renewal is retried next time; the send goes on
                log.warning("outbox %s: lease not renewed", msg_id, exc_info=True)


def deliver_due(now: datetime | None = None, limit: int = 50) -> dict[str, int]:
    """Send up to ``limit`` due outbox messages, one claim at a time; returns counts {"sent", "retry", "failed"}.

    Each message is claimed just before it is sent (``claim_next``) and released when its outcome is
    recorded, so a notifier killed mid-send holds at most that one message, for at most CLAIM_LEASE.
    Success marks it SENT with its time; a failure stores the error and schedules the next attempt with
    exponential backoff (BACKOFF_MINUTES), until NOTIFY_MAX_ATTEMPTS attempts mark it FAILED (kept for the
    admin, never deleted). A timeout after the message went out counts as an attempt of unknown outcome
    (``OutcomeUnknown``); every attempt carries the message's own id (``uid``), so a gateway or mail system
    that de-duplicates by it delivers it once. Commits after each claim and each outcome.
    """
    now = now or utcnow()
    started = time.monotonic()

    def clock() -> datetime:
        # leases are real time: `now` (which tests may set) moved on by what this round has taken so far
        return now + timedelta(seconds=time.monotonic() - started)

    notifier = notifier_id()
    max_attempts = _max_attempts()
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with _LeaseKeeper(notifier, clock) as lease:
        for _turn in range(limit):
            msg = claim_next(now, notifier, lease_until=clock() + CLAIM_LEASE, max_attempts=max_attempts)
            if msg is None:
                break
            if msg.status == OutboxStatus.FAILED:  # its last attempt was cut short by a crash
                counts["failed"] += 1
                continue
            lease.holding(msg.id)
            try:
                send(msg)
            except Exception as exc:  # noqa: BLE001 - any failure of a transport is retried, never raised
                lease.holding(None)
                _failed(msg, notifier, f"{type(exc).__name__}: {exc}"[:2000], now, max_attempts, counts)
            else:
                lease.holding(None)
                if _finish(msg, notifier, status=OutboxStatus.SENT, sent_at=utcnow(), last_error=None):
                    counts["sent"] += 1
                    log.info("outbox %s (%s) sent to %s", msg.id, msg.channel, msg.recipient)
    return counts


def _failed(msg: Outgoing, notifier: str, error: str, now: datetime, max_attempts: int, counts: dict) -> None:
    """Record a failed attempt: the next one after the backoff, or FAILED after the last one allowed."""
    if msg.attempts >= max_attempts:
        if _finish(msg, notifier, status=OutboxStatus.FAILED, last_error=error):
            counts["failed"] += 1
            log.warning("outbox %s (%s) gave up after %d attempts: %s", msg.id, msg.channel, msg.attempts, error)
    else:
        retry_at = now + backoff(msg.attempts)
        if _finish(msg, notifier, next_attempt_at=retry_at, last_error=error):
            counts["retry"] += 1
            log.info("outbox %s (%s) attempt %d failed, retry at %s: %s", msg.id, msg.channel, msg.attempts,
                     retry_at, error)


def seconds_until_due(most: float) -> float:
    """How long an idle notifier may sleep: until the next pending message is due (a retry, or the end of a
    dead notifier's lease), at most ``most`` seconds (how often it looks for new messages)."""
    soonest = db.session.scalar(select(func.min(OutboxMessage.next_attempt_at))
                                .where(OutboxMessage.status == OutboxStatus.PENDING))
    db.session.rollback()  # ends the read: the notifier keeps no transaction open while it sleeps
    if soonest is None:
        return most
    return min(most, max((soonest - utcnow()).total_seconds(), 0.05))


def outbox_overview(status: str | None = None, limit: int = 100) -> tuple[dict[str, int], list[OutboxMessage]]:
    """For the admin: how many messages wait, went out or failed, and the latest of one status."""
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return counts, list(db.session.scalars(query))


def resend(message: OutboxMessage, actor: User) -> None:
    """Queue a failed message again from scratch (after the admin fixed the SMTP or gateway settings).

    It keeps its id: it is the same message, so a gateway that already had it can still drop the repeat."""
    if message.status != OutboxStatus.FAILED:
        raise ValueError("only a failed message is sent again")
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.claimed_by = None
    message.next_attempt_at = utcnow()
    audit.record("outbox.resend", message, actor=actor, channel=message.channel, last_error=message.last_error)
    db.session.flush()


def send(msg: Outgoing) -> None:
    """Hand one message to its channel, under its own id; raises on any failure."""
    if msg.channel == "email":
        send_email(msg.recipient, msg.subject, msg.body, uid=msg.uid, created_at=msg.created_at)
    elif msg.channel == "gateway":
        send_gateway(msg.recipient, msg.body, uid=msg.uid)
    else:
        raise DeliveryError(f"unknown channel {msg.channel!r}")


def message_id_header(uid: str, sender: str) -> str:
    """The e-mail Message-ID of the outbox message ``uid``: the same on every attempt, at the sender's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2].strip() or "localhost"
    return f"<{uid}@{domain}>"


def send_email(to: str, subject: str, body: str, *, uid: str, created_at: datetime | None = None) -> None:
    """Send a plain-text e-mail through the configured SMTP server (STARTTLS or SSL, optional login).

    Message-ID and Date are those of the outbox message, the same on every attempt, so a retry is the same
    e-mail; a connection lost or timed out once the message is on its way is ``OutcomeUnknown``."""
    cfg = current_app.config
    host = cfg.get("MAIL_SERVER")
    if not host:
        raise DeliveryError("MAIL_SERVER is not set")
    sender = cfg.get("MAIL_FROM") or cfg.get("MAIL_USERNAME") or "sempelmas@localhost"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id_header(uid, sender)
    message["Date"] = format_datetime((created_at or utcnow()).replace(tzinfo=UTC))
    message.set_content(body)
    timeout = float(cfg.get("MAIL_TIMEOUT") or 10)
    port = int(cfg.get("MAIL_PORT") or (465 if cfg.get("MAIL_USE_SSL") else 25))
    context = ssl.create_default_context()
    if cfg.get("MAIL_USE_SSL"):
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if cfg.get("MAIL_USE_TLS") and not cfg.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
        if cfg.get("MAIL_USERNAME"):
            smtp.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD") or "")
        try:
            smtp.send_message(message)
        except (TimeoutError, ConnectionError, smtplib.SMTPServerDisconnected) as exc:
            raise OutcomeUnknown(f"no answer from the mail server ({type(exc).__name__}: {exc}); it may have "
                                 "the message: outcome unknown, the retry carries the same Message-ID") from exc
    except BaseException:
        smtp.close()  # not QUIT: on a silent server that would wait out the timeout once more
        raise
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.quit()


def gateway_body(template: str, phone: str, message: str, uid: str = "") -> bytes:
    """The gateway's JSON body: ``template`` with {phone}, {message} and {id} replaced by JSON-escaped text."""
    def esc(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)[1:-1]

    values = {"phone": phone, "message": message, "id": uid}
    # one pass, so a message containing "{phone}" or "{id}" is not expanded again
    body = _PLACEHOLDER.sub(lambda m: esc(values[m.group(1)]), template)
    try:
        json.loads(body)
    except ValueError as exc:
        raise DeliveryError(f"NOTIFY_GATEWAY_TEMPLATE does not give valid JSON: {exc}") from exc
    return body.encode("utf-8")


def send_gateway(phone: str, message: str, *, uid: str) -> None:
    """POST the message to the WhatsApp/SMS gateway; anything but a 2xx answer is a failure.

    The message's own id goes as the ``Idempotency-Key`` header (and {id} in the template), the same on every
    attempt. No answer once the request is sent (a timeout, a dropped connection) is ``OutcomeUnknown``."""
    cfg = current_app.config
    url = cfg.get("NOTIFY_GATEWAY_URL")
    if not url or not url.lower().startswith(("http://", "https://")):
        raise DeliveryError("NOTIFY_GATEWAY_URL must be an http:// or https:// URL")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "SemPelMas-notify",
               "Idempotency-Key": uid}
    auth = cfg.get("NOTIFY_GATEWAY_AUTH_HEADER")
    if auth:
        name, sep, value = auth.partition(":")
        if not sep or not name.strip():
            raise DeliveryError("NOTIFY_GATEWAY_AUTH_HEADER must look like 'Name: value'")
        headers[name.strip()] = value.strip()
    template = cfg.get("NOTIFY_GATEWAY_TEMPLATE") or DEFAULT_GATEWAY_TEMPLATE
    req = urllib.request.Request(url, data=gateway_body(template, phone, message, uid),  # noqa: S310
                                 headers=headers, method="POST")
    timeout = float(cfg.get("NOTIFY_GATEWAY_TIMEOUT") or 10)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            status = resp.status
            resp.read(65536)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace") if exc.fp else ""
        raise DeliveryError(f"gateway answered HTTP {exc.code}: {detail}".strip()) from exc
    except urllib.error.URLError:
        raise  # urllib wraps what fails before the request is sent: the gateway has nothing
    except (OSError, http.client.HTTPException) as exc:
        raise OutcomeUnknown(f"no answer from the gateway ({type(exc).__name__}: {exc}); it may have the "
                             "message: outcome unknown, the retry carries the same id") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"gateway answered HTTP {status}")


def work_forever(poll_seconds: float, batch: int = 50, *, stop: threading.Event | None = None,
                 max_backoff: float = 60.0) -> None:
    """The notify worker's loop: deliver what is due; when idle, sleep until the next message is due (a
    retry, a dead notifier's lease ending) or ``poll_seconds``, whichever comes first. A round that fails (the
    database locked or away) waits a growing backoff before the next, as the job worker does
    (services/worker_loop.py: 1 s, 2 s, 4 s … ``max_backoff``). ``stop``: ends the loop (tests)."""
    log.info("notify worker started")

    def one_round() -> float:
        counts = deliver_due(limit=batch)
        return 0.0 if any(counts.values()) else seconds_until_due(poll_seconds)

    worker_loop.run_rounds("notify worker", one_round, stop=stop, max_backoff=max_backoff)
