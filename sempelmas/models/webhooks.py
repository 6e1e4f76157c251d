"""Webhooks: the endpoints an admin subscribed to events, the events, their deliveries and each attempt.

An event (``WebhookEvent``) is stored in the transaction of what caused it, with one ``WebhookDelivery`` per
endpoint subscribed to its type; a delivery goes out as an outbox row (channel "webhook", the notify worker
sends it: services/operations/webhook_send.py) unless its endpoint is paused, then it is held until the admin
resumes it. ``message_id`` is the Standard Webhooks ``webhook-id``: the first outbox row's uid, kept by every
retry and every manual redelivery of the same event to the same endpoint, so receivers drop repeats.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sempelmas.extensions import db
from sempelmas.models.base import utcnow


class WebhookEndpoint(db.Model):
    """A receiver of events: its URL, the event types it wants and its signing secret."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    #: the event types it is subscribed to (services/operations/webhooks.py EVENT_TYPES)
    events: Mapped[list] = mapped_column(JSON, default=list)
    #: "whsec_<base64>": the HMAC key; kept readable (signing needs it), shown to the admin only once
    secret: Mapped[str] = mapped_column(String(100))
    #: the secret before the last rotation, still signed with (a second signature) until previous_until
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: set when paused (by the admin, or after WEBHOOK_PAUSE_AFTER failures in a row): nothing is sent
    paused_at: Mapped[datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(String(300))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]


class WebhookEvent(db.Model):
    """One event, as sent: its type and the exact JSON body (signed byte for byte)."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookDelivery(db.Model):
    """One event to one endpoint (a manual redelivery is a new one with the same ``message_id``)."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    #: the ``webhook-id`` header, the same on every attempt and every redelivery of this event to this endpoint
    message_id: Mapped[str] = mapped_column(String(36), index=True)
    #: the outbox row carrying it now (None while held)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_messages.id", ondelete="SET NULL"))
    #: waiting for its paused endpoint to be resumed
    held: Mapped[bool] = mapped_column(default=False)
    #: the admin who asked for a redelivery (None: sent because the event happened)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[WebhookEvent] = relationship()


class WebhookAttempt(db.Model):
    """One POST to an endpoint and how it ended (the delivery log)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(300))
    #: the first characters of the answer, no more
    response_excerpt: Mapped[str | None] = mapped_column(String(200))
    duration_ms: Mapped[int] = mapped_column(default=0)
