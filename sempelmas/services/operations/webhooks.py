"""Webhooks: the endpoints an admin subscribes, the events they hear of, and what the admin does with them.

An event is emitted where it happens, inside the transaction of its cause (``emit``: the request lifecycle's
receiver ``request_moved``, letter signing and revocation, complaints, account verification): it exists exactly
when its cause commits. Each endpoint subscribed to its type gets a delivery, an outbox row on the "webhook"
channel that the notify worker sends (services/operations/webhook_send.py) with the outbox's retries, backoff
and leases, signed per Standard Webhooks with the endpoint's secret. Payloads carry ids, codes and statuses
only: no NIK, no name, no contact data.

Paused endpoints (by the admin, or after WEBHOOK_PAUSE_AFTER failed attempts in a row, the admins told on their
bell) are sent nothing: their new deliveries, and the ones still queued when the pause came, are *held* (a
delivery without an outbox row) and go out in order when the admin resumes the endpoint.

Addresses: https:// only, and in production only addresses that are public (``check_url`` and, at each send,
``webhook_send.check_destination`` on what the name resolves to), so an admin account cannot make the server
probe the kelurahan's LAN (SSRF). ``WEBHOOK_ALLOW_PRIVATE`` (default: on in development, off in production)
allows private, loopback and link-local addresses, and http:// to localhost.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from sempelmas import links
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import OutboxMessage, OutboxStatus, new_message_uid
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from sempelmas.services.accountability import audit
from sempelmas.services.operations import notify, outbox
from sempelmas.services.operations.notice_text import msg

CHANNEL = "webhook"
#: the event types, with what the admin reads for each
EVENT_TYPES = {
    "request.submitted": _l("Permohonan diajukan"),
    "request.status_changed": _l("Status permohonan berubah"),
    "letter.signed": _l("Surat ditandatangani"),
    "letter.revoked": _l("Surat dicabut"),
    "complaint.created": _l("Pengaduan masuk"),
    "complaint.answered": _l("Pengaduan dijawab"),
    "account.verified": _l("Akun warga diverifikasi"),
}
#: how long the secret before a rotation still signs (a second signature), while receivers switch
ROTATION_OVERLAP = timedelta(hours=24)
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
MAX_URL = 500


class WebhookError(ValueError):
    """What the admin asked cannot be done; ``message`` says why, in Indonesian, about the form's ``field``."""

    def __init__(self, message, field: str | None = "url"):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


# ----------------------------------------------------------------------------- addresses


def allow_private() -> bool:
    """Private, loopback and link-local destinations (and http:// to localhost) allowed: WEBHOOK_ALLOW_PRIVATE,
    by default in development only."""
    setting = current_app.config.get("WEBHOOK_ALLOW_PRIVATE")
    if setting is None:
        return current_app.config.get("ENV") != "production"
    return bool(setting)


def is_public_address(address: str) -> bool:
    """A globally routable address (not private, loopback, link-local, CGNAT, multicast or reserved)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(raw: str) -> str:
    """The endpoint address, checked; raises WebhookError with the reason."""
    url = (raw or "").strip()
    if not url or len(url) > MAX_URL:
        raise WebhookError(_("Isi alamat endpoint (paling banyak %(n)d karakter).", n=MAX_URL))
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise WebhookError(_("Alamat endpoint tidak valid.")) from exc
    if parts.scheme not in ("http", "https") or not host:
        raise WebhookError(_("Alamat endpoint harus diawali https://."))
    if parts.username or parts.password:
        raise WebhookError(_("Alamat endpoint tidak boleh memuat nama pengguna atau kata sandi."))
    if parts.fragment:
        raise WebhookError(_("Alamat endpoint tidak boleh memuat bagian #."))
    private_ok = allow_private()
    if parts.scheme == "http" and not (private_ok and host in LOOPBACK_NAMES):
        raise WebhookError(_("Alamat endpoint harus https:// (http:// hanya untuk localhost saat pengembangan)."))
    if not private_ok:
        if host in LOOPBACK_NAMES or host.endswith((".localhost", ".local", ".internal", ".lan")):
            raise WebhookError(_("Alamat endpoint harus alamat publik, bukan alamat jaringan lokal."))
        try:
            public = is_public_address(host)
        except ValueError:
            public = True  # a name: what it resolves to is checked at every send
        if not public:
            raise WebhookError(_("Alamat endpoint harus alamat publik, bukan alamat jaringan lokal."))
    return url


# ----------------------------------------------------------------------------- the admin's actions


def new_secret() -> str:
    """A fresh signing secret, "whsec_" and 32 random bytes in base64 (the Standard Webhooks form)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _events(chosen) -> list[str]:
    events = [e for e in EVENT_TYPES if e in set(chosen or ())]
    if not events:
        raise WebhookError(_("Pilih setidaknya satu jenis peristiwa."), "events")
    return events


