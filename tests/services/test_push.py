"""Web Push, the outbox's fourth channel (issue 15): delivered by the notify worker's code to a push service of
our own on 127.0.0.1, which checks the VAPID signature and decrypts the payload as the browser would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import UserSession
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.push import PushSubscription
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import issuing
from sempelmas.services.operations import delivery, push, vapid
from sempelmas.services.people import account_verification
from sempelmas.services.requests import lifecycle
from tests.conftest import Factory
from tests.push_endpoint import Browser, check_vapid, start_endpoint
from tests.request_factory import submit
from tests.signing_setup import LURAH_PASS, Desk, configure

PUBLIC = "https://layanan.jagalan.go.id"


@pytest.fixture
def endpoint():
    ep = start_endpoint()
    yield ep
    ep.server.shutdown()
    ep.server.server_close()


@pytest.fixture
def desk(app, tmp_path):
    configure(app, tmp_path, public_url=PUBLIC)
    app.config.update(PUSH_ALLOW_LOCAL_ENDPOINTS=True, PUSH_DIR=str(tmp_path / "push"),
                      VAPID_SUBJECT="mailto:layanan@jagalan.go.id")
    return Desk(Factory())


def phone(user, endpoint, name="hp-budi") -> Browser:
    """A browser of ``user`` that turned push on (as the route does)."""
    browser = Browser(endpoint.url(name))
    push.subscribe(user, browser.subscription, label="Chrome di Android")
    db.session.commit()
    return browser


def pushes() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "push")
                                   .order_by(OutboxMessage.id)))


def assert_small_and_impersonal(payload: dict, user) -> None:
    text = repr(payload)
    assert set(payload) == {"title", "body", "url", "tag", "tn"}
    assert user.full_name not in text and user.full_name.upper() not in text
    assert user.resident.nik not in text and user.resident.kk_number not in text
    assert len(text.encode()) < 400


def test_a_signed_letter_reaches_the_phone_signed_encrypted_and_without_personal_data(desk, endpoint):
    browser = phone(desk.warga, endpoint)
    (request,) = desk.awaiting(1)
    db.session.execute(OutboxMessage.__table__.delete())  # the notices of getting there: not this test's
    db.session.commit()
    issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    db.session.commit()
    queued, survey = pushes()  # the letter is out, and the invitation to rate the service
    assert queued.recipient == survey.recipient == str(db.session.scalar(select(PushSubscription.id)))

    counts = delivery.deliver_due()  # the notify worker's round
    assert counts["sent"] == 2
    got = next(r for r in endpoint.received if r.headers["topic"] == queued.uid.replace("-", ""))
    assert got.path == "/push/hp-budi"
    check_vapid(got, endpoint.origin, vapid.public_key())
    assert got.headers["ttl"] == str(2 * 24 * 3600)
    assert got.headers["topic"] == queued.uid.replace("-", "")  # a retry replaces, at the push service
    payload = browser.decrypt(got)
    tn = request.tracking_number
    assert payload["tn"] == tn and payload["url"] == f"{PUBLIC}/warga/permohonan/{tn}"
    assert payload["body"] == f"Permohonan {tn}: {lifecycle.status_label(request.status)}"
    assert payload["tag"] == f"sempelmas-request-{tn}"
    assert_small_and_impersonal(payload, desk.warga)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, queued.id).status == OutboxStatus.SENT
    assert db.session.scalar(select(PushSubscription)).last_success_at is not None


def test_a_revoked_letter_reaches_the_phone(desk, endpoint):
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    db.session.commit()
    browser = phone(desk.warga, endpoint)
    letters.revoke(letter, desk.lurah, "Alamat pada surat keliru")
    db.session.commit()
    assert delivery.deliver_due()["sent"] == 1
    (got,) = endpoint.received
    payload = browser.decrypt(got)
    assert payload["body"] == f"Surat {letter.number} dicabut"
    assert payload["url"] == f"{PUBLIC}/warga/permohonan/{request.tracking_number}"
    assert "keliru" not in repr(payload)  # the reason stays in the app
    assert_small_and_impersonal(payload, desk.warga)


def test_a_410_drops_the_subscription_and_is_not_retried(desk, endpoint):
    phone(desk.warga, endpoint, "dead")
    other = phone(desk.warga, endpoint, "alive")
    endpoint.answers["/push/dead"] = 410
    submit(desk.warga)
    db.session.commit()
    assert len(pushes()) == 2
    counts = delivery.deliver_due()
    assert counts == {"sent": 1, "retry": 0, "failed": 1}
    db.session.expire_all()
    dead, alive = sorted(pushes(), key=lambda m: m.status)
    assert (dead.status, dead.attempts) == (OutboxStatus.FAILED, 1) and "410" in dead.last_error
    assert alive.status == OutboxStatus.SENT
    assert [s.endpoint for s in db.session.scalars(select(PushSubscription))] == [other.endpoint]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "push.drop")).details["http_status"] == 410
    # nothing is tried again, and the next notice goes to the live phone only
    assert delivery.deliver_due(now=utcnow() + timedelta(days=1)) == {"sent": 0, "retry": 0, "failed": 0}
    lifecycle.transition(db.session.scalars(select(lifecycle.LetterRequest)).first(), "claim", actor=desk.staff)
    db.session.commit()
    assert [m.recipient for m in pushes() if m.status == OutboxStatus.PENDING] == [str(
        db.session.scalar(select(PushSubscription.id)))]


def test_a_404_drops_too_and_a_message_for_a_removed_subscription_fails_without_sending(desk, endpoint):
    phone(desk.warga, endpoint, "gone")
    endpoint.answers["/push/gone"] = 404
    submit(desk.warga)
    submit(desk.warga)
    db.session.commit()
    counts = delivery.deliver_due()
    assert counts == {"sent": 0, "retry": 0, "failed": 2}
    assert len(endpoint.received) == 1  # the second one found its subscription gone: not sent
    assert db.session.scalar(select(PushSubscription)) is None


def test_a_500_is_retried_later_with_the_same_topic(desk, endpoint):
    browser = phone(desk.warga, endpoint)
    endpoint.answers["/push/hp-budi"] = [500, 201]
    submit(desk.warga)
    db.session.commit()
    now = utcnow()
    assert delivery.deliver_due(now=now) == {"sent": 0, "retry": 1, "failed": 0}
    db.session.expire_all()
    (msg,) = pushes()
    assert msg.status == OutboxStatus.PENDING and msg.attempts == 1 and "HTTP 500" in msg.last_error
    assert msg.next_attempt_at == now + delivery.backoff(1)
    sub = db.session.scalar(select(PushSubscription))
    assert sub.last_failure_at is not None and sub.last_success_at is None
    # not before its time
    assert delivery.deliver_due(now=now + timedelta(seconds=30))["sent"] == 0
    assert delivery.deliver_due(now=now + timedelta(minutes=2))["sent"] == 1
    first, second = endpoint.received
    assert first.headers["topic"] == second.headers["topic"]
    assert browser.decrypt(second)["tn"] == browser.decrypt(first)["tn"]


def test_an_unreachable_push_service_is_retried(desk, endpoint):
    phone(desk.warga, endpoint)
    endpoint.server.shutdown()
    endpoint.server.server_close()
    submit(desk.warga)
    db.session.commit()
    assert delivery.deliver_due() == {"sent": 0, "retry": 1, "failed": 0}


def test_an_account_decision_is_pushed_like_any_notice(app, endpoint, tmp_path):
    app.config.update(PUSH_ALLOW_LOCAL_ENDPOINTS=True, PUSH_DIR=str(tmp_path / "push"), PUBLIC_URL=PUBLIC)
    factory = Factory()
    from sempelmas.models.accounts import AccountStatus, Role
    rt = factory.staff(Role.RT_HEAD, "rt1", rt="001", rw="001")
    rina = factory.warga(status=AccountStatus.PENDING, name="RINA AYU")
    browser = phone(rina, endpoint)
    account_verification.verify_account(rt, rina, "kenal")
    db.session.commit()
    assert delivery.deliver_due()["sent"] == 1
    payload = browser.decrypt(endpoint.received[0])
    assert payload == {"title": "SemPelMas", "body": "Akun SemPelMas Anda sudah diverifikasi",
                       "url": f"{PUBLIC}/warga/", "tag": "sempelmas-account", "tn": None}


def test_signing_out_on_the_phone_ends_its_pushes(desk, endpoint):
    row = UserSession(id="sesi-hp-budi", user_id=desk.warga.id)
    db.session.add(row)
    db.session.commit()
    desk.warga.session_id = row.id
    phone(desk.warga, endpoint)
    submit(desk.warga)
    db.session.commit()
    assert len(pushes()) == 1
    row.ended_at, row.end_reason = utcnow(), "keluar"
    db.session.commit()
    submit(desk.warga)
    db.session.commit()
    assert len(pushes()) == 1  # the second notice: the bell only


def test_push_off_queues_nothing(desk, endpoint, app):
    phone(desk.warga, endpoint)
    app.config["WEB_PUSH"] = False
    submit(desk.warga)
    db.session.commit()
    assert pushes() == []


@pytest.mark.parametrize("bad", [
    {"endpoint": "https://10.0.0.5/push", "keys": {"p256dh": "A" * 87, "auth": "A" * 22}},
    {"endpoint": "http://push.example.com/x", "keys": {"p256dh": "A" * 87, "auth": "A" * 22}},
    {"endpoint": "https://intranet/x", "keys": {"p256dh": "A" * 87, "auth": "A" * 22}},
    {"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": "short", "auth": "A" * 22}},
    {"endpoint": "https://fcm.googleapis.com/fcm/send/x", "keys": {"p256dh": "A" * 87}},
    {},
])
def test_what_is_not_a_subscription_is_refused(app, factory, bad):
    with pytest.raises(push.SubscriptionError):
        push.subscribe(factory.warga(), bad, label="x")


def test_the_vapid_key_is_made_once_into_the_instance_folder_or_taken_from_the_setting(app, tmp_path):
    app.config["PUSH_DIR"] = str(tmp_path / "push")
    first = vapid.public_key()
    key_file = tmp_path / "push" / vapid.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    app.extensions.pop("sempelmas.vapid", None)
    assert vapid.public_key() == first  # read back, not made again
    app.config["VAPID_PRIVATE_KEY"] = key_file.read_text()
    app.extensions.pop("sempelmas.vapid", None)
    assert vapid.public_key() == first
    app.config["VAPID_PRIVATE_KEY"] = "not a key"
    app.extensions.pop("sempelmas.vapid", None)
    with pytest.raises(vapid.PushNotReady):
        vapid.public_key()


def test_doctor_says_whether_push_is_ready(app, tmp_path):
    app.config.update(PUSH_DIR=str(tmp_path / "push"), PUBLIC_URL=PUBLIC, VAPID_SUBJECT="mailto:layanan@jagalan.go.id")
    out = app.test_cli_runner().invoke(args=["doctor", "--only", "push"]).output
    assert "Notifikasi push (Web Push) siap." in out and str(tmp_path / "push" / vapid.KEY_FILE) in out
    assert "VAPID_SUBJECT sebaiknya" not in out and "PUBLIC_URL bukan https" not in out
    app.config.update(VAPID_PRIVATE_KEY="rusak")
    app.extensions.pop("sempelmas.vapid", None)
    out = app.test_cli_runner().invoke(args=["doctor", "--only", "push"]).output
    assert "TIDAK SIAP" in out and "kunci VAPID tidak dapat dibaca" in out


def test_the_key_made_by_default_lies_beside_the_ca_so_backups_carry_it(app, tmp_path):
    app.config.update(PUSH_DIR=None, PKI_DIR=str(tmp_path / "pki"))
    vapid.public_key()
    assert (tmp_path / "pki" / vapid.KEY_FILE).exists()
    from sempelmas.services.operations.backup import FOLDERS
    assert FOLDERS["pki"] == "PKI_DIR"


def test_a_pruned_session_takes_its_subscription_with_it(desk, endpoint):
    """A signed-out phone's subscription never comes back to life when its session row is pruned."""
    row = UserSession(id="sesi-lama", user_id=desk.warga.id, ended_at=utcnow(), end_reason="keluar")
    db.session.add(row)
    db.session.commit()
    desk.warga.session_id = row.id
    phone(desk.warga, endpoint)
    db.session.delete(row)
    db.session.commit()
    assert db.session.scalars(select(PushSubscription)).all() == []
