"""Notifications: who hears of which change (the texts, the recipients, the bell and outbox rows they make).

Their delivery through a real SMTP server and a real HTTP gateway: tests/services/test_delivery.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus
from sempelmas.models.notifications import Notification, OutboxMessage, OutboxStatus
from sempelmas.models.requests import RequestEvent, RequestStatus
from sempelmas.services.operations import notify
from sempelmas.services.requests.lifecycle import transition
from tests.notify_helpers import inbox, make_people
from tests.request_factory import submit

S = RequestStatus


@pytest.fixture
def people(app, factory):
    return make_people(factory)


def recipients(kind: str) -> set[int]:
    return set(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


def ids(people, *names) -> set[int]:
    return {people[n].id for n in names}


def test_submission_confirms_to_applicant_and_pendamping_and_asks_the_rt_of_the_subject(people):
    req = submit(people["applicant"])
    db.session.commit()
    assert recipients("request.submit") == ids(people, "applicant", "helper", "rt")
    mine = inbox(people["applicant"])[0]
    assert req.tracking_number in mine.message and "Surat domisili" in mine.message
    assert "Menunggu pengantar RT/RW" in mine.message
    assert mine.url == f"/warga/permohonan/{req.tracking_number}" and mine.read_at is None
    assert inbox(people["helper"])[0].url == f"/warga/permohonan/{req.tracking_number}"
    rt_note = inbox(people["rt"])[0]
    assert rt_note.url == f"/rt/permohonan/{req.tracking_number}"
    assert "menunggu pengantar Anda" in rt_note.message and "SITI AMINAH" in rt_note.message


def test_each_step_tells_the_applicant_and_whoever_must_act_next(people):
    p = people
    req = submit(p["applicant"])
    transition(req, "endorse", actor=p["rt"], note="Benar warga kami")
    assert recipients("request.endorse") == ids(p, "applicant", "helper")  # not the RT head who acted
    assert "Diajukan — menunggu petugas" in inbox(p["applicant"])[-1].message
    assert "Catatan: Benar warga kami" in inbox(p["applicant"])[-1].message

    transition(req, "claim", actor=p["staff"])
    assert recipients("request.claim") == ids(p, "applicant", "helper")
    transition(req, "ask_fix", actor=p["staff"], note="Foto KK buram", fields=["keperluan"])
    assert "Perlu perbaikan" in inbox(p["applicant"])[-1].message
    assert "Alasan: Foto KK buram" in inbox(p["applicant"])[-1].message

    transition(req, "resubmit", actor=p["applicant"])
    assert recipients("request.resubmit") == ids(p, "applicant", "helper", "staff")  # the claimer, not staff2
    staff_note = inbox(p["staff"])[-1]
    assert staff_note.url == f"/petugas/permohonan/{req.tracking_number}" and "diperbaiki" in staff_note.message

    transition(req, "forward_to_signing", actor=p["staff"])
    assert recipients("request.forward_to_signing") == ids(p, "applicant", "helper", "signer")
    assert inbox(p["signer"])[-1].url == "/penandatangan/"

    transition(req, "send_back", actor=p["signer"], note="Nama ayah belum diisi")
    assert recipients("request.send_back") == ids(p, "applicant", "helper", "staff")
    assert "Alasan: Nama ayah belum diisi" in inbox(p["staff"])[-1].message
    assert "Sedang diperiksa" in inbox(p["applicant"])[-1].message
    assert "Nama ayah" not in inbox(p["applicant"])[-1].message  # the signer's reason is for staff

    transition(req, "forward_to_signing", actor=p["staff"])
    transition(req, "sign", actor=p["signer"])
    assert recipients("request.sign") == ids(p, "applicant", "helper")
    # the last two: the status, then the satisfaction-survey invitation (tests/services/test_survey.py)
    assert "Selesai — surat terbit" in inbox(p["applicant"])[-2].message
    assert inbox(p["applicant"])[-1].kind == "survey.invite"
    db.session.commit()
    assert inbox(p["other_rt"]) == [] and inbox(p["rw"]) == [] and inbox(p["staff2"]) == []


def test_return_and_resubmission_go_back_to_the_rt_head(people):
    p = people
    req = submit(p["applicant"])
    transition(req, "return_to_resident", actor=p["rt"], note="Alamat belum sesuai")
    assert "Alasan: Alamat belum sesuai" in inbox(p["applicant"])[-1].message
    assert recipients("request.return_to_resident") == ids(p, "applicant", "helper")
    transition(req, "resubmit", actor=p["applicant"])
    assert recipients("request.resubmit") == ids(p, "applicant", "helper", "rt")
    assert "sudah diperbaiki dan menunggu pengantar Anda" in inbox(p["rt"])[-1].message


def test_an_rt_endorsement_that_waits_for_the_rw_tells_the_rw_heads_of_that_rw(people):
    p = people
    req = submit(p["applicant"])
    # the RT/RW part may add the action "endorse_rt" (status stays menunggu_pengantar): the hook already handles it
    event = RequestEvent(request=req, action="endorse_rt", actor_id=p["rt"].id, from_status=S.AWAITING_ENDORSEMENT,
                         to_status=S.AWAITING_ENDORSEMENT)
    db.session.add(event)
    db.session.flush()
    notify.request_changed(req, event)
    db.session.commit()
    assert recipients("request.endorse_rt") == ids(p, "applicant", "helper", "rw")
    rw_note = inbox(p["rw"])[0]
    assert rw_note.url == f"/rt/permohonan/{req.tracking_number}" and "pengantar RW Anda" in rw_note.message
    assert "menunggu pengantar RW" in inbox(p["applicant"])[-1].message


def test_cancelled_and_disabled_accounts(people):
    p = people
    p["helper"].status = AccountStatus.DISABLED
    req = submit(p["applicant"])
    transition(req, "cancel", actor=p["applicant"])
    db.session.commit()
    assert recipients("request.cancel") == ids(p, "applicant")
    assert "Dibatalkan oleh pemohon" in inbox(p["applicant"])[-1].message


def test_outbox_rows_only_for_configured_channels_and_only_for_the_applicant_side(app, people):
    submit(people["applicant"])
    db.session.commit()
    assert db.session.scalars(select(OutboxMessage)).all() == []  # nothing configured: the bell only

    app.config.update(MAIL_SERVER="127.0.0.1", NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim",
                      PUBLIC_URL="https://layanan.example.id/")
    req = submit(people["applicant"], key="kedua")
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {(r.channel, r.recipient) for r in rows} == {
        ("email", "siti@example.org"), ("gateway", "+6281234567890"), ("email", "pendamping@example.org")}
    assert all(r.status == OutboxStatus.PENDING and r.attempts == 0 for r in rows)
    assert rows[0].subject == f"Permohonan {req.tracking_number}: Menunggu pengantar RT/RW"
    assert rows[0].body.endswith(f"https://layanan.example.id/warga/permohonan/{req.tracking_number}")
    assert all(r.notification_id is not None for r in rows)
