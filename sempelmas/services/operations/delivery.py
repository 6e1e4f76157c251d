"""The notify worker: sending the outbox, one claim at a time, with leases and retries.

``deliver_due`` (run by ``flask --app app notify-worker``) sends what services/operations/outbox.py queued,
later and outside any web request, through services/operations/channels.py, retrying with backoff; a mail
server or gateway that is down only delays messages, it never blocks a status change. Delivery is at least
once: each message carries its own id (``OutboxMessage.uid``) on every attempt, so a gateway or mail system that
de-duplicates by it shows the resident one message.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, text, update

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.services.integration import opendk
from sempelmas.services.operations import channels, push, webhook_send, worker_loop

log = logging.getLogger(__name__)

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
                _failed(msg, notifier, f"{type(exc).__name__}: {exc}"[:2000], now, max_attempts, counts,
                        final=isinstance(exc, channels.Undeliverable))
            else:
                lease.holding(None)
                if _finish(msg, notifier, status=OutboxStatus.SENT, sent_at=utcnow(), last_error=None):
                    counts["sent"] += 1
                    log.info("outbox %s (%s) sent to %s", msg.id, msg.channel, msg.recipient)
    return counts


def _failed(msg: Outgoing, notifier: str, error: str, now: datetime, max_attempts: int, counts: dict, *,
            final: bool = False) -> None:
    """Record a failed attempt: the next one after the backoff, or FAILED after the last one allowed, or at
    once when the recipient is gone for good (``final``: a dropped push subscription)."""
    if final or msg.attempts >= max_attempts:
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


def send(msg: Outgoing) -> None:
    """Hand one message to its channel, under its own id; raises on any failure."""
    if msg.channel == "email":
        channels.send_email(msg.recipient, msg.subject, msg.body, uid=msg.uid, created_at=msg.created_at)
    elif msg.channel == "gateway":
        channels.send_gateway(msg.recipient, msg.body, uid=msg.uid)
    elif msg.channel == push.CHANNEL:
        push.send(msg.recipient, msg.body, uid=msg.uid)
    elif msg.channel == webhook_send.CHANNEL:
        webhook_send.send(msg)
    elif msg.channel == opendk.CHANNEL:
        opendk.send(msg.body, msg.uid)
    else:
        raise channels.DeliveryError(f"unknown channel {msg.channel!r}")


def work_forever(poll_seconds: float, batch: int = 50, *, stop: threading.Event | None = None,
                 max_backoff: float = 60.0) -> None:
    """The notify worker's loop: deliver what is due; when idle, sleep until the next message is due (a
    retry, a dead notifier's lease ending) or ``poll_seconds``, whichever comes first. A round that fails (the
    database locked or away) waits a growing backoff before the next, as the job worker does
    (services/operations/worker_loop.py: 1 s, 2 s, 4 s … ``max_backoff``). ``stop``: ends the loop (tests)."""
    log.info("notify worker started")
    worker_loop.run_rounds("notify worker", notify_round(poll_seconds, batch), stop=stop, max_backoff=max_backoff)


def notify_round(poll_seconds: float, batch: int = 50) -> Callable[[], float]:
    """One round of the notifier (deliver what is due): returns how long to wait before the next (0: more is
    due; else until the next message is due, at most ``poll_seconds``). Also run by ``flask background``."""
    def one_round() -> float:
        counts = deliver_due(limit=batch)
        return 0.0 if any(counts.values()) else seconds_until_due(poll_seconds)

    return one_round
