"""The webhook log does not grow without bound: the retention run deletes settled deliveries (sent or failed),
their attempts and outbox rows, and events nobody names any more, WEBHOOK_LOG_DAYS after the delivery; a delivery
still queued or held is kept whatever its age, and so is its event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from sempelmas.services.operations import delivery, retention, webhooks
from tests.webhooks.conftest import events


def _age(days: int, *, event_ids=None, delivery_ids=None) -> None:
    then = utcnow() - timedelta(days=days)
    if event_ids:
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids)).values(created_at=then))
    if delivery_ids:
        db.session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(delivery_ids))
                           .values(created_at=then))
    db.session.commit()


def _deliveries(endpoint) -> list[WebhookDelivery]:
    return list(db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                                   .order_by(WebhookDelivery.id)))


@pytest.fixture
def world(app, subscribe, receiver, admin):
    """Old (100 days) and new log rows in every state, on a receiver that answers and one that is down."""
    app.config.update(WEBHOOK_LOG_DAYS=90, NOTIFY_MAX_ATTEMPTS=1, WEBHOOK_PAUSE_AFTER=100)
    down = subscribe(["complaint.created"], url="http://127.0.0.1:9/nobody")  # refused: fails at once
    paused = subscribe(["letter.signed"])
    up = subscribe(["complaint.created"])  # last: the receiver verifies with its secret
    old_done = webhooks.emit("complaint.created", {"complaint_id": 1})  # up: sent; down: failed
    db.session.commit()
    delivery.deliver_due()
    webhooks.pause(paused, "uji", actor=admin)
    old_held = webhooks.emit("letter.signed", {"letter_id": 1})  # paused: held
    old_queued = webhooks.emit("complaint.created", {"complaint_id": 2})  # both: queued, never tried
    old_orphan = WebhookEvent(type="complaint.created", payload="{}", created_at=utcnow())
    new_orphan = WebhookEvent(type="complaint.created", payload="{}", created_at=utcnow())
    db.session.add_all([old_orphan, new_orphan])
    db.session.commit()
    olds = [old_done.id, old_held.id, old_queued.id, old_orphan.id]
    _age(100, event_ids=olds, delivery_ids=[d.id for e in (up, down, paused) for d in _deliveries(e)])
    # the old queued ones wait for a retry later (still pending); the new one is sent / fails now
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(select(WebhookDelivery.outbox_id).where(
        WebhookDelivery.event_id == old_queued.id))).values(next_attempt_at=utcnow() + timedelta(hours=1)))
    new_done = webhooks.emit("complaint.created", {"complaint_id": 3})
    db.session.commit()
    counts = delivery.deliver_due()
    assert (counts["sent"], counts["failed"]) == (1, 1)
    return {"admin": admin, "up": up, "down": down, "paused": paused, "old_done": old_done.id, "old_held": old_held.id,
            "old_queued": old_queued.id, "old_orphan": old_orphan.id, "new_orphan": new_orphan.id,
            "new_done": new_done.id}


def _state():
    return {"events": {e.id for e in events()},
            "deliveries": {d.id for d in db.session.scalars(select(WebhookDelivery))},
            "attempts": len(db.session.scalars(select(WebhookAttempt)).all()),
            "outbox": {m.id: m.status for m in db.session.scalars(select(OutboxMessage))}}


def test_settled_old_log_goes_pending_and_held_stay(app, world):
    old_done = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == world["old_done"])).all()
    assert len(old_done) == 2 and {d.outbox_id is not None for d in old_done} == {True}
    statuses = {db.session.get(OutboxMessage, d.outbox_id).status for d in old_done}
    assert statuses == {OutboxStatus.SENT, OutboxStatus.FAILED}
    old_attempts = len(db.session.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id.in_([d.id for d in old_done]))).all())
    assert old_attempts == 2
    old_ids, old_outbox = {d.id for d in old_done}, {d.outbox_id for d in old_done}
    before = _state()

    result = retention.run()

    after = _state()
    assert (result.webhooks.deliveries, result.webhooks.attempts, result.webhooks.events) == (2, 2, 2)
    assert before["deliveries"] - after["deliveries"] == old_ids
    assert before["attempts"] - after["attempts"] == 2
    assert set(before["outbox"]) - set(after["outbox"]) == old_outbox
    assert before["events"] - after["events"] == {world["old_done"], world["old_orphan"]}
    # what is still to be sent, however old, is untouched, with its event
    assert {world["old_held"], world["old_queued"], world["new_done"], world["new_orphan"]} <= after["events"]
    held = _deliveries(world["paused"])
    assert [d.held for d in held] == [True] and held[0].id in after["deliveries"]
    queued = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == world["old_queued"])).all()
    assert len(queued) == 2 and all(after["outbox"][d.outbox_id] == OutboxStatus.PENDING for d in queued)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run",
                                                          AuditEntry.object_id == "webhooks")).all()
    assert sum(e.details.get("deliveries", 0) for e in entries) == 2
    assert sum(e.details.get("events", 0) for e in entries) == 2 and entries[0].details["days"] == 90

    # the held and queued ones still go out once the endpoint is resumed / the receivers answer
    webhooks.resume(db.session.get(WebhookEndpoint, world["paused"].id), world["admin"])
    db.session.commit()
    assert retention.run().webhooks.deliveries == 0  # a second run finds nothing more


def test_a_dry_run_counts_the_same_and_changes_nothing(app, world):
    before = _state()
    result = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert "Log webhook sebelum" in result.output and "2 kiriman, 2 percobaan dan 2 peristiwa akan dihapus" in (
        result.output)
    assert _state() == before
    dry = retention.run(dry_run=True).webhooks
    assert (dry.deliveries, dry.attempts, dry.events) == (2, 2, 2) and _state() == before


def test_the_period_is_configurable_zero_keeps_everything(app, world):
    before = _state()
    app.config["WEBHOOK_LOG_DAYS"] = 0
    assert "WEBHOOK_LOG_DAYS = 0" in app.test_cli_runner().invoke(args=["retention", "run"]).output
    assert _state() == before
    app.config["WEBHOOK_LOG_DAYS"] = 120  # older than any of them
    assert retention.run().webhooks.deliveries == 0 and _state() == before
    app.config.update(WEBHOOK_LOG_DAYS=90, ATTACHMENT_RETENTION_DAYS=0)  # runs even with attachments kept
    assert retention.run().webhooks.deliveries == 2


def test_an_event_another_endpoint_still_waits_for_is_kept(app, world, subscribe):
    """old_done was sent to one endpoint and failed at another; a redelivery to the failed one (new, pending)
    keeps the event after the two old deliveries go."""
    failed = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == world["old_done"],
                                                              WebhookDelivery.endpoint_id == world["down"].id)).one()
    webhooks.redeliver(failed, world["admin"])
    db.session.commit()
    result = retention.run().webhooks
    assert result.deliveries == 2 and result.events == 1  # the old orphan only
    assert world["old_done"] in {e.id for e in events()}
