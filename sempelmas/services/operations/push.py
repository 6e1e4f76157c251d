"""Web Push, the outbox's fourth channel: the phones a user turned notifications on for, and sending to them.

A notice that goes to a resident's e-mail / WhatsApp (services/operations/outbox.py) also becomes one outbox row
per push subscription of that user (channel "push", the recipient being the subscription's id), queued in the
same transaction and delivered by the notify worker with the same claims, leases, backoff and message id
(services/operations/delivery.py), whatever kind of notice it is. What a push carries is small and holds no
personal data: the tracking number, the notice's short subject ("Permohonan 2026-… : Ditandatangani") and the
address the tap opens. The body is encrypted for the browser (RFC 8291, aes128gcm) and signed with the site's
VAPID key (services/operations/vapid.py). A push service answering 404 or 410 has dropped the subscription: it
is deleted and the message is not retried; any other failure is retried like the other channels.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, or_, select, update

from sempelmas import links
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User, UserSession
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import Notification, OutboxMessage, OutboxStatus
from sempelmas.models.push import PushSubscription
from sempelmas.services.accountability import audit
from sempelmas.services.operations import channels, vapid

CHANNEL = "push"
#: longest text a push shows (a notification's body on a phone shows ~2 lines anyway)
MAX_TEXT = 120
#: what a browser may send; longer is not a push subscription
MAX_ENDPOINT = 1000


class SubscriptionError(ValueError):
    """What the browser sent is not a usable push subscription; the message says why, in Indonesian."""


# ----------------------------------------------------------------------------- queueing


def live_subscriptions(user_id: int) -> list[PushSubscription]:
    """The user's subscriptions still to be told: made in a session not ended by signing out (or outside any
    session), oldest first."""
    return list(db.session.scalars(
        select(PushSubscription).outerjoin(UserSession, UserSession.id == PushSubscription.session_id)
        .where(PushSubscription.user_id == user_id,
               or_(PushSubscription.session_id.is_(None), UserSession.ended_at.is_(None)))
        .order_by(PushSubscription.id)))


def payload(subject: str, url: str | None, tracking_number: str | None, kind: str) -> str:
    """The JSON a push carries: a title, the short subject, the address to open and a tag (a newer notice of the
    same kind about the same request, e.g. its next status, replaces the older one on the phone). Nothing else:
    no name, NIK or reason."""
    text = " ".join(str(subject).split())
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT - 1] + "…"
    return json.dumps({"title": "SemPelMas", "body": text,
                       "url": links.absolute_url(url) if url and url.startswith("/") else None,
                       "tag": "-".join(filter(None, ("sempelmas", kind.partition(".")[0], tracking_number))),
                       "tn": tracking_number}, ensure_ascii=False, separators=(",", ":"))


def queue(note: Notification, subject: str, tracking_number: str | None = None) -> int:
    """Outbox rows for ``note`` (a bell entry just flushed) to each live push subscription of its user, when
    Web Push is on. Returns how many. Flushes nothing itself: the caller's flush writes them."""
    if not vapid.enabled():
        return 0
    body = None
    subs = live_subscriptions(note.user_id)
    for sub in subs:
        body = body or payload(subject, note.url, tracking_number, note.kind)
        db.session.add(OutboxMessage(notification_id=note.id, channel=CHANNEL, recipient=str(sub.id),
                                     subject=str(subject)[:200], body=body))
    return len(subs)


# ----------------------------------------------------------------------------- sending (the notify worker)


def send(recipient: str, body: str, *, uid: str) -> None:
    """Send one push to the subscription ``recipient`` (its id). Raises ``channels.Undeliverable`` when the
    subscription is gone (deleted here on a 404/410), ``channels.DeliveryError`` / ``OutcomeUnknown`` on
    failures worth retrying. The message's id goes as the ``Topic`` header: a push service still holding an
    earlier attempt of it replaces that one instead of delivering both."""
    sub_id = int(recipient) if recipient.isdigit() else 0
    sub = db.session.get(PushSubscription, sub_id)
    if sub is None:
        db.session.rollback()
        raise channels.Undeliverable("push subscription removed (turned off or dropped by the push service)")
    info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
    db.session.rollback()  # no transaction stays open during the send
    try:
        key = vapid.key()
    except vapid.PushNotReady as exc:
        raise channels.DeliveryError(f"push not ready: {exc}") from exc
    # imported here, not at the top: pywebpush and requests cost every process ~22 MB and only the notifier sends
    import requests
    from pywebpush import WebPushException, webpush

    cfg = current_app.config
    try:
        webpush(info, data=body, vapid_private_key=key, vapid_claims={"sub": vapid.subject()},
                content_encoding="aes128gcm", ttl=int(cfg.get("PUSH_TTL_SECONDS") or 172800),
                timeout=float(cfg.get("PUSH_TIMEOUT") or 10),
                headers={"Topic": uid.replace("-", "")[:32], "Urgency": "normal"})
    except WebPushException as exc:
        code = exc.response.status_code if exc.response is not None else None
        if code in (404, 410):
            _drop(sub_id, code)
            raise channels.Undeliverable(f"push service answered HTTP {code}: subscription gone, dropped") from exc
        error = f"push service answered HTTP {code}" if code else f"push refused: {exc}"
        _note(sub_id, failure=error)
        raise channels.DeliveryError(error) from exc
    except (requests.exceptions.ReadTimeout, requests.exceptions.ChunkedEncodingError) as exc:
        _note(sub_id, failure="no answer from the push service")
        raise channels.OutcomeUnknown(f"no answer from the push service ({type(exc).__name__}); it may have "
                                      "the message: the retry carries the same Topic") from exc
    except (requests.exceptions.RequestException, ValueError) as exc:
        _note(sub_id, failure=f"{type(exc).__name__}")
        raise channels.DeliveryError(f"push not sent: {type(exc).__name__}: {exc}") from exc
    _note(sub_id)


