"""Retention of the webhook log: events, deliveries and attempts do not pile up for ever.

Part of the retention run (services/operations/retention.py, ``flask --app app retention run``, its systemd
timer). A delivery created more than WEBHOOK_LOG_DAYS ago whose fate is settled (its outbox row sent or failed,
or gone) is deleted with its attempts and its outbox row (which carries the event's body); then the events older
than that which no delivery names any more. A delivery still queued (its outbox row pending, retries included)
or held for a paused endpoint is never touched, however old, nor is its event. 0 turns it off. Each batch commits
with its own audit entry (``retention.run``, object "webhooks"), as the attachments' batches do; a run that finds
nothing of the webhook log to delete adds no entry (the attachments' entry records the run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from sempelmas.extensions import db
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEvent
from sempelmas.services.accountability import audit
from sempelmas.services.operations import webhooks

BATCH = 500


@dataclass
class WebhookLogResult:
    days: int
    cutoff: datetime | None
    deliveries: int = 0
    attempts: int = 0
    events: int = 0


def _settled(cutoff: datetime):
    """The ids of deliveries older than ``cutoff`` that will not be sent again: not held, and their outbox row
    sent, failed or gone."""
    return (select(WebhookDelivery.id)
            .outerjoin(OutboxMessage, OutboxMessage.id == WebhookDelivery.outbox_id)
            .where(WebhookDelivery.created_at < cutoff, WebhookDelivery.held.is_(False),
                   or_(WebhookDelivery.outbox_id.is_(None),
                       OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.FAILED])))
            .order_by(WebhookDelivery.id))


def _orphans(cutoff: datetime):
    return select(WebhookEvent.id).where(WebhookEvent.created_at < cutoff, ~select(WebhookDelivery.id).where(
        WebhookDelivery.event_id == WebhookEvent.id).exists())


def run(now: datetime, *, dry_run: bool = False, started: str | None = None) -> WebhookLogResult:
    """Delete (or, in a dry run, count) the settled webhook log older than WEBHOOK_LOG_DAYS."""
    days = int(current_app.config.get("WEBHOOK_LOG_DAYS") or 0)
    if days <= 0:
        return WebhookLogResult(days=0, cutoff=None)
    result = WebhookLogResult(days=days, cutoff=now - timedelta(days=days))
    if dry_run:
        ids = _settled(result.cutoff).subquery()
        result.deliveries = db.session.scalar(select(func.count()).select_from(ids))
        result.attempts = db.session.scalar(select(func.count()).select_from(WebhookAttempt).where(
            WebhookAttempt.delivery_id.in_(select(ids.c.id))))
        # events whose every delivery goes now, or that have none left
        kept = select(WebhookDelivery.event_id).where(WebhookDelivery.id.not_in(select(ids.c.id)))
        result.events = db.session.scalar(select(func.count()).select_from(WebhookEvent).where(
            WebhookEvent.created_at < result.cutoff, WebhookEvent.id.not_in(kept)))
        db.session.rollback()
        return result
    batch_no = 0
    while True:
        batch = db.session.execute(_settled(result.cutoff).add_columns(
            WebhookDelivery.outbox_id).limit(BATCH)).all()
        if not batch:
            break
        batch_no += 1
        ids = [row[0] for row in batch]
        outbox_ids = [row[1] for row in batch if row[1] is not None]
        attempts = _delete(WebhookAttempt, WebhookAttempt.delivery_id.in_(ids))
        deliveries = _delete(WebhookDelivery, WebhookDelivery.id.in_(ids))
        if outbox_ids:
            _delete(OutboxMessage, OutboxMessage.id.in_(outbox_ids), OutboxMessage.channel == webhooks.CHANNEL)
        _record(result, batch_no, started, deliveries=deliveries, attempts=attempts, events=0)
        db.session.commit()
        result.deliveries += deliveries
        result.attempts += attempts
    result.events = webhooks.delete_orphan_events(_orphans(result.cutoff))
    if result.events:
        _record(result, batch_no + 1, started, deliveries=0, attempts=0, events=result.events)
        db.session.commit()
    return result


def _delete(model, *where) -> int:
    return db.session.execute(delete(model).where(*where).execution_options(synchronize_session=False)).rowcount


def _record(result: WebhookLogResult, batch: int, started: str | None, **counts) -> None:
    audit.record("retention.run", None, object_type="retention", object_id="webhooks", days=result.days,
                 cutoff=result.cutoff.isoformat(timespec="seconds"), batch=batch, run_started=started, **counts)