def create_endpoint(url: str, events, actor: User, description: str = "") -> tuple[WebhookEndpoint, str]:
    """A new endpoint; returns it and its secret (shown to the admin once). Audited; flushes."""
    endpoint = WebhookEndpoint(url=check_url(url), events=_events(events), description=(description or "")[:200],
                               secret=new_secret(), created_by_id=actor.id, consecutive_failures=0)
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.create", endpoint, actor=actor, url=endpoint.url, events=endpoint.events)
    return endpoint, endpoint.secret


def update_endpoint(endpoint: WebhookEndpoint, url: str, events, actor: User, description: str = "") -> bool:
    """Change an endpoint's address (checked as at creation), events or description; everything or nothing
    (a refused address changes nothing). Deliveries still queued or held go to the new address. Audited with
    what changed (before and after); returns False, writing nothing, when nothing changed. Flushes."""
    new = {"url": check_url(url), "events": _events(events), "description": (description or "").strip()[:200]}
    old = {name: getattr(endpoint, name) for name in new}
    changed = {name: [old[name], value] for name, value in new.items() if old[name] != value}
    if not changed:
        return False
    for name, value in new.items():
        setattr(endpoint, name, value)
    audit.record("webhook.update", endpoint, actor=actor, changes=changed)
    db.session.flush()
    return True


def delete_endpoint(endpoint: WebhookEndpoint, actor: User) -> dict:
    """Stop an endpoint for good: its outbox rows (queued or not), its held deliveries, its delivery log
    (deliveries and attempts) and the events no other endpoint has go with it; the audit entry
    ``webhook.delete`` keeps its address, events and these counts. A POST already under way when this commits
    is not logged (webhook_send.send finds the delivery gone). Returns the counts. Flushes."""
    delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
    outbox_ids = select(WebhookDelivery.outbox_id).where(WebhookDelivery.endpoint_id == endpoint.id,
                                                         WebhookDelivery.outbox_id.is_not(None))
    event_ids = set(db.session.scalars(select(WebhookDelivery.event_id).where(
        WebhookDelivery.endpoint_id == endpoint.id)))
    counts = {
        "queued": db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.id.in_(outbox_ids), OutboxMessage.status == OutboxStatus.PENDING)),
        "held": db.session.scalar(select(func.count()).where(WebhookDelivery.endpoint_id == endpoint.id,
                                                             WebhookDelivery.held.is_(True))),
    }
    # the outbox rows first (they are found through the deliveries), then the log, then the endpoint
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.channel == CHANNEL, OutboxMessage.id.in_(
        outbox_ids)).execution_options(synchronize_session=False))
    counts["attempts"] = db.session.execute(delete(WebhookAttempt).where(
        WebhookAttempt.endpoint_id == endpoint.id).execution_options(synchronize_session=False)).rowcount
    counts["deliveries"] = db.session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.id.in_(delivery_ids)).execution_options(synchronize_session=False)).rowcount
    counts["events_deleted"] = delete_orphan_events(event_ids) if event_ids else 0
    audit.record("webhook.delete", endpoint, actor=actor, url=endpoint.url, events=endpoint.events,
                 description=endpoint.description or None, **counts)
    db.session.delete(endpoint)
    db.session.flush()
    return counts


def delete_orphan_events(event_ids, *, older_than: datetime | None = None) -> int:
    """Delete those of ``event_ids`` (a collection or a select of ids) that no delivery names any more (and, if
    given, created before ``older_than``); returns how many."""
    query = delete(WebhookEvent).where(WebhookEvent.id.in_(event_ids), ~select(WebhookDelivery.id).where(
        WebhookDelivery.event_id == WebhookEvent.id).exists())
    if older_than is not None:
        query = query.where(WebhookEvent.created_at < older_than)
    return db.session.execute(query.execution_options(synchronize_session=False)).rowcount


