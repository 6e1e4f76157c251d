"""Complaints: the transition table, answers and their rules, the notices to the complainant."""

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.complaints import Complaint, ComplaintStatus
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.services.accountability import complaints
from sempelmas.services.accountability.complaints import ComplaintError, Filing
from tests.request_factory import make_profile, make_service, submit

S = ComplaintStatus


def _file(user=None, *, phone="+6281234567890", email=None, about=None, key=None):
    complaint, created = complaints.file_complaint(
        Filing(name="Budi Santoso", phone=phone, email=email, category="pelayanan",
               subject="Loket tutup", body="Loket tutup pada jam kerja."),
        idempotency_key=key, user=user, about=about)
    db.session.commit()
    return complaint


def _audit(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).all()


def test_transition_table_is_new_to_in_progress_to_closed_and_closed_is_final():
    assert complaints.TRANSITIONS == {(S.NEW, "process"): S.IN_PROGRESS, (S.NEW, "close"): S.CLOSED,
                                      (S.IN_PROGRESS, "close"): S.CLOSED}
    c = Complaint(status=S.NEW)
    assert complaints.allowed_actions(c) == ["process", "close"]
    c.status = S.IN_PROGRESS
    assert complaints.allowed_actions(c) == ["close"]
    c.status = S.CLOSED
    assert complaints.allowed_actions(c) == [] and complaints.is_final(c)


def test_codes_are_random_readable_and_normalised_from_what_people_type():
    codes = {complaints.new_code() for _i in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert len(code) == 14 and code.count("-") == 2
    assert not set(code.replace("-", "")) & set("01OIL")
    assert complaints.normalise_code(code.lower().replace("-", " ")) == code
    assert complaints.normalise_code("ABCD-EFGH-IJK0") is None  # I and 0 are never in a code
    assert complaints.normalise_code("12345") is None


def test_filing_needs_a_way_to_answer(app):
    with pytest.raises(ComplaintError) as e:
        _file(phone=None, email=None)
    assert e.value.field == "phone"
    assert db.session.scalar(select(Complaint)) is None


def test_filing_is_audited_without_personal_data_and_starts_as_new(app):
    c = _file()
    assert c.status == S.NEW and c.events[0].action == "file"
    [entry] = _audit("complaint.file")
    assert entry.actor_id is None and entry.object_id == str(c.id)
    assert entry.details["public"] is True and entry.details["code"] == c.code
    assert "Budi" not in str(entry.details) and "6281234567890" not in str(entry.details)


def test_the_same_form_twice_gives_one_complaint(app):
    first = _file(key="kunci-sama")
    again, created = complaints.file_complaint(
        Filing(name="X", phone="+6281234567890", category="lainnya", subject="Lagi", body="Dikirim dua kali."),
        idempotency_key="kunci-sama")
    assert again.id == first.id and created is False
    assert db.session.query(Complaint).count() == 1


def test_a_resident_may_complain_only_about_a_request_of_their_own(app, factory):
    make_profile()
    make_service()
    owner, stranger = factory.warga(), factory.warga()
    req = submit(owner)
    db.session.commit()
    with pytest.raises(ComplaintError):
        _file(stranger, about=req)
    with pytest.raises(ComplaintError):
        _file(None, about=req)  # the public form cannot name a request
    db.session.rollback()
    c = _file(owner, about=req)
    assert c.request_id == req.id and c.user_id == owner.id


def test_answer_rules(app, factory):
    staff = factory.staff(Role.STAFF)
    c = _file()
    with pytest.raises(ComplaintError, match="Tulis jawaban atau pilih"):
        complaints.answer(c, staff, "  ", None)
    with pytest.raises(ComplaintError, match="sebelum menandai pengaduan selesai"):
        complaints.answer(c, staff, "", "close")
    with pytest.raises(ComplaintError, match="tidak berlaku"):
        complaints.answer(c, staff, "x", "reopen")
    complaints.answer(c, staff, None, "process")  # a status change alone is fine
    with pytest.raises(ComplaintError, match="tidak berlaku"):
        complaints.answer(c, staff, "x", "process")  # already in progress
    complaints.answer(c, staff, "Sudah kami perbaiki.", "close")
    db.session.commit()
    assert c.status == S.CLOSED and c.closed_at is not None
    with pytest.raises(ComplaintError, match="sudah selesai"):
        complaints.answer(c, staff, "Satu lagi", None)
    assert [(e.action, e.from_status, e.to_status) for e in c.events] == [
        ("file", None, "baru"), ("process", "baru", "diproses"), ("close", "diproses", "selesai")]
    statuses = [(e.details["from_status"], e.details["to_status"]) for e in _audit("complaint.status")]
    assert statuses == [("baru", "diproses"), ("diproses", "selesai")]
    assert len(_audit("complaint.answer")) == 1  # only the close carried a text


def test_a_resident_hears_in_the_bell_and_by_every_configured_channel(app, factory):
    app.config.update(MAIL_SERVER="127.0.0.1", NOTIFY_GATEWAY_URL="http://127.0.0.1:9/kirim",
                      PUBLIC_URL="https://jagalan.example")
    resident = factory.warga(phone="+6281311112222")
    c = _file(resident, phone="+6281311112222", email="warga@example.id")
    complaints.answer(c, factory.staff(Role.STAFF), "Petugas akan menghubungi Anda.", "process")
    db.session.commit()
    [bell] = db.session.scalars(select(Notification)).all()
    assert bell.user_id == resident.id and bell.url == f"/warga/pengaduan/{c.code}"
    assert "Petugas akan menghubungi Anda." in bell.message and "Diproses" in bell.message
    out = {m.channel: m for m in db.session.scalars(select(OutboxMessage))}
    assert set(out) == {"email", "gateway"}
    assert out["email"].recipient == "warga@example.id" and out["gateway"].recipient == "+6281311112222"
    assert out["email"].notification_id == bell.id
    assert f"https://jagalan.example/warga/pengaduan/{c.code}" in out["gateway"].body


def test_a_public_complainant_hears_only_through_the_outbox(app, factory):
    app.config.update(MAIL_SERVER="127.0.0.1", NOTIFY_GATEWAY_URL=None, PUBLIC_URL="https://jagalan.example")
    c = _file(None, phone="+6281234567890", email="umum@example.id")
    complaints.answer(c, factory.staff(Role.STAFF), "Terima kasih, sudah kami tindak lanjuti.", None)
    db.session.commit()
    assert db.session.scalar(select(Notification)) is None
    [msg] = db.session.scalars(select(OutboxMessage)).all()  # no gateway configured: e-mail only
    assert msg.channel == "email" and msg.recipient == "umum@example.id" and msg.notification_id is None
    assert "Terima kasih, sudah kami tindak lanjuti." in msg.body
    assert f"https://jagalan.example/pengaduan/{c.code}" in msg.body


def test_no_channel_configured_means_no_outbox_row(app, factory):
    app.config.update(MAIL_SERVER=None, NOTIFY_GATEWAY_URL=None)
    c = _file(None)
    complaints.answer(c, factory.staff(Role.STAFF), "Jawaban", None)
    db.session.commit()
    assert db.session.scalar(select(OutboxMessage)) is None


def test_masking_keeps_only_initials_and_the_ends():
    c = Complaint(name="Budi Santoso", phone="+6281234567890", email="budi.santoso@gmail.com")
    m = complaints.masked_contact(c)
    assert m["name"] == "B*** S******"
    assert m["phone"].startswith("+6281") and m["phone"].endswith("890") and "4567" not in m["phone"]
    assert m["email"] == "b\u2022\u2022\u2022@gmail.com"
