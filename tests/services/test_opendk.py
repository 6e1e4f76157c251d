"""The OpenDK connector against a fake OpenDK on 127.0.0.1 (tests/opendk_fake.py, written from OpenDK's routes,
SuratController and TokenRegistered): signed letters arrive still valid, through the outbox, with OpenDK's auth."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from sempelmas.domain import dates
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.base import utcnow
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.models.opendk import OpenDkLetter, OpenDkSettings
from sempelmas.services.integration import opendk, opendk_client, opendk_settings
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import issued, issuing
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.operations import channels, delivery
from tests.opendk_fake import FakeOpenDk
from tests.signing_setup import LURAH_PASS, Desk, configure

DESA = "35.76.03.1004"
EMAIL, PASSWORD = "desa@kecamatan.test", "rahasia-opendk"


@pytest.fixture
def fake():
    server = FakeOpenDk().start()
    opendk_client.tokens.clear()
    yield server
    server.stop()
    opendk_client.tokens.clear()


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    app.config["NOTIFY_MAX_ATTEMPTS"] = 3
    return Desk(factory)


def connect(fake, desk, *, password=PASSWORD, api_key="", enabled=True):
    admin = desk.factory.staff(Role.ADMIN, "admin-opendk") if not hasattr(desk, "admin") else desk.admin
    desk.admin = admin
    opendk_settings.save(admin, enabled=enabled, base_url=fake.url, email=EMAIL, password=password, api_key=api_key,
                         clear_api_key=False, desa_id=DESA)
    db.session.commit()


def sign(desk, n=1):
    return [issuing.issue_letter(r, desk.lurah, LURAH_PASS) for r in desk.awaiting(n)]


def opendk_messages():
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == opendk.CHANNEL)))


def test_the_kecamatan_receives_the_signed_letter_and_it_still_validates(desk, fake, tmp_path):
    connect(fake, desk)
    (letter,) = sign(desk)
    # queued by the signing transaction itself
    (msg,) = opendk_messages()
    assert msg.status == OutboxStatus.PENDING and json.loads(msg.body) == {"letter_id": letter.id}

    assert delivery.deliver_due() == {"sent": 1, "retry": 0, "failed": 0}

    (got,) = fake.received
    stored = letter_store.path_of(letter).read_bytes()
    assert got.pdf == stored  # byte for byte as signed
    assert (got.desa_id, got.nik, got.nomor, got.nama) == (DESA, letter.subject_nik, letter.number, letter.title)
    assert got.tanggal == dates.to_local(letter.signed_at, profile_service.tz_name()).date().isoformat()
    assert got.authorization.startswith("Bearer ") and got.authorization.count(".") == 2  # the login's JWT
    assert fake.logins == 1
    result = letter_signing.validate_pdf(got.pdf)  # what the kecamatan holds still validates
    assert result.ok, result.message  # intact, valid, trusted by the kelurahan CA, covering the whole file
    if shutil.which("pdfsig"):
        path = tmp_path / "received.pdf"
        path.write_bytes(got.pdf)
        out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
        assert "Signature is Valid." in out
    db.session.expire_all()
    entry = db.session.scalar(select(OpenDkLetter))
    assert "Surat Berhasil Dikirim!" in entry.answer and entry.answered_at is not None
    (row,) = opendk.log()
    assert row.state == OutboxStatus.SENT and row.message.attempts == 1


def test_the_token_is_kept_between_letters_and_an_expired_one_means_a_new_login(desk, fake):
    connect(fake, desk)
    sign(desk, 2)
    assert delivery.deliver_due()["sent"] == 2
    assert fake.logins == 1  # one login for both
    fake.expire_tokens()
    sign(desk)
    assert delivery.deliver_due()["sent"] == 1
    assert fake.logins == 2 and len(fake.received) == 3
    assert ("POST", "/api/v1/surat/kirim", 401) in fake.requests  # refused once, then sent after logging in again


def test_wrong_credentials_are_retried_then_failed_and_visible_in_the_log(desk, fake):
    connect(fake, desk, password="salah")
    sign(desk)
    now = utcnow()
    assert delivery.deliver_due(now=now) == {"sent": 0, "retry": 1, "failed": 0}
    assert delivery.deliver_due(now=now + timedelta(minutes=2)) == {"sent": 0, "retry": 1, "failed": 0}
    assert delivery.deliver_due(now=now + timedelta(minutes=30)) == {"sent": 0, "retry": 0, "failed": 1}
    assert fake.received == [] and fake.logins == 0
    db.session.expire_all()
    (row,) = opendk.log()
    assert row.state == OutboxStatus.FAILED and row.message.attempts == 3
    assert "Unauthorized" in row.message.last_error and "Unauthorized" in row.entry.answer

    # the admin types the right password and sends it again: delivered
    connect(fake, desk, password=PASSWORD)
    from sempelmas.services.operations import outbox

    outbox.resend(row.message, desk.admin)
    db.session.commit()
    assert delivery.deliver_due()["sent"] == 1 and len(fake.received) == 1


def test_a_registered_token_is_the_bearer_and_a_wrong_one_is_refused(desk, fake):
    token = fake.generate_registered_token()
    connect(fake, desk, password="", api_key=token)
    sign(desk)
    assert delivery.deliver_due()["sent"] == 1
    assert fake.received[0].authorization == f"Bearer {token}" and fake.logins == 0

    # a valid JWT that is not the registered one: TokenRegistered says 401, retried later
    other = fake._jwt(EMAIL, 3600)
    connect(fake, desk, api_key=other)
    sign(desk)
    assert delivery.deliver_due() == {"sent": 0, "retry": 1, "failed": 0}
    assert "Token not registered" in opendk_messages()[-1].last_error


def test_opendk_down_then_up_gets_the_letter_once(desk, fake):
    connect(fake, desk)
    sign(desk)
    fake.stop()
    now = utcnow()
    assert delivery.deliver_due(now=now) == {"sent": 0, "retry": 1, "failed": 0}
    fake.start()
    assert delivery.deliver_due(now=now + timedelta(minutes=2))["sent"] == 1
    assert delivery.deliver_due(now=now + timedelta(days=1)) == {"sent": 0, "retry": 0, "failed": 0}
    assert len(fake.received) == 1


def test_a_retry_after_a_lost_answer_finds_the_letter_already_there(desk, fake):
    connect(fake, desk)
    (letter,) = sign(desk)
    (msg,) = opendk_messages()
    conn = opendk_settings.connection()
    pdf = letter_store.path_of(letter).read_bytes()
    # the first attempt reached OpenDK but its answer was lost: OpenDK holds the letter, its nomor is taken
    opendk_client.send_letter(conn, opendk._fields(letter, DESA), "x.pdf", pdf)
    assert delivery.deliver_due()["sent"] == 1
    assert len(fake.received) == 1
    db.session.expire_all()
    assert "sudah tersimpan di OpenDK" in db.session.scalar(select(OpenDkLetter.answer))


def test_a_letter_over_the_limit_is_listed_for_the_operator_not_sent(desk, fake, monkeypatch, client, login_as):
    connect(fake, desk)
    # a real signed letter is ~100 KB; the limit is lowered below it instead of padding a letter to 2 MB
    monkeypatch.setattr(opendk_client, "MAX_FILE_BYTES", 1000)
    (letter,) = sign(desk)
    assert opendk_messages() == []
    (held,) = opendk.held()
    assert held.letter.id == letter.id and "melebihi batas OpenDK" in held.entry.held_reason
    assert delivery.deliver_due() == {"sent": 0, "retry": 0, "failed": 0} and fake.received == []
    login_as(desk.admin)
    page = client.get("/admin/opendk").get_data(as_text=True)
    assert "Tidak dikirim ke OpenDK" in page and letter.number in page


def test_the_size_rule_is_opendks_2048_kilobytes(desk, fake):
    connect(fake, desk)
    conn = opendk_settings.connection()
    fields = {"desa_id": DESA, "nik": "3576031705900001", "tanggal": "2026-12-07", "nomor": "1/X/2026", "nama": "S"}
    too_big = b"%PDF-1.7\n" + b"0" * (2048 * 1024)
    with pytest.raises(channels.Undeliverable):  # refused here, before any upload
        opendk_client.send_letter(conn, fields, "a.pdf", too_big)
    assert fake.received == []
    # and the fake (like OpenDK's max:2048) refuses it too
    token = opendk_client.login(conn)
    resp = requests.post(f"{fake.url}/api/v1/surat/kirim", data=fields, files={"file": ("a.pdf", too_big)},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 422 and "2048 kilobytes" in resp.json()["file"][0]
    resp = requests.post(f"{fake.url}/api/v1/surat/kirim", data={**fields, "nik": "123"},
                         files={"file": ("a.txt", b"bukan pdf")}, headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
    assert resp.status_code == 422 and set(resp.json()) == {"nik", "file"}


def test_connector_off_queues_nothing(desk, fake):
    sign(desk)  # never configured
    connect(fake, desk, enabled=False)
    sign(desk)
    assert opendk_messages() == []
    assert db.session.scalar(select(func.count(OpenDkLetter.id))) == 0


def test_a_letter_revoked_after_sending_is_listed_and_one_revoked_before_is_not_sent(desk, fake):
    connect(fake, desk)
    first, second = sign(desk, 2)
    assert delivery.deliver_due(limit=1)["sent"] == 1
    issued.revoke(first, desk.lurah, "Salah ketik nama")
    issued.revoke(second, desk.lurah, "Dibatalkan pemohon")
    db.session.commit()
    assert delivery.deliver_due() == {"sent": 0, "retry": 0, "failed": 1}
    assert [s.nomor for s in fake.received] == [first.number]
    assert [r.letter.number for r in opendk.revoked_after_sending()] == [first.number]
    db.session.expire_all()
    assert "dicabut" in db.session.get(OutboxMessage, opendk_messages()[1].id).last_error


def test_secrets_are_stored_encrypted_and_an_empty_field_keeps_them(desk, fake):
    connect(fake, desk, api_key="token-rahasia")
    row = db.session.scalar(select(OpenDkSettings))
    assert PASSWORD not in (row.password_enc or "") and "token-rahasia" not in (row.api_key_enc or "")
    opendk_settings.save(desk.admin, enabled=True, base_url=fake.url, email=EMAIL, password="", api_key="",
                         clear_api_key=False, desa_id=DESA)
    conn = opendk_settings.connection()
    assert (conn.password, conn.api_key) == (PASSWORD, "token-rahasia")