def rotate_secret(endpoint: WebhookEndpoint, actor: User) -> str:
    """A new secret (returned, shown once); the old one still adds a second signature for ROTATION_OVERLAP.
    Audited; flushes."""
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_until = utcnow() + ROTATION_OVERLAP
    endpoint.secret = new_secret()
    audit.record("webhook.rotate_secret", endpoint, actor=actor)
    db.session.flush()
    return endpoint.secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one during the overlap."""
    out = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_until and endpoint.previous_until > now:
        out.append(endpoint.previous_secret)
    return out


def pause(endpoint: WebhookEndpoint, reason: str, *, actor: User | None = None) -> int:
    """Pause ``endpoint``: nothing more is sent to it; its queued deliveries not being sent right now are held
    (their outbox rows removed). Returns how many were held. Audited; flushes."""
    endpoint.paused_at = utcnow()
    endpoint.pause_reason = reason[:300]
    queued = db.session.execute(
        select(WebhookDelivery, OutboxMessage).join(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id, OutboxMessage.status == OutboxStatus.PENDING,
               OutboxMessage.claimed_by.is_(None))).all()
    for delivery, row in queued:
        delivery.held = True
        delivery.outbox_id = None
        db.session.delete(row)
    audit.record("webhook.pause", endpoint, actor=actor, reason=endpoint.pause_reason, held=len(queued),
                 automatic=actor is None)
    db.session.flush()
    return len(queued)


def pause_after_failures(endpoint: WebhookEndpoint, failures: int) -> None:
    """The automatic pause after ``failures`` failed attempts in a row, and the notice to every admin (bell,
    and e-mail / WhatsApp as configured). Flushes."""
    _ = msg  # a key plus values, rendered in each admin's language (services/operations/notice_text.py)
    pause(endpoint, f"otomatis: {failures} kali gagal berturut-turut")
    for admin in notify.users_with_role(Role.ADMIN):
        outbox.tell(admin, kind="webhook.paused", url=f"/admin/webhook/{endpoint.id}",
                    message=_("Webhook ke %(url)s dijeda setelah %(n)s kali gagal berturut-turut. Periksa "
                                "penerimanya, lalu lanjutkan pengiriman.", url=endpoint.url[:120], n=failures),
                    subject=_("Webhook dijeda"))


def resume(endpoint: WebhookEndpoint, actor: User) -> int:
    """Resume ``endpoint``: its held deliveries are queued again, in order, under their own webhook-id.
    Returns how many. Audited; flushes."""
    endpoint.paused_at = None
    endpoint.pause_reason = None
    endpoint.consecutive_failures = 0
    held = list(db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.held.is_(True)).order_by(WebhookDelivery.id)))
    for delivery in held:
        delivery.held = False
        _queue(delivery)
    audit.record("webhook.resume", endpoint, actor=actor, queued=len(held))
    db.session.flush()
    return len(held)


def redeliver(delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send an event to an endpoint again: a new delivery with the same webhook-id (a receiver that already has
    it drops the repeat). Held if the endpoint is paused. Audited; flushes."""
    endpoint = db.session.get(WebhookEndpoint, delivery.endpoint_id)
    again = _deliver(endpoint, delivery.event, message_id=delivery.message_id, requested_by=actor)
    audit.record("webhook.redeliver", endpoint, actor=actor, delivery=delivery.id, message_id=delivery.message_id,
                 event_type=delivery.event.type)
    return again