def _note(sub_id: int, *, failure: str | None = None) -> None:
    values = {"last_failure_at": utcnow(), "last_error": failure[:300]} if failure else {"last_success_at": utcnow()}
    db.session.execute(update(PushSubscription).where(PushSubscription.id == sub_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _drop(sub_id: int, code: int) -> None:
    """The push service forgot the subscription (the app uninstalled, the permission withdrawn): delete it and
    the other messages still queued for it (they would get the same answer)."""
    sub = db.session.get(PushSubscription, sub_id)
    if sub is not None:
        audit.record("push.drop", sub, actor=None, user_id=sub.user_id, http_status=code, label=sub.label)
        db.session.delete(sub)
    db.session.commit()


# ----------------------------------------------------------------------------- the resident's devices


def subscribe(user: User, data: dict, *, label: str) -> PushSubscription:
    """Record the browser's subscription (PushSubscription.toJSON(): endpoint and keys p256dh, auth) for ``user``
    in this session; an endpoint already known (the same browser again, or a shared phone's next user) is taken
    over. Audited. Raises SubscriptionError on anything that is not a subscription. Flushes."""
    endpoint = str(data.get("endpoint") or "").strip()
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    p256dh, auth = str(keys.get("p256dh") or data.get("p256dh") or ""), str(keys.get("auth") or data.get("auth") or "")
    if not _push_service_url(endpoint):
        raise SubscriptionError(_("Alamat layanan push tidak sah."))
    if len(endpoint) > MAX_ENDPOINT or not _b64url_len(p256dh, 65) or not _b64url_len(auth, 16):
        raise SubscriptionError(_("Data langganan notifikasi tidak lengkap atau tidak sah."))
    sub = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    moved_from = sub.user_id if sub is not None and sub.user_id != user.id else None
    values = {"user_id": user.id, "session_id": getattr(user, "session_id", None), "p256dh": p256dh,
              "auth": auth, "label": label[:60], "last_error": None}
    if sub is None:
        sub = PushSubscription(endpoint=endpoint, **values)
        db.session.add(sub)
    else:
        for name, value in values.items():
            setattr(sub, name, value)
    db.session.flush()
    audit.record("push.subscribe", sub, actor=user, label=sub.label, **({"taken_over": True} if moved_from else {}))
    db.session.flush()
    return sub


def _push_service_url(endpoint: str) -> bool:
    """An https URL on a public host name: the notify worker POSTs to it, so no IP address, no local name
    (nothing inside the kelurahan's network). PUSH_ALLOW_LOCAL_ENDPOINTS lifts that for tests on 127.0.0.1."""
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
    except ValueError:
        return False
    if current_app.config.get("PUSH_ALLOW_LOCAL_ENDPOINTS") and host == "127.0.0.1":
        return parts.scheme in {"http", "https"}
    if parts.scheme != "https" or "." not in host or host.endswith((".local", ".localhost", ".internal")):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def _b64url_len(value: str, size: int) -> bool:
    if not value or len(value) > 200:
        return False
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == size


def unsubscribe(user: User, sub: PushSubscription) -> None:
    """Turn one of ``user``'s devices off (the caller checked it is theirs). Audited. Flushes."""
    audit.record("push.unsubscribe", sub, actor=user, label=sub.label)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.channel == CHANNEL,
                                                   OutboxMessage.recipient == str(sub.id),
                                                   OutboxMessage.status == OutboxStatus.PENDING,
                                                   OutboxMessage.claimed_by.is_(None))
                       .execution_options(synchronize_session=False))
    db.session.delete(sub)
    db.session.flush()


def own_by_endpoint(user: User, endpoint: str) -> PushSubscription | None:
    return db.session.scalar(select(PushSubscription).where(PushSubscription.user_id == user.id,
                                                            PushSubscription.endpoint == endpoint))


def endpoint_hash(endpoint: str) -> str:
    """A short hash of an endpoint: the page tells its script which subscriptions the server has for the user
    (is this phone's one of them?) without writing the endpoints, which are capabilities, into the page."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:16]


def known_hashes(user: User) -> list[str]:
    return [endpoint_hash(e) for e in db.session.scalars(
        select(PushSubscription.endpoint).where(PushSubscription.user_id == user.id))]


def devices(user: User) -> list[PushSubscription]:
    """The user's subscribed devices for the notifications page (newest first)."""
    return list(db.session.scalars(select(PushSubscription).where(PushSubscription.user_id == user.id)
                                   .order_by(PushSubscription.id.desc())))
