"""Storing a notice for delivery, and reading the bell.

A notice is a bell entry (a Notification, read in the app) and, on the configured channels, outbox rows
(e-mail when MAIL_SERVER is set and there is an address, the WhatsApp/SMS gateway when NOTIFY_GATEWAY_URL is
set and there is a phone, Web Push to each phone the user turned it on for: services/operations/push.py) that
the notify worker sends later (services/operations/delivery.py). Storing adds
rows and flushes inside the caller's transaction, never commits or sends: a message exists exactly when what
caused it commits. What a notice says is its caller's (services/operations/notify.py for requests and accounts).

A notice's text is a ``notice_text.Msg`` (a key plus values) or, from callers not yet moved to keys, a plain
string. The bell row keeps the key and values and is rendered in its reader's language when shown; the outbox
rows are rendered here, when queued, in the recipient's language (``User.lang``) and keep that text for delivery:
the worker then has nothing to translate, and a message already queued does not change if the user switches.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update

from sempelmas import links
from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import Notification, OutboxMessage, OutboxStatus
from sempelmas.models.requests import LetterRequest
from sempelmas.services.accountability import audit
from sempelmas.services.operations import notice_text, push
from sempelmas.services.operations.notice_text import Msg


@dataclass
class Notice:
    """One notice to one person."""

    user: User
    message: Msg | str
    url: str
    #: residents and their pendamping also get e-mail / WhatsApp; officials use the bell
    external: bool = False


# ----------------------------------------------------------------------------- storing


def store(request: LetterRequest, notices: list[Notice], kind: str, subject: Msg | str) -> None:
    """Bell rows for ``notices`` about ``request``, and outbox rows for the external ones on the configured
    channels (``queue_external``). Flushes, never commits or sends."""
    if not notices:
        return
    rows = [notice_text.fill(Notification(user_id=n.user.id, request_id=request.id, kind=kind[:40], url=n.url),
                             n.message) for n in notices]
    db.session.add_all(rows)
    db.session.flush()  # the outbox rows point at their bell entry
    for notice, row in zip(notices, rows, strict=True):
        if notice.external:
            lang = notice.user.lang
            said = notice_text.in_lang(subject, lang)
            queue_external(row.id, email=notice.user.email, phone=notice.user.phone, subject=said,
                           body=with_link(notice_text.in_lang(notice.message, lang), notice.url))
            push.queue(row, said, request.tracking_number)
    db.session.flush()


def tell(user: User, *, kind: str, message: Msg | str, url: str | None, subject: Msg | str) -> Notification:
    """One notice to ``user`` that is not about a letter request: a bell entry, and e-mail / WhatsApp on the
    configured channels (``queue_external``). Flushes, never commits or sends."""
    row = notice_text.fill(Notification(user_id=user.id, kind=kind[:40], url=url), message)
    db.session.add(row)
    db.session.flush()  # the outbox rows point at their bell entry
    said = notice_text.in_lang(subject, user.lang)
    queue_external(row.id, email=user.email, phone=user.phone, subject=said,
                   body=with_link(notice_text.in_lang(message, user.lang), url))
    push.queue(row, said)
    return row


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


# ----------------------------------------------------------------------------- the admin's view


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
