"""The admin's webhook pages: subscribe (the secret shown once), the list, the delivery log, pause, resume, a new
secret and redelivery; admins only, CSRF on every change, every change audited; readable at 360 px."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sempelmas.services.operations import delivery, webhook_send, webhooks
from tests.conftest import PASSWORD, csrf_from
from tests.webhook_receiver import Receiver
from tests.webhooks.conftest import events


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_an_admin_subscribes_sees_the_secret_once_and_the_receiver_verifies_with_it(client, factory, login_as,
                                                                                     receiver):
    admin = factory.staff(Role.ADMIN)
    login_as(admin)
    resp = client.post("/admin/webhook", data={"url": receiver.url, "description": "Portal data",
                                               "events": ["complaint.created", "letter.signed"]})
    assert resp.status_code == 201 and resp.headers["Cache-Control"] == "no-store"
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    page = resp.get_data(as_text=True)
    assert endpoint.secret in page and "hanya ditampilkan sekali" in page
    assert endpoint.events == ["letter.signed", "complaint.created"]
    [entry] = _audit("webhook.create")
    assert entry.actor_id == admin.id and endpoint.secret not in str(entry.details)

    listing = client.get("/admin/webhook").get_data(as_text=True)
    assert receiver.url in listing and endpoint.secret not in listing  # never again
    detail = client.get(f"/admin/webhook/{endpoint.id}").get_data(as_text=True)
    assert endpoint.secret not in detail and "Belum ada kiriman" in detail

    receiver.secret = page.split('id="secret"')[1].split('value="')[1].split('"')[0]  # what the admin copied
    webhooks.emit("complaint.created", {"complaint_id": 1, "code": "C-1", "status": "baru"})
    db.session.commit()
    delivery.deliver_due()
    assert len(receiver.verified) == 1
    detail = client.get(f"/admin/webhook/{endpoint.id}").get_data(as_text=True)
    assert "complaint.created" in detail and "HTTP 200" in detail and "terkirim" in detail


@pytest.mark.parametrize("data, message", [
    ({"url": "ftp://example.org/x", "events": ["letter.signed"]}, "https://"),
    ({"url": "http://10.1.2.3/x", "events": ["letter.signed"]}, "https://"),
    ({"url": "", "events": ["letter.signed"]}, "Wajib diisi"),
    ({"url": "https://example.org/x"}, "Pilih setidaknya satu"),
    ({"url": "https://example.org/x", "events": ["nope"]}, "Pilihan tidak valid"),
])
def test_a_bad_subscription_is_refused_with_a_clear_message_and_nothing_saved(client, factory, login_as, data,
                                                                             message):
    login_as(factory.staff(Role.ADMIN))
    resp = client.post("/admin/webhook", data=data)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_production_refuses_a_private_address(client, factory, login_as, app):
    app.config.update(ENV="production", WEBHOOK_ALLOW_PRIVATE=None)
    login_as(factory.staff(Role.ADMIN))
    resp = client.post("/admin/webhook", data={"url": "https://192.168.0.10/hook", "events": ["letter.signed"]})
    assert resp.status_code == 422 and "alamat publik" in resp.get_data(as_text=True)


def _endpoint(admin, url="https://data.example.org/hook"):
    endpoint, _secret = webhooks.create_endpoint(url, ["complaint.created"], admin)
    db.session.commit()
    return endpoint


def test_pause_resume_rotate_and_redeliver(client, factory, login_as, receiver):
    admin = factory.staff(Role.ADMIN)
    endpoint = _endpoint(admin, receiver.url)
    receiver.secret = endpoint.secret
    login_as(admin)
    assert client.post(f"/admin/webhook/{endpoint.id}/jeda").status_code == 303
    db.session.expire_all()
    assert endpoint.paused_at is not None and _audit("webhook.pause")[0].actor_id == admin.id
    webhooks.emit("complaint.created", {"complaint_id": 1})
    db.session.commit()
    page = client.get(f"/admin/webhook/{endpoint.id}").get_data(as_text=True)
    assert "ditahan" in page and "Lanjutkan pengiriman" in page

    resp = client.post(f"/admin/webhook/{endpoint.id}/lanjutkan", follow_redirects=True)
    assert "1 peristiwa yang ditahan diantrekan" in resp.get_data(as_text=True)
    delivery.deliver_due()
    assert len(receiver.verified) == 1

    [sent] = db.session.scalars(select(WebhookDelivery)).all()
    assert client.post(f"/admin/webhook/{endpoint.id}/kirim-ulang/{sent.id}").status_code == 303
    delivery.deliver_due()
    assert [g.id for g in receiver.verified] == [sent.message_id, sent.message_id]
    assert _audit("webhook.redeliver")[0].details["message_id"] == sent.message_id

    old = endpoint.secret
    resp = client.post(f"/admin/webhook/{endpoint.id}/rahasia-baru")
    db.session.expire_all()
    assert resp.status_code == 200 and endpoint.secret != old and endpoint.secret in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store" and _audit("webhook.rotate_secret")


def test_redelivering_another_endpoints_delivery_is_404(client, factory, login_as):
    admin = factory.staff(Role.ADMIN)
    a, b = _endpoint(admin), _endpoint(admin, "https://other.example.org/hook")
    webhooks.emit("complaint.created", {"complaint_id": 1})
    db.session.commit()
    d_b = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == b.id)).one()
    login_as(admin)
    assert client.post(f"/admin/webhook/{a.id}/kirim-ulang/{d_b.id}").status_code == 404
    assert client.get("/admin/webhook/9999").status_code == 404


@pytest.mark.parametrize("role", [Role.STAFF, Role.SIGNER, Role.RT_HEAD])
def test_only_admins(client, factory, login_as, role):
    admin = factory.staff(Role.ADMIN, "admin1")
    endpoint = _endpoint(admin)
    login_as(factory.staff(role, "bukan-admin", rt="001", rw="001") if role == Role.RT_HEAD
             else factory.staff(role, "bukan-admin"))
    assert client.get("/admin/webhook").status_code == 403
    assert client.get(f"/admin/webhook/{endpoint.id}").status_code == 403
    assert client.get(f"/admin/webhook/{endpoint.id}/ubah").status_code == 403
    for action in ("jeda", "rahasia-baru", "ubah", "hapus"):
        assert client.post(f"/admin/webhook/{endpoint.id}/{action}", data={
            "url": "https://x.example.org", "events": ["letter.signed"], "confirm": "y"}).status_code == 403
    assert client.post("/admin/webhook", data={"url": "https://x.example.org", "events": ["letter.signed"]}
                       ).status_code == 403
    db.session.expire_all()
    assert endpoint.paused_at is None and db.session.scalars(select(WebhookEndpoint)).all() == [endpoint]


def test_residents_and_strangers_are_kept_out(client, factory, login_as):
    assert client.get("/admin/webhook").status_code in (302, 401)
    login_as(factory.warga())
    assert client.get("/admin/webhook").status_code == 403


def test_changes_need_csrf(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        admin = factory.staff(Role.ADMIN)
        endpoint = _endpoint(admin)
        c = app.test_client()
        token = csrf_from(c.get("/login").get_data(as_text=True))
        c.post("/login", data={"identifier": admin.username, "password": PASSWORD, "csrf_token": token})
        for action in ("jeda", "rahasia-baru", "lanjutkan"):
            assert c.post(f"/admin/webhook/{endpoint.id}/{action}").status_code == 400
        assert c.post(f"/admin/webhook/{endpoint.id}/hapus", data={"confirm": "y"}).status_code == 400
        assert c.post(f"/admin/webhook/{endpoint.id}/ubah", data={"url": "https://evil.example.org/h",
                                                                  "events": ["letter.signed"]}).status_code == 400
        resp = c.post("/admin/webhook", data={"url": "https://x.example.org/h", "events": ["letter.signed"]})
        assert resp.status_code == 400
        db.session.expire_all()
        assert endpoint.paused_at is None and len(db.session.scalars(select(WebhookEndpoint)).all()) == 1
        assert endpoint.url == "https://data.example.org/hook"
        token = csrf_from(c.get("/admin/webhook").get_data(as_text=True))
        resp = c.post("/admin/webhook", data={"url": "https://x.example.org/h", "events": ["letter.signed"],
                                              "csrf_token": token})
        assert resp.status_code == 201


def test_an_admin_changes_the_address_description_and_events_audited(client, factory, login_as, receiver):
    admin = factory.staff(Role.ADMIN)
    endpoint = _endpoint(admin)
    login_as(admin)
    page = client.get(f"/admin/webhook/{endpoint.id}/ubah").get_data(as_text=True)
    assert "https://data.example.org/hook" in page and "Hapus endpoint" in page and endpoint.secret not in page
    resp = client.post(f"/admin/webhook/{endpoint.id}/ubah", data={
        "url": receiver.url, "description": "Dasbor kecamatan", "events": ["letter.signed", "complaint.answered"]})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/admin/webhook/{endpoint.id}")
    db.session.expire_all()
    assert (endpoint.url, endpoint.description) == (receiver.url, "Dasbor kecamatan")
    assert endpoint.events == ["letter.signed", "complaint.answered"]
    [entry] = _audit("webhook.update")
    assert entry.actor_id == admin.id and entry.details["changes"]["url"] == ["https://data.example.org/hook",
                                                                              receiver.url]
    assert entry.details["changes"]["events"][0] == ["complaint.created"] and "secret" not in str(entry.details)
    # the new address and events are what is used from now on
    receiver.secret = endpoint.secret
    webhooks.emit("complaint.created", {"complaint_id": 1})
    webhooks.emit("letter.signed", {"letter_id": 1})
    db.session.commit()
    delivery.deliver_due()
    assert [g.payload["type"] for g in receiver.verified] == ["letter.signed"]
    # the same values again: nothing written, said so
    resp = client.post(f"/admin/webhook/{endpoint.id}/ubah", data={
        "url": receiver.url, "description": "Dasbor kecamatan", "events": ["letter.signed", "complaint.answered"]},
        follow_redirects=True)
    assert "Tidak ada yang berubah" in resp.get_data(as_text=True) and len(_audit("webhook.update")) == 1


@pytest.mark.parametrize("data, message", [
    ({"url": "https://192.168.0.10/hook", "description": "baru", "events": ["letter.signed"]}, "alamat publik"),
    ({"url": "http://data.example.org/hook", "description": "baru", "events": ["letter.signed"]}, "https://"),
    ({"url": "https://data.example.org/baru", "description": "baru"}, "Pilih setidaknya satu"),
    ({"url": "", "description": "baru", "events": ["letter.signed"]}, "Wajib diisi"),
])
def test_a_bad_change_is_refused_and_nothing_is_half_saved(client, factory, login_as, app, data, message):
    app.config.update(ENV="production", WEBHOOK_ALLOW_PRIVATE=None)
    admin = factory.staff(Role.ADMIN)
    endpoint = _endpoint(admin)
    login_as(admin)
    resp = client.post(f"/admin/webhook/{endpoint.id}/ubah", data=data)
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert (endpoint.url, endpoint.description, endpoint.events) == ("https://data.example.org/hook", "",
                                                                     ["complaint.created"])
    assert _audit("webhook.update") == []


def test_deleting_needs_the_confirmation_box(client, factory, login_as):
    admin = factory.staff(Role.ADMIN)
    endpoint = _endpoint(admin)
    login_as(admin)
    resp = client.post(f"/admin/webhook/{endpoint.id}/hapus", data={})
    assert resp.status_code == 422 and "Centang kotak konfirmasi" in resp.get_data(as_text=True)
    assert db.session.get(WebhookEndpoint, endpoint.id) is not None and _audit("webhook.delete") == []
    assert client.post("/admin/webhook/999999/hapus", data={"confirm": "y"}).status_code == 404


def test_deleting_an_endpoint_stops_it_for_good_and_removes_its_queue_and_log(client, factory, login_as, receiver):
    admin = factory.staff(Role.ADMIN)
    doomed = _endpoint(admin, receiver.url)
    other = _endpoint(admin, "https://other.example.org/hook")
    receiver.secret = doomed.secret
    webhooks.emit("complaint.created", {"complaint_id": 1})  # to both: the event stays for the other
    db.session.commit()
    delivery.deliver_due()  # doomed: sent, one attempt; other: fails (no such host), stays queued
    assert len(receiver.verified) == 1
    webhooks.emit("complaint.created", {"complaint_id": 2})  # queued for both
    db.session.commit()
    webhooks.pause(db.session.get(WebhookEndpoint, doomed.id), "uji", actor=admin)
    webhooks.emit("complaint.created", {"complaint_id": 3})  # held for doomed, queued for other
    db.session.commit()
    webhooks.update_endpoint(other, other.url, ["letter.signed"], admin)  # other no longer hears complaints
    webhooks.emit("complaint.created", {"complaint_id": 4})  # doomed alone: held
    db.session.commit()
    doomed_id, other_id = doomed.id, other.id
    events_before = {e.id for e in events()}
    doomed_rows = {d.id: d.event_id for d in db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == doomed_id))}

    login_as(admin)
    resp = client.post(f"/admin/webhook/{doomed_id}/hapus", data={"confirm": "y"}, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "0 kiriman dalam antrean dan 3 yang ditahan dibatalkan" in page
    assert f'href="/admin/webhook/{doomed_id}"' not in page and f'href="/admin/webhook/{other_id}"' in page
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, doomed_id) is None and db.session.get(WebhookEndpoint, other_id)
    assert db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(doomed_rows))).all() == []
    assert db.session.scalars(select(WebhookAttempt).where(WebhookAttempt.endpoint_id == doomed_id)).all() == []
    left = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()
    assert {int(m.recipient) for m in left}.isdisjoint(doomed_rows)
    # the other endpoint's queue is intact
    assert {int(m.recipient) for m in left} and all(m.status == OutboxStatus.PENDING for m in left)
    # the events the other endpoint still has stay; the one only the deleted endpoint had is gone
    kept = {d.event_id for d in db.session.scalars(select(WebhookDelivery))}
    assert {e.id for e in events()} == kept and events_before - kept == {doomed_rows[max(doomed_rows)]}
    [entry] = _audit("webhook.delete")
    assert entry.actor_id == admin.id and entry.details["url"] == receiver.url
    assert {k: entry.details[k] for k in ("queued", "held", "deliveries", "attempts", "events_deleted")} == {
        "queued": 0, "held": 3, "deliveries": 4, "attempts": 1, "events_deleted": 1}
    assert client.get(f"/admin/webhook/{doomed_id}").status_code == 404
    before = len(receiver.received)
    delivery.deliver_due()
    assert len(receiver.received) == before  # nothing more goes to it

    # the other one, with its queue (one retrying, two waiting): nothing of either is left
    resp = client.post(f"/admin/webhook/{other_id}/hapus", data={"confirm": "y"}, follow_redirects=True)
    assert "3 kiriman dalam antrean dan 0 yang ditahan dibatalkan" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(OutboxMessage)).all() == [] and events() == []
    assert db.session.scalars(select(WebhookDelivery)).all() == [] and db.session.scalars(
        select(WebhookEndpoint)).all() == []


def test_a_post_under_way_when_the_endpoint_is_deleted_is_not_logged(app, factory, receiver, monkeypatch):
    admin = factory.staff(Role.ADMIN)
    endpoint = _endpoint(admin, receiver.url)
    receiver.secret = endpoint.secret
    webhooks.emit("complaint.created", {"complaint_id": 1})
    db.session.commit()
    real_post = webhook_send._post

    def post_then_admin_deletes(*args):
        answer = real_post(*args)
        webhooks.delete_endpoint(db.session.get(WebhookEndpoint, endpoint.id), admin)
        db.session.commit()
        return answer

    monkeypatch.setattr(webhook_send, "_post", post_then_admin_deletes)
    counts = delivery.deliver_due()
    assert len(receiver.verified) == 1 and counts.get("sent", 0) == 0
    assert db.session.scalars(select(WebhookAttempt)).all() == []
    assert db.session.scalars(select(OutboxMessage)).all() == []
