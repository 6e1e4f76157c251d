"""Notifications: the in-app bell, and the outbox the notify worker delivers by e-mail or gateway."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class Notification(db.Model):
    """One message in a user's bell list."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("letter_requests.id", ondelete="CASCADE"),
                                                   index=True)
    #: e.g. "request.ask_fix"
    kind: Mapped[str] = mapped_column(String(40))
    #: the text in Indonesian as stored when it happened (data export, and what rows older than message_key show)
    message: Mapped[str] = mapped_column(Text)
    #: the Indonesian msgid the text is rendered from in the reader's language, and its values (plain values,
    #: or codes rendered in that language too: services/operations/notice_text.py); None on older rows
    message_key: Mapped[str | None] = mapped_column(Text)
    message_values: Mapped[dict | None] = mapped_column(JSON)
    #: where the bell entry leads (a path inside the app)
    url: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class OutboxStatus(enum.StrEnum):
    PENDING = "antri"
    SENT = "terkirim"
    #: gave up after the last retry; kept for the admin to see, never silently dropped
    FAILED = "gagal"


def new_message_uid() -> str:
    return str(uuid.uuid4())


class OutboxMessage(db.Model):
    """A message to deliver outside the app; written in the same transaction as the status change.

    A notifier claims a message only while it sends it (``claimed_by``, the lease ending at
    ``next_attempt_at``, renewed while the send runs): a notifier that dies mid-send frees it within seconds.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the message's own id, the same on every attempt: the gateway's ``{id}`` and ``Idempotency-Key``, the
    #: e-mail's Message-ID. Random, not the row number: numbers repeat after a restore, and across kelurahan
    #: that share one gateway account, so a gateway de-duplicating by them would drop real messages.
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=new_message_uid)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"))
    #: "email" or "gateway" (WhatsApp/SMS through the configured HTTP gateway)
    channel: Mapped[str] = mapped_column(String(10))
    #: an e-mail address or a +62… phone number
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    #: attempts started (counted when claimed, so one cut short by a crash counts too)
    attempts: Mapped[int] = mapped_column(default=0)
    #: when it is due; while a notifier holds it, when that notifier's lease ends
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the notifier sending it now ("host:pid:random"); None when no send is under way
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    @property
    def sending(self) -> bool:
        """A notifier holds it and its lease has not run out (a dead notifier's message shows as due)."""
        return (self.claimed_by is not None and self.status == OutboxStatus.PENDING
                and self.next_attempt_at > utcnow())
