"""Verifying or rejecting an account tells the resident, and the pendamping who registered them (issue 12 §5):
the bell, and e-mail / WhatsApp on the configured channels, delivered through a real SMTP server."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.services.operations import delivery
from sempelmas.services.people import accounts
from tests.conftest import PASSWORD, login
from tests.services.test_delivery import smtp_server  # noqa: F401 - the fixture (a real SMTP server on 127.0.0.1)

REASON = "Foto KTP tidak sama dengan orang yang datang ke kantor"


def registration(**kw) -> accounts.RegistrationData:
    base = dict(nik="3576034403920077", kk_number="3576031203150077", full_name="Rina Ayu", birth_place="Mojokerto",
                birth_date=date(1992, 3, 4), gender="P", address="Jl. Empunala 7", rt="1", rw="1",
                phone="+6281234567890", email="rina@example.org", password=PASSWORD, consent=True)
    base.update(kw)
    return accounts.RegistrationData(**base)


@pytest.fixture
def people(app, factory):
    helper = factory.staff(Role.ASSISTANT, "pendamping1")
    helper.email, helper.phone = "pendamping@example.org", "+6281299990000"
    rina = accounts.register_resident(registration())
    sari = accounts.register_resident(
        registration(nik="3576035006850003", full_name="Sari Tanpa HP", phone=None, email=None, password="",
                     birth_date=date(1985, 6, 10)), assisted_by=helper)
    db.session.commit()
    return {"helper": helper, "rina": rina, "sari": sari, "staff": factory.staff(Role.STAFF, "loket1"),
            "rt": factory.staff(Role.RT_HEAD, "rt1", rt="001", rw="001")}


def bell(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def test_verifying_rings_the_residents_bell_with_a_link_home(people):
    accounts.verify_account(people["rt"], people["rina"], "kenal, warga saya")
    db.session.commit()
    [note] = bell(people["rina"])
    assert note.kind == "account.verify" and note.request_id is None and note.url == "/warga/"
    assert "sudah diverifikasi" in note.message and "mengajukan surat" in note.message
    assert bell(people["rt"]) == []  # the verifier is not told of his own act
    assert db.session.scalars(select(OutboxMessage)).all() == []  # no channel configured: the bell only


def test_rejecting_tells_the_reason(people):
    accounts.reject_account(people["staff"], people["rina"], REASON + ".")
    db.session.commit()
    [note] = bell(people["rina"])
    assert note.kind == "account.reject" and note.url == "/warga/"
    assert f"ditolak. Alasan: {REASON}. Hubungi kantor kelurahan" in note.message


def test_the_pendamping_who_registered_the_resident_hears_of_both_decisions(people):
    accounts.reject_account(people["staff"], people["sari"], REASON)
    db.session.commit()
    accounts.verify_account(people["staff"], people["sari"], "Datang lagi dengan KTP asli")
    db.session.commit()
    rejected, verified = bell(people["helper"])
    assert rejected.url == verified.url == "/warga/pendamping"
    assert "Sari Tanpa HP" in rejected.message and REASON in rejected.message
    assert "Sari Tanpa HP" in verified.message and "sudah diverifikasi" in verified.message
    assert [n.kind for n in bell(people["sari"])] == ["account.reject", "account.verify"]


def test_outbox_rows_go_to_the_configured_channels_with_the_pages_address(app, people):
    app.config.update(MAIL_SERVER="127.0.0.1", NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim",
                      PUBLIC_URL="https://layanan.example.id")
    accounts.reject_account(people["staff"], people["rina"], REASON)
    accounts.verify_account(people["staff"], people["sari"])
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.channel, r.recipient) for r in rows] == [
        ("email", "rina@example.org"), ("gateway", "+6281234567890"),  # Rina: e-mail and WhatsApp
        ("email", "pendamping@example.org"), ("gateway", "+6281299990000")]  # Sari has none: her pendamping
    assert rows[0].subject == "Pendaftaran akun SemPelMas ditolak"
    assert REASON in rows[1].body and rows[1].body.endswith("https://layanan.example.id/warga/")
    assert rows[2].subject == "Akun SemPelMas Anda sudah diverifikasi"
    assert rows[3].body.endswith("https://layanan.example.id/warga/pendamping")
    assert all(r.notification_id is not None for r in rows)


def test_the_rejection_email_reaches_a_real_smtp_server(app, people, smtp_server):  # noqa: F811
    accounts.reject_account(people["staff"], people["rina"], REASON)
    db.session.commit()
    assert delivery.deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    [(_sender, rcpt, content)] = smtp_server.messages
    mail = message_from_bytes(content, policy=policy.default)
    assert rcpt == ["rina@example.org"] and mail["Subject"] == "Pendaftaran akun SemPelMas ditolak"
    assert REASON in mail.get_content()


def test_a_failed_decision_tells_nobody(people, factory):
    with pytest.raises(accounts.AccountError):
        accounts.reject_account(people["staff"], people["rina"], "   ")
    other_rt = factory.staff(Role.RT_HEAD, "rt9", rt="009", rw="001")
    with pytest.raises(accounts.AccountError):
        accounts.verify_account(other_rt, people["rina"])
    db.session.commit()
    assert bell(people["rina"]) == [] and bell(people["helper"]) == []


def test_the_resident_reads_the_decision_in_the_bell_after_logging_in(app, client, people):
    client.post("/login", data={"identifier": "loket1", "password": PASSWORD})
    resp = client.post(f"/petugas/akun/{people['rina'].id}/tolak", data={"reason": REASON})
    assert resp.status_code == 303
    client.post("/logout")
    assert login(client, "3576034403920077").status_code == 302
    page = client.get("/notifikasi/").get_data(as_text=True)
    assert "Pendaftaran akun Anda ditolak" in page and REASON in page
    [note] = bell(people["rina"])
    opened = client.post(f"/notifikasi/{note.id}/baca")
    assert opened.status_code == 303 and opened.location == "/warga/"
    assert REASON in client.get("/warga/").get_data(as_text=True)
