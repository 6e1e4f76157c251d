"""Each webhook event fires once, on its real cause, inside its transaction, and reaches a receiver that verifies
the Standard Webhooks signature; payloads carry ids, codes and statuses, no personal data."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.notifications import OutboxMessage
from sempelmas.models.webhooks import WebhookDelivery
from sempelmas.services.accountability import complaints
from sempelmas.services.accountability.complaints import Filing
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import issuing
from sempelmas.services.operations import delivery
from sempelmas.services.people import account_registration, account_verification
from sempelmas.services.requests import lifecycle
from tests.conftest import PASSWORD, Factory
from tests.request_factory import make_profile, make_service, submit
from tests.signing_setup import LURAH_PASS, Desk, configure
from tests.webhooks.conftest import events


def _types() -> list[str]:
    return [e.type for e in events()]


def test_a_request_and_its_letter_fire_their_events_once_each(app, tmp_path, subscribe, receiver):
    configure(app, tmp_path)
    desk = Desk(Factory())
    subscribe()
    request = submit(desk.warga)
    db.session.commit()
    assert _types() == ["request.submitted"]
    lifecycle.transition(request, "claim", actor=desk.staff)
    lifecycle.transition(request, "forward_to_signing", actor=desk.staff)
    db.session.commit()
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    letters.revoke(letter, desk.lurah, "Alamat keliru")
    db.session.commit()
    assert _types() == ["request.submitted", "request.status_changed", "request.status_changed",
                        "request.status_changed", "letter.signed", "letter.revoked"]

    assert delivery.deliver_due()["sent"] == 6
    got = [g.payload for g in receiver.verified]
    assert len(receiver.received) == 6 and len(got) == 6  # every POST verified with the endpoint's secret
    by_type = {}
    for p in got:
        by_type.setdefault(p["type"], []).append(p["data"])
    assert by_type["request.submitted"] == [{"request_id": request.id, "tracking_number": request.tracking_number,
                                            "service_code": "domisili", "status": "diajukan"}]
    assert [d["action"] for d in by_type["request.status_changed"]] == ["claim", "forward_to_signing", "sign"]
    assert by_type["request.status_changed"][-1]["status"] == request.status
    [signed] = by_type["letter.signed"]
    assert signed["number"] == letter.number and signed["verification_code"] == letter.verify_code
    assert signed["verification_url"].endswith(f"/v/{letter.verify_code}") and signed["status"] == "sah"
    [revoked] = by_type["letter.revoked"]
    assert revoked["letter_id"] == letter.id and revoked["status"] == "dicabut" and "revoked_at" in revoked
    everything = b"".join(g.body for g in receiver.received).decode()
    for personal in (desk.warga.resident.nik, desk.warga.resident.full_name, letter.subject_name, "Alamat keliru"):
        assert personal not in everything
    assert all(p["timestamp"].endswith("Z") for p in got)


def test_a_cause_rolled_back_leaves_no_event(app, tmp_path, subscribe):
    make_profile()
    make_service()
    warga = Factory().warga()
    subscribe()
    submit(warga)
    db.session.rollback()
    assert events() == [] and db.session.scalars(select(OutboxMessage)).all() == []


def test_complaints_fire_created_and_answered(app, factory, subscribe, receiver):
    make_profile()
    staff = factory.staff(Role.STAFF, "loket1")
    subscribe(["complaint.created", "complaint.answered"])
    complaint, _ = complaints.file_complaint(
        Filing(name="Budi Santoso", phone="+6281234567890", email="budi@example.org", category="pelayanan",
               subject="Loket tutup", body="Loket tutup pada jam kerja."), idempotency_key="k1")
    db.session.commit()
    complaints.answer(complaint, staff, None, "process")  # a status change alone is no answer
    complaints.answer(complaint, staff, "Sudah kami tegur petugasnya.", "close")
    db.session.commit()
    assert _types() == ["complaint.created", "complaint.answered"]
    assert delivery.deliver_due()["sent"] == 2
    created, answered = (g.payload["data"] for g in receiver.verified)
    assert created == {"complaint_id": complaint.id, "code": complaint.code, "category": "pelayanan",
                       "status": "baru", "tracking_number": None}
    assert answered["action"] == "close" and answered["status"] == complaint.status
    text = b"".join(g.body for g in receiver.received).decode()
    for personal in ("Budi", "6281234567890", "budi@example.org", "Loket tutup", "tegur"):
        assert personal not in text


def test_verifying_an_account_fires_account_verified(app, factory, subscribe, receiver):
    rt = factory.staff(Role.RT_HEAD, "rt1", rt="001", rw="001")
    rina = account_registration.register_resident(account_registration.RegistrationData(
        nik="3576034403920077", kk_number="3576031203150077", full_name="Rina Ayu", birth_place="Mojokerto",
        birth_date=date(1992, 3, 4), gender="P", address="Jl. Empunala 7", rt="1", rw="1", phone="+6281234567890",
        email="rina@example.org", password=PASSWORD, consent=True))
    db.session.commit()
    subscribe(["account.verified"])
    assert events() == []  # registering is not verifying
    account_verification.verify_account(rt, rina, "kenal")
    db.session.commit()
    assert _types() == ["account.verified"]
    delivery.deliver_due()
    [got] = receiver.verified
    assert got.payload["data"]["user_id"] == rina.id
    assert "3576034403920077" not in got.body.decode() and "Rina" not in got.body.decode()


def test_only_subscribed_endpoints_get_a_delivery(app, factory, subscribe, receiver):
    make_profile()
    only_letters = subscribe(["letter.signed"])
    both = subscribe(["complaint.created"])
    complaints.file_complaint(Filing(name="X", phone="+6281234567890", email=None, category="pelayanan",
                                     subject="s", body="b"), idempotency_key=None)
    db.session.commit()
    rows = db.session.scalars(select(WebhookDelivery)).all()
    assert [d.endpoint_id for d in rows] == [both.id] and only_letters.id != both.id
    [row] = db.session.scalars(select(OutboxMessage)).all()
    assert row.channel == "webhook" and row.subject == rows[0].message_id == row.uid
    assert json.loads(row.body)["type"] == "complaint.created"


@pytest.mark.parametrize("event_type", ["request.nothing", ""])
def test_an_unknown_event_type_is_a_bug(app, event_type):
    from sempelmas.services.operations import webhooks
    with pytest.raises(ValueError):
        webhooks.emit(event_type, {})