# ----------------------------------------------------------------------------- events


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def emit(event_type: str, data: dict) -> WebhookEvent | None:
    """Record an event of ``event_type`` and a delivery to each endpoint subscribed to it, inside the caller's
    transaction (flushes, never commits). None when no endpoint wants it (nothing is stored)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    endpoints = [e for e in db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
                 if event_type in (e.events or ())]
    if not endpoints:
        return None
    now = utcnow()
    body = json.dumps({"type": event_type, "timestamp": _iso(now), "data": data}, ensure_ascii=False,
                      separators=(",", ":"))
    event = WebhookEvent(type=event_type, payload=body, created_at=now)
    db.session.add(event)
    for endpoint in endpoints:
        _deliver(endpoint, event)
    return event


def _deliver(endpoint: WebhookEndpoint, event: WebhookEvent, *, message_id: str | None = None,
             requested_by: User | None = None) -> WebhookDelivery:
    uid = new_message_uid()
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event=event, message_id=message_id or uid,
                               held=endpoint.paused_at is not None, requested_by_id=getattr(requested_by, "id", None))
    db.session.add(delivery)
    db.session.flush()  # its id is the outbox row's recipient
    if not delivery.held:
        _queue(delivery, uid)
    return delivery


def _queue(delivery: WebhookDelivery, uid: str | None = None) -> None:
    row = OutboxMessage(uid=uid or new_message_uid(), channel=CHANNEL, recipient=str(delivery.id),
                        subject=delivery.message_id, body=delivery.event.payload)
    db.session.add(row)
    db.session.flush()
    delivery.outbox_id = row.id


def request_moved(request, *, event, **_) -> None:
    """Receiver of ``lifecycle.request_moved``: "request.submitted" for a new request, else
    "request.status_changed"."""
    submitted = event.action == "submit"
    data = {"request_id": request.id, "tracking_number": request.tracking_number,
            "service_code": (request.service_snapshot or {}).get("code"), "status": str(request.status)}
    if not submitted:
        data |= {"previous_status": str(event.from_status) if event.from_status else None, "action": event.action}
    emit("request.submitted" if submitted else "request.status_changed", data)


#: the public check of a letter (services/letters/issuing.py VERIFY_PATH; not imported: letters import this)
VERIFY_PATH = "/v/{}"


def letter_event(event_type: str, letter) -> None:
    """"letter.signed" / "letter.revoked": the letter's number, status and verification code, not its subject."""
    verification_url = links.absolute_url(VERIFY_PATH.format(letter.verify_code))
    data = {"letter_id": letter.id, "request_id": letter.request_id,
            "tracking_number": letter.request.tracking_number if letter.request else None,
            "number": letter.number, "service_code": letter.service_code, "status": str(letter.status),
            "verification_code": letter.verify_code, "verification_url": verification_url,
            "signed_at": _iso(letter.signed_at) if letter.signed_at else None}
    if letter.revoked_at:
        data["revoked_at"] = _iso(letter.revoked_at)
    emit(event_type, data)


def complaint_event(event_type: str, complaint, action: str | None = None) -> None:
    """"complaint.created" / "complaint.answered": code, category and status; no name, contact or text."""
    data = {"complaint_id": complaint.id, "code": complaint.code, "category": complaint.category,
            "status": str(complaint.status),
            "tracking_number": complaint.request.tracking_number if complaint.request_id else None}
    if action:
        data["action"] = action
    emit(event_type, data)


def account_verified(user: User) -> None:
    emit("account.verified", {"user_id": user.id, "status": str(user.status),
                              "verified_at": _iso(user.verified_at) if user.verified_at else None})


# ----------------------------------------------------------------------------- the admin's view


def endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def delivery_log(endpoint: WebhookEndpoint, limit: int = 50) -> list[dict]:
    """The endpoint's latest deliveries, newest first, each with its event, state and attempts."""
    rows = db.session.execute(
        select(WebhookDelivery, OutboxMessage).outerjoin(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id).order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    attempts: dict[int, list[WebhookAttempt]] = {}
    if rows:
        for a in db.session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_([d.id for d, _ in rows])).order_by(WebhookAttempt.id)):
            attempts.setdefault(a.delivery_id, []).append(a)
    return [{"delivery": d, "event": d.event, "state": state_of(d, row), "outbox": row,
             "attempts": attempts.get(d.id, [])} for d, row in rows]


def state_of(delivery: WebhookDelivery, row: OutboxMessage | None) -> str:
    if delivery.held:
        return str(_("ditahan"))
    if row is None:
        return str(_("dihapus"))
    return {OutboxStatus.PENDING: str(_("antri")), OutboxStatus.SENT: str(_("terkirim")),
            OutboxStatus.FAILED: str(_("gagal"))}.get(row.status, row.status)

