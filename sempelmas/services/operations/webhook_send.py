"""Sending one webhook delivery: the outbox's "webhook" channel (services/operations/webhooks.py queues them).

The notify worker (services/operations/delivery.py) claims the outbox row and calls ``send``: a POST of the
event's JSON to the endpoint, signed per Standard Webhooks (``webhook-id``: the delivery's message id, the same
on every attempt and every redelivery; ``webhook-timestamp``: now; ``webhook-signature``: "v1,<HMAC-SHA256>"
with the endpoint's secret, and the previous one during a rotation), WEBHOOK_TIMEOUT seconds at most, redirects
not followed (a 3xx is a failure). A 2xx answer is success; anything else raises, and the outbox retries with its
backoff. Every attempt is logged (``WebhookAttempt``: time, status code, error, the first characters of the
answer, nothing more). After WEBHOOK_PAUSE_AFTER failures in a row the endpoint is paused, the admins told, and
the delivery held (``channels.Undeliverable``: the outbox row is not retried; resuming queues it again).

At each send the endpoint's host is resolved and, unless WEBHOOK_ALLOW_PRIVATE, every address must be public
(``check_destination``). The connection then resolves the name again: a DNS answer that changes between the two
(rebinding) is the gap left; the URL check at subscription and https make it narrow.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sempelmas.services.operations import channels, webhooks

log = logging.getLogger(__name__)

CHANNEL = webhooks.CHANNEL
EXCERPT = 200
USER_AGENT = "SemPelMas-webhooks"


@dataclass(frozen=True)
class _Target:
    delivery_id: int
    endpoint_id: int
    url: str
    secrets: list[str]
    paused: bool


def check_destination(url: str) -> None:
    """Unless WEBHOOK_ALLOW_PRIVATE: every address the host resolves to must be public; raises DeliveryError."""
    if webhooks.allow_private():
        return
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except OSError as exc:
        raise channels.DeliveryError(f"cannot resolve {parts.hostname}: {exc}") from exc
    for info in infos:
        if not webhooks.is_public_address(info[4][0]):
            raise channels.DeliveryError(f"{parts.hostname} resolves to a non-public address ({info[4][0]}); "
                                         "refused (WEBHOOK_ALLOW_PRIVATE is off)")


def signed_headers(message_id: str, body: bytes, secrets: list[str], now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: one v1 signature per secret (the previous one too during a rotation)."""
    signatures = " ".join(Webhook(s).sign(message_id, now, body) for s in secrets)
    stamp = now if now.tzinfo else now.replace(tzinfo=UTC)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(stamp.timestamp())),
            "webhook-signature": signatures, "Content-Type": "application/json", "User-Agent": USER_AGENT}


def _target(delivery_id: int) -> _Target | None:
    row = db.session.execute(
        select(WebhookDelivery.id, WebhookEndpoint).join(WebhookEndpoint, WebhookEndpoint.id ==
                                                         WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)).first()
    if row is None:
        db.session.rollback()
        return None
    endpoint = row[1]
    target = _Target(delivery_id, endpoint.id, endpoint.url, webhooks.signing_secrets(endpoint, utcnow()),
                     endpoint.paused_at is not None)
    db.session.rollback()  # ends the read: nothing stays open during the POST
    return target


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST once, no redirects; (status, the answer's first characters). Raises DeliveryError (not reached)
    or OutcomeUnknown (sent, no answer)."""
    parts = urlsplit(url)
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT") or 10)
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                           context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        try:
            conn.connect()
        except OSError as exc:
            raise channels.DeliveryError(f"not reached: {type(exc).__name__}: {exc}") from exc
        try:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            excerpt = resp.read(EXCERPT).decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as exc:
            raise channels.OutcomeUnknown(f"no answer: {type(exc).__name__}: {exc}") from exc
        return resp.status, excerpt
    finally:
        conn.close()


def send(msg) -> None:
    """Send the delivery an outbox row carries (``msg``: delivery.Outgoing; its recipient is the delivery's id,
    its subject the webhook-id, its body the event's JSON). Raises on failure (see the module's text)."""
    target = _target(int(msg.recipient))
    if target is None:
        raise channels.Undeliverable("the webhook endpoint was removed")
    if target.paused:
        _hold(target.delivery_id)
        raise channels.Undeliverable("the webhook endpoint is paused: the delivery is held until it is resumed")
    body = msg.body.encode("utf-8")
    started = time.monotonic()
    status, excerpt, error, failure = None, None, None, None
    try:
        check_destination(target.url)
        status, excerpt = _post(target.url, body, signed_headers(msg.subject, body, target.secrets, utcnow()))
    except channels.DeliveryError as exc:
        error, failure = str(exc), exc
    else:
        if 300 <= status < 400:
            error = f"HTTP {status}: redirect not followed"
        elif not 200 <= status < 300:
            error = f"HTTP {status}"
        failure = channels.DeliveryError(error) if error else None
    if not _log(target, status, excerpt, error, int((time.monotonic() - started) * 1000)):
        raise channels.Undeliverable("the webhook endpoint was removed while this was sent")
    if failure is not None:
        if _count_failure(target):
            _hold(target.delivery_id)
            raise channels.Undeliverable(f"{error}; endpoint paused, the delivery is held") from failure
        raise failure


def _log(target: _Target, status: int | None, excerpt: str | None, error: str | None, duration_ms: int) -> bool:
    """Log the attempt; False (nothing logged) if the admin deleted the endpoint during the POST."""
    if db.session.get(WebhookDelivery, target.delivery_id, with_for_update=True) is None:
        db.session.rollback()
        return False
    db.session.add(WebhookAttempt(delivery_id=target.delivery_id, endpoint_id=target.endpoint_id, at=utcnow(),
                                  ok=error is None, status_code=status, error=(error or None) and error[:300],
                                  response_excerpt=(excerpt or None) and excerpt[:EXCERPT], duration_ms=duration_ms))
    if error is None:
        db.session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == target.endpoint_id)
                           .values(consecutive_failures=0, last_success_at=utcnow()))
    db.session.commit()
    return True


def _count_failure(target: _Target) -> bool:
    """Count a failed attempt; pause the endpoint when it reaches WEBHOOK_PAUSE_AFTER in a row. True if the
    endpoint is paused now (by this failure or meanwhile)."""
    t = WebhookEndpoint.__table__
    failures, paused_at = db.session.execute(
        update(t).where(t.c.id == target.endpoint_id)
        .values(consecutive_failures=t.c.consecutive_failures + 1, last_failure_at=utcnow())
        .returning(t.c.consecutive_failures, t.c.paused_at)).one()
    limit = int(current_app.config.get("WEBHOOK_PAUSE_AFTER") or 10)
    if paused_at is None and failures >= limit:
        endpoint = db.session.get(WebhookEndpoint, target.endpoint_id, with_for_update=True)
        if endpoint.paused_at is None:
            webhooks.pause_after_failures(endpoint, failures)
            log.warning("webhook endpoint %s paused after %d failures in a row", endpoint.id, failures)
        paused_at = endpoint.paused_at
    db.session.commit()
    return paused_at is not None


def _hold(delivery_id: int) -> None:
    db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                       .values(held=True, outbox_id=None))
    db.session.commit()
