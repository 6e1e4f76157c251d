"""Delivering webhooks: at least once through the outbox, the same webhook-id on every attempt, a receiver down
for a while, a bad endpoint paused (the admins told) and resumed, manual redelivery, short timeouts, no
redirects, a short excerpt of the answer, and no private addresses in production (SSRF)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import Notification, OutboxMessage, OutboxStatus
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery
from sempelmas.services.operations import delivery, webhooks

HOUR = timedelta(hours=1)


def fire(n: int, start: int = 0) -> None:
    """``n`` events (through ``emit``, as the services do inside their transaction), committed."""
    for i in range(start, start + n):
        webhooks.emit("complaint.created", {"complaint_id": i, "code": f"C-{i}", "status": "baru"})
    db.session.commit()


def attempts(endpoint) -> list[WebhookAttempt]:
    return list(db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id)
                                   .order_by(WebhookAttempt.id)))


def test_the_same_webhook_id_on_every_attempt_and_a_receiver_down_for_a_while(app, subscribe, receiver):
    app.config["WEBHOOK_PAUSE_AFTER"] = 50  # the pause has its own test
    subscribe()
    fire(5)
    receiver.stop()  # down: connection refused
    later = utcnow()
    for _round in range(3):
        assert delivery.deliver_due(now=later) == {"sent": 0, "retry": 5, "failed": 0}
        later += 2 * HOUR  # past the backoff
    receiver.start()  # back, on the same port
    receiver.answers = [500, 503, 200]  # and still shaky: two POSTs it got but answered badly
    assert delivery.deliver_due(now=later)["sent"] == 3
    later += 2 * HOUR
    assert delivery.deliver_due(now=later) == {"sent": 2, "retry": 0, "failed": 0}
    assert delivery.deliver_due(now=later + 24 * HOUR) == {"sent": 0, "retry": 0, "failed": 0}

    kept = receiver.unique()
    assert sorted(p["data"]["complaint_id"] for p in kept.values()) == [0, 1, 2, 3, 4]  # all, once each
    assert len(receiver.verified) == 7  # two repeats, each carrying the id of the one it repeats
    ids_per_event: dict[int, set] = {}
    for got in receiver.verified:
        ids_per_event.setdefault(got.payload["data"]["complaint_id"], set()).add(got.id)
    assert all(len(ids) == 1 for ids in ids_per_event.values())
    assert {d.message_id for d in db.session.scalars(select(WebhookDelivery))} == set(kept)
    assert {m.status for m in db.session.scalars(select(OutboxMessage))} == {OutboxStatus.SENT}


def test_the_log_keeps_each_attempt_with_status_error_and_a_short_excerpt(app, subscribe, receiver):
    endpoint = subscribe()
    receiver.answers = [500, 200]
    receiver.body = b"x" * 5000
    fire(1)
    delivery.deliver_due()
    delivery.deliver_due(now=utcnow() + HOUR)
    first, second = attempts(endpoint)
    assert (first.ok, first.status_code, first.error) == (False, 500, "HTTP 500")
    assert (second.ok, second.status_code, second.error) == (True, 200, None)
    assert second.response_excerpt == "x" * 200  # the answer is not kept beyond a short excerpt
    [entry] = webhooks.delivery_log(endpoint)
    assert entry["state"] == "terkirim" and entry["attempts"] == [first, second]


def test_a_redirect_is_not_followed(app, subscribe, receiver):
    endpoint = subscribe()
    receiver.answers = [302]
    receiver.location = "http://127.0.0.1:9/elsewhere"
    fire(1)
    assert delivery.deliver_due()["retry"] == 1
    [a] = attempts(endpoint)
    assert a.status_code == 302 and "redirect not followed" in a.error
    assert len(receiver.received) == 1


def test_a_slow_receiver_times_out(app, subscribe, receiver):
    app.config["WEBHOOK_TIMEOUT"] = 0.3
    endpoint = subscribe()
    receiver.delay = 1.0
    fire(1)
    assert delivery.deliver_due()["retry"] == 1
    [a] = attempts(endpoint)
    assert a.status_code is None and "no answer" in a.error and a.duration_ms < 1000


def test_a_bad_endpoint_is_paused_after_n_failures_and_the_admins_told(app, admin, subscribe, receiver):
    app.config["WEBHOOK_PAUSE_AFTER"] = 3
    endpoint = subscribe()
    receiver.answers = [500]
    fire(2)
    later = utcnow()
    delivery.deliver_due(now=later)  # failures 1 and 2
    later += HOUR
    counts = delivery.deliver_due(now=later)  # the 3rd failure pauses; the 4th POST never happens
    assert counts == {"sent": 0, "retry": 0, "failed": 1}
    db.session.refresh(endpoint)
    assert endpoint.paused_at is not None and "3 kali gagal" in endpoint.pause_reason
    assert len(receiver.received) == 3
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == admin.id)).all()
    assert note.kind == "webhook.paused" and endpoint.url in note.message
    assert note.url == f"/admin/webhook/{endpoint.id}"
    deliveries = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.held for d in deliveries] == [True, True]
    assert db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING,
                                                          OutboxMessage.channel == "webhook")).all() == []

    fire(1, start=10)  # a new event for a paused endpoint: held, not queued
    assert db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first().held
    assert delivery.deliver_due(now=later + 24 * HOUR) == {"sent": 0, "retry": 0, "failed": 0}

    receiver.answers = [200]
    assert webhooks.resume(endpoint, admin) == 3
    db.session.commit()
    assert delivery.deliver_due(now=later + 25 * HOUR)["sent"] == 3
    assert sorted(p["data"]["complaint_id"] for p in receiver.unique().values()) == [0, 1, 10]
    held_ids = {d.message_id for d in deliveries}
    assert held_ids <= set(receiver.unique())  # resumed under the webhook-id they were held with
    db.session.refresh(endpoint)
    assert endpoint.paused_at is None and endpoint.consecutive_failures == 0


def test_a_refusing_endpoint_is_paused_too(app, admin, subscribe, receiver):
    app.config["WEBHOOK_PAUSE_AFTER"] = 2
    endpoint = subscribe()
    receiver.stop()
    fire(1)
    later = utcnow()
    for _round in range(3):
        delivery.deliver_due(now=later)
        later += 2 * HOUR
    db.session.refresh(endpoint)
    assert endpoint.paused_at is not None and len(attempts(endpoint)) == 2


def test_a_success_resets_the_count(app, subscribe, receiver):
    app.config["WEBHOOK_PAUSE_AFTER"] = 2
    endpoint = subscribe()
    receiver.answers = [500, 200, 500, 200]
    fire(2)
    later = utcnow()
    for _round in range(3):
        delivery.deliver_due(now=later)
        later += HOUR
    db.session.refresh(endpoint)
    assert endpoint.paused_at is None and endpoint.consecutive_failures == 0


def test_manual_redelivery_sends_the_same_event_under_the_same_id(app, admin, subscribe, receiver):
    subscribe()
    fire(1)
    delivery.deliver_due()
    [first] = db.session.scalars(select(WebhookDelivery)).all()
    again = webhooks.redeliver(first, admin)
    db.session.commit()
    assert again.id != first.id and again.message_id == first.message_id and again.requested_by_id == admin.id
    assert delivery.deliver_due()["sent"] == 1
    one, two = receiver.verified
    assert one.id == two.id and one.body == two.body  # a receiver that keeps ids drops it
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len({r.uid for r in rows}) == 2  # two outbox rows, each its own


def test_a_manual_pause_holds_what_is_queued(app, admin, subscribe, receiver):
    endpoint = subscribe()
    fire(3)
    assert webhooks.pause(endpoint, "penerima sedang dipindah", actor=admin) == 3
    db.session.commit()
    assert delivery.deliver_due() == {"sent": 0, "retry": 0, "failed": 0}
    assert receiver.received == []
    webhooks.resume(endpoint, admin)
    db.session.commit()
    assert delivery.deliver_due()["sent"] == 3


def test_a_rotated_secret_signs_twice_for_a_while(app, admin, subscribe, receiver):
    endpoint = subscribe()
    old = receiver.secret
    new = webhooks.rotate_secret(endpoint, admin)
    db.session.commit()
    assert new != old and new.startswith("whsec_")
    fire(1)
    delivery.deliver_due()
    [got] = receiver.verified  # verified with the old secret: receivers switch at their pace
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    receiver.secret = new
    webhooks.redeliver(db.session.scalars(select(WebhookDelivery)).one(), admin)
    db.session.commit()
    delivery.deliver_due()
    assert len(receiver.verified) == 2


def test_a_private_address_is_refused_at_send_time_in_production_mode(app, subscribe, receiver):
    endpoint = subscribe()
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    fire(1)
    assert delivery.deliver_due()["retry"] == 1
    [a] = attempts(endpoint)
    assert "non-public address" in a.error and receiver.received == []


@pytest.mark.parametrize("url", ["http://example.org/hook", "https://10.0.0.5/hook", "https://169.254.169.254/x",
                                 "https://localhost/x", "https://[::1]/x", "https://192.168.1.10/x",
                                 "https://100.64.0.1/x", "https://user:pw@example.org/x", "ftp://example.org/x",
                                 "https://example.org:99999/x", "", "https://"])
def test_addresses_refused_in_production(app, url):
    app.config.update(ENV="production", WEBHOOK_ALLOW_PRIVATE=None)
    with pytest.raises(webhooks.WebhookError):
        webhooks.check_url(url)


def test_addresses_allowed(app):
    app.config.update(ENV="production", WEBHOOK_ALLOW_PRIVATE=None)
    assert webhooks.check_url(" https://data.surabaya.go.id/hooks ") == "https://data.surabaya.go.id/hooks"
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # an intranet receiver, allowed on purpose
    assert webhooks.check_url("https://10.0.0.5/hook") == "https://10.0.0.5/hook"
    app.config.update(ENV="development", WEBHOOK_ALLOW_PRIVATE=None)
    assert webhooks.check_url("http://127.0.0.1:8000/x") == "http://127.0.0.1:8000/x"
    with pytest.raises(webhooks.WebhookError):
        webhooks.check_url("http://10.0.0.5/hook")  # http only to localhost, even in development
