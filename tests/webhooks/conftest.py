"""Webhook tests: a receiver on 127.0.0.1 that verifies signatures, an admin, and an endpoint subscribed to it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.webhooks import WebhookEvent
from sempelmas.services.operations import webhooks
from tests.webhook_receiver import Receiver


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def admin(app, factory):
    user = factory.staff(Role.ADMIN, "admin1")
    db.session.commit()
    return user


@pytest.fixture
def subscribe(admin, receiver):
    """subscribe(events=None) -> the endpoint on ``receiver`` (all event types by default), committed; the
    receiver verifies with its secret."""
    def do(events=None, url=None):
        endpoint, secret = webhooks.create_endpoint(url or receiver.url, events or list(webhooks.EVENT_TYPES),
                                                    admin, "Portal data Diskominfo")
        db.session.commit()
        receiver.secret = secret
        return endpoint
    return do


def events(event_type: str | None = None) -> list[WebhookEvent]:
    query = select(WebhookEvent).order_by(WebhookEvent.id)
    if event_type:
        query = query.where(WebhookEvent.type == event_type)
    return list(db.session.scalars(query))
