"""The admin's outbox: failed e-mail/WhatsApp messages stay visible and can be sent again."""

from datetime import timedelta

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from tests.conftest import PASSWORD, csrf_from


def message(status, **kw):
    m = OutboxMessage(channel="gateway", recipient="+6281234500001", body="Permohonan JGL-2026-000001 …",
                      status=status, **kw)
    db.session.add(m)
    db.session.commit()
    return m


def test_admin_sees_failed_messages_with_their_error_and_sends_one_again(client, factory, login_as):
    failed = message(OutboxStatus.FAILED, attempts=8, last_error="HTTP 503 dari gateway",
                     next_attempt_at=utcnow() - timedelta(days=1))
    message(OutboxStatus.SENT, sent_at=utcnow())
    admin = factory.staff(Role.ADMIN)
    login_as(admin)
    page = client.get("/admin/kotak-keluar?status=gagal").get_data(as_text=True)
    assert "HTTP 503 dari gateway" in page and "+6281234500001" in page and "Kirim ulang" in page
    assert "gagal (1)" in page and "terkirim (1)" in page

    resp = client.post(f"/admin/kotak-keluar/{failed.id}/kirim-ulang")
    assert resp.status_code == 303
    db.session.expire_all()
    assert failed.status == OutboxStatus.PENDING and failed.attempts == 0
    assert failed.next_attempt_at <= utcnow()
    entry = db.session.query(AuditEntry).filter_by(action="outbox.resend").one()
    assert entry.actor_id == admin.id and entry.details["last_error"] == "HTTP 503 dari gateway"


def test_a_message_that_did_not_fail_is_not_sent_twice(client, factory, login_as):
    sent = message(OutboxStatus.SENT, sent_at=utcnow())
    login_as(factory.staff(Role.ADMIN))
    resp = client.post(f"/admin/kotak-keluar/{sent.id}/kirim-ulang", follow_redirects=True)
    assert "Hanya pesan yang gagal" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert sent.status == OutboxStatus.SENT
    assert db.session.query(AuditEntry).filter_by(action="outbox.resend").count() == 0


def test_resend_needs_csrf(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        failed = message(OutboxStatus.FAILED, attempts=8)
        admin = factory.staff(Role.ADMIN)
        c = app.test_client()
        token = csrf_from(c.get("/login").get_data(as_text=True))
        c.post("/login", data={"identifier": admin.username, "password": PASSWORD, "csrf_token": token})
        assert c.post(f"/admin/kotak-keluar/{failed.id}/kirim-ulang").status_code == 400
        db.session.expire_all()
        assert failed.status == OutboxStatus.FAILED
        page = c.get("/admin/kotak-keluar").get_data(as_text=True)
        resp = c.post(f"/admin/kotak-keluar/{failed.id}/kirim-ulang", data={"csrf_token": csrf_from(page)})
        assert resp.status_code == 303
        db.session.expire_all()
        assert failed.status == OutboxStatus.PENDING


def test_the_outbox_shows_each_messages_id_and_which_one_a_notifier_is_sending_now(client, factory, login_as):
    sending = message(OutboxStatus.PENDING, attempts=1, claimed_by="host:123:ab",
                      next_attempt_at=utcnow() + timedelta(seconds=4))
    # its notifier died: the lease has run out, so it is due again, not "being sent"
    orphan = message(OutboxStatus.PENDING, attempts=1, claimed_by="host:99:cd",
                     next_attempt_at=utcnow() - timedelta(seconds=1))
    waiting = message(OutboxStatus.PENDING, attempts=2, next_attempt_at=utcnow() + timedelta(minutes=5))
    login_as(factory.staff(Role.ADMIN))
    page = client.get("/admin/kotak-keluar?status=antri").get_data(as_text=True)
    rows = {m.uid: page.split(m.uid)[0].rsplit("<tr>", 1)[1] for m in (sending, orphan, waiting)}
    assert "sedang dikirim" in rows[sending.uid]
    assert "sedang dikirim" not in rows[orphan.uid] and "berikutnya" in rows[orphan.uid]
    assert "sedang dikirim" not in rows[waiting.uid] and "berikutnya" in rows[waiting.uid]
    assert "antri (3)" in page


def test_each_message_is_named_by_its_channel_the_residents_and_the_city_systems(client, factory, login_as):
    names = {"email": "E-mail", "gateway": "WhatsApp/SMS", "push": "Web Push", "webhook": "Webhook",
             "opendk": "OpenDK"}
    made = {}
    for channel in names:
        m = OutboxMessage(channel=channel, recipient=f"tujuan-{channel}", body="…", status=OutboxStatus.FAILED)
        db.session.add(m)
        made[channel] = m
    db.session.commit()
    login_as(factory.staff(Role.ADMIN))
    page = client.get("/admin/kotak-keluar").get_data(as_text=True)
    for channel, name in names.items():
        row = page.split(made[channel].uid)[0].rsplit("<tr>", 1)[1]
        assert f">{name}</td>" in row, (channel, row)
