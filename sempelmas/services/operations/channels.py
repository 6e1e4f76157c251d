"""The two transports of the outbox: plain-text e-mail over SMTP, and the WhatsApp/SMS gateway over HTTP (the third,
Web Push, is services/operations/push.py).

Each hands over one message under its own id (the outbox row's ``uid``) and raises on any failure: a
``DeliveryError`` when the other end refused or was never reached, ``OutcomeUnknown`` when the message went out
but no answer came back. services/operations/delivery.py decides when to send and what a failure means.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from flask import current_app

from sempelmas.models.base import utcnow

#: the gateway's JSON body when NOTIFY_GATEWAY_TEMPLATE is not set
DEFAULT_GATEWAY_TEMPLATE = '{"to": "{phone}", "message": "{message}"}'
#: the template's placeholders: {phone}, {message}, {id} (the message's own id)
_PLACEHOLDER = re.compile(r"\{(phone|message|id)\}")


class DeliveryError(Exception):
    """A message could not be handed over; it is retried later."""


class Undeliverable(DeliveryError):
    """The recipient is gone for good (a push subscription the push service dropped, or one turned off): the
    message is marked failed at once, never retried."""


class OutcomeUnknown(DeliveryError):
    """The message went out but no answer came back (a timeout, a dropped connection): the gateway or mail
    server may well have it. Retried like any failure, with the same id, so a receiver that de-duplicates by
    it drops the repeat."""


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
