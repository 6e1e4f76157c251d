"""Turning push notifications on and off (issue 15): the routes (JSON from the page's script, a form from the
devices list), ownership, CSRF and the audit; where the offer appears; the service worker's push handlers."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.push import PushSubscription
from sempelmas.services.operations import push
from tests.conftest import PASSWORD, csrf_from
from tests.push_endpoint import Browser
from tests.request_factory import make_profile, make_service, submit

CHROME = ("Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
          "Mobile Safari/537.36")
ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc:uji-123"


@pytest.fixture
def pushy(app, tmp_path):
    app.config.update(PUSH_DIR=str(tmp_path / "push"))
    return app


def subs() -> list[PushSubscription]:
    db.session.expire_all()
    return list(db.session.scalars(select(PushSubscription).order_by(PushSubscription.id)))


def test_a_resident_turns_push_on_from_the_page_script_and_off_again(pushy, client, factory, login_as):
    me = factory.warga()
    login_as(me)
    browser = Browser(ENDPOINT)
    resp = client.post("/notifikasi/hp/langganan", json=browser.subscription, headers={"User-Agent": CHROME})
    assert resp.status_code == 200 and resp.json["ok"] is True
    (sub,) = subs()
    assert (sub.user_id, sub.endpoint, sub.label) == (me.id, ENDPOINT, "Chrome di Android")
    assert sub.p256dh == browser.subscription["keys"]["p256dh"] and sub.session_id  # tied to this sign-in
    # the same phone again: still one
    client.post("/notifikasi/hp/langganan", json=browser.subscription)
    assert len(subs()) == 1
    resp = client.post("/notifikasi/hp/berhenti", json={"endpoint": ENDPOINT})
    assert resp.status_code == 200 and resp.json["ok"] and subs() == []
    actions = [e.action for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("push.%"))
                                                    .order_by(AuditEntry.id))]
    assert actions == ["push.subscribe", "push.subscribe", "push.unsubscribe"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "push.subscribe"))
    assert entry.actor_id == me.id and entry.object_type == "push_subscriptions"
    assert ENDPOINT not in json.dumps(entry.details)  # the capability is not copied into the log


def test_bad_subscriptions_get_a_clear_message_and_save_nothing(pushy, client, factory, login_as):
    login_as(factory.warga())
    resp = client.post("/notifikasi/hp/langganan", json={"endpoint": "https://192.168.1.1/x",
                                                         "keys": {"p256dh": "x", "auth": "y"}})
    assert resp.status_code == 400 and resp.json["message"] == "Alamat layanan push tidak sah."
    resp = client.post("/notifikasi/hp/langganan", data={"endpoint": ENDPOINT, "p256dh": "x", "auth": "y"})
    assert resp.status_code == 303
    assert "tidak lengkap atau tidak sah" in client.get("/notifikasi/").get_data(as_text=True)
    assert subs() == []


def test_only_ones_own_devices_can_be_turned_off(pushy, client, factory, login_as):
    other = factory.warga()
    theirs = push.subscribe(other, Browser(ENDPOINT).subscription, label="HP orang lain")
    db.session.commit()
    login_as(factory.warga())
    assert client.post("/notifikasi/hp/berhenti", data={"id": theirs.id}).status_code == 404
    assert client.post("/notifikasi/hp/berhenti", json={"endpoint": ENDPOINT}).status_code == 404
    assert client.post("/notifikasi/hp/berhenti", data={"id": "abc"}).status_code == 404
    assert len(subs()) == 1


def test_the_devices_list_turns_one_off_without_js(pushy, client, factory, login_as):
    me = factory.warga()
    mine = push.subscribe(me, Browser(ENDPOINT).subscription, label="Chrome di Android")
    push.subscribe(me, Browser(ENDPOINT + "-2").subscription, label="Firefox di Windows")
    db.session.commit()
    login_as(me)
    page = client.get("/notifikasi/").get_data(as_text=True)
    assert "Notifikasi di HP" in page and "Chrome di Android" in page and "Firefox di Windows" in page
    assert ENDPOINT not in page  # hashes only
    assert push.endpoint_hash(ENDPOINT) in page
    resp = client.post("/notifikasi/hp/berhenti", data={"id": mine.id})
    assert resp.status_code == 303
    assert "Notifikasi dimatikan untuk Chrome di Android." in client.get("/notifikasi/").get_data(as_text=True)
    assert [s.label for s in subs()] == ["Firefox di Windows"]


def test_a_shared_phone_moves_the_subscription_to_who_turns_it_on(pushy, client, factory, login_as):
    first, second = factory.warga(), factory.warga()
    push.subscribe(first, Browser(ENDPOINT).subscription, label="x")
    db.session.commit()
    login_as(second)
    client.post("/notifikasi/hp/langganan", json=Browser(ENDPOINT).subscription)
    (sub,) = subs()
    assert sub.user_id == second.id
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "push.subscribe",
                                                      AuditEntry.actor_id == second.id)).details["taken_over"]


def test_json_needs_the_csrf_header(make_app, factory, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        app.config["PUSH_DIR"] = str(tmp_path / "push")
        me = factory.warga()
        c = app.test_client()
        token = csrf_from(c.get("/login").get_data(as_text=True))
        c.post("/login", data={"identifier": me.resident.nik, "password": PASSWORD, "csrf_token": token})
        sub = Browser(ENDPOINT).subscription
        assert c.post("/notifikasi/hp/langganan", json=sub).status_code == 400
        assert subs() == []
        token = csrf_from(c.get("/notifikasi/").get_data(as_text=True))
        assert c.post("/notifikasi/hp/langganan", json=sub, headers={"X-CSRFToken": token}).status_code == 200
        assert len(subs()) == 1


def test_the_offer_is_on_an_open_request_page_not_on_first_load(pushy, client, factory, login_as):
    make_profile()
    make_service()
    me = factory.warga()
    request = submit(me)
    db.session.commit()
    login_as(me)
    page = client.get(f"/warga/permohonan/{request.tracking_number}").get_data(as_text=True)
    offer = re.search(r'<section class="card" id="push-offer" data-push="offer" hidden[^>]*>', page)
    assert offer, "the offer (hidden until the script finds Push support)"
    assert "Beri tahu saya di HP ini saat status berubah" in page and "/static/js/push.js" in page
    key = re.search(r'data-key="([^"]+)"', offer.group(0)).group(1)
    assert key == push.vapid.public_key() and len(key) == 87
    for first in ("/", "/warga/", "/login"):
        assert "push-offer" not in client.get(first).get_data(as_text=True)


def test_no_offer_when_push_is_off_or_for_officials(pushy, client, factory, login_as):
    make_profile()
    make_service()
    me = factory.warga()
    request = submit(me)
    db.session.commit()
    pushy.config["WEB_PUSH"] = False
    login_as(me)
    assert "push-offer" not in client.get(f"/warga/permohonan/{request.tracking_number}").get_data(as_text=True)
    assert "push-settings" not in client.get("/notifikasi/").get_data(as_text=True)
    pushy.config["WEB_PUSH"] = True
    client.post("/logout")
    login_as(factory.staff(Role.STAFF, "loket1"))
    assert "push-settings" not in client.get("/notifikasi/").get_data(as_text=True)


def test_the_service_worker_shows_pushes_and_opens_only_this_site(pushy, client):
    sw = client.get("/sw.js").get_data(as_text=True)
    assert 'addEventListener("push"' in sw and "showNotification" in sw
    assert 'addEventListener("notificationclick"' in sw and "openWindow" in sw
    assert "target.origin !== self.location.origin" in sw
    push_part = sw.split('addEventListener("push"', 1)[1]
    assert "caches." not in push_part  # nothing of a push is stored
