"""Residents' data rights: the export holds one person's data only; corrections and the deletion rule."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime

import pytest
from flask import current_app
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, PasswordResetCode, Registration, Role, RoleGrant, User
from sempelmas.models.audit import AuditEntry
from sempelmas.models.complaints import Complaint
from sempelmas.models.data_rights import DataRequestStatus, DataRightsRequest
from sempelmas.models.letters import Letter
from sempelmas.models.notifications import Notification, OutboxMessage
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestStatus
from sempelmas.models.residents import Resident
from sempelmas.services.accountability import (
    audit,
    complaints,
    data_corrections,
    data_erasure,
    data_export,
    data_rights,
)
from sempelmas.services.files.uploads import save_image, stored_path
from sempelmas.services.people import account_login, accounts
from sempelmas.services.requests import attachments, lifecycle
from tests.conftest import PASSWORD, jpeg_bytes
from tests.letter_fixtures import make_letter
from tests.request_factory import make_profile, make_service, submit


@pytest.fixture
def setup(app):
    make_profile()
    make_service()
    db.session.commit()


def _done_with_letter(user, staff):
    """A request that ended in a signed letter, with one current and one replaced attachment."""
    req = submit(user)
    kept = attachments.store(jpeg_bytes(), requirement_code="kk", owner=user, request=req)
    replaced = attachments.store(jpeg_bytes(color=(1, 2, 3)), requirement_code="kk", owner=user, request=req)
    attachments.supersede(replaced)
    req.status = RequestStatus.DONE
    db.session.commit()
    make_letter(req, staff, pdf=b"%PDF-1.4 uji")
    return req, kept, replaced


def test_the_exports_letter_links_are_on_the_public_address(app, setup, factory):
    """Issue 12: the export's verification links use PUBLIC_URL, the one address letters carry."""
    app.config["PUBLIC_URL"] = "https://layanan.jagalan.go.id"
    budi = factory.warga(name="BUDI SANTOSO")
    _done_with_letter(budi, factory.staff(Role.STAFF))
    (letter,) = data_export.export(budi)["surat"]
    code = db.session.scalar(db.select(Letter.verify_code))
    assert letter["alamat_verifikasi"] == f"https://layanan.jagalan.go.id/v/{code}"


def test_export_holds_everything_about_the_resident_and_nothing_of_another(setup, factory):
    budi = factory.warga(name="BUDI SANTOSO", phone="+6281234567890", ktp=True)
    siti = factory.warga(name="SITI AMINAH", phone="+6281299998888")
    staff = factory.staff(Role.STAFF)
    budi_req, _k, _r = _done_with_letter(budi, staff)
    siti_req = submit(siti, answers={"keperluan": "RAHASIA SITI"})
    audit.record("auth.login", budi, actor=budi)
    audit.record("auth.login", siti, actor=siti)
    db.session.add(Notification(user_id=siti.id, kind="x", message="PESAN UNTUK SITI"))
    db.session.add(Notification(user_id=budi.id, kind="x", message="PESAN UNTUK BUDI"))
    db.session.commit()

    data = data_export.export(budi)
    text = json.dumps(data, ensure_ascii=False, default=str)
    assert data["akun"]["nomor_hp"] == "+6281234567890"
    assert data["data_penduduk"]["nik"] == budi.resident.nik
    assert data["pendaftaran"]["foto_ktp_tersimpan"] is True
    assert [r["nomor"] for r in data["permohonan"]] == [budi_req.tracking_number]
    assert len(data["permohonan"][0]["lampiran"]) == 2
    assert data["permohonan"][0]["riwayat"][0]["oleh"] == "Anda"
    assert data["surat"][0]["permohonan"] == budi_req.tracking_number
    assert [n["pesan"] for n in data["notifikasi"]][-1] == "PESAN UNTUK BUDI"
    assert all(budi_req.tracking_number in n["pesan"] for n in data["notifikasi"][:-1])
    assert any(e["aksi"] == "auth.login" for e in data["log_audit"])
    # nothing of Siti's: her NIK, phone, request, answers, notification
    for secret in (siti.resident.nik, "+6281299998888", siti_req.tracking_number, "RAHASIA SITI", "SITI AMINAH",
                   "PESAN UNTUK SITI"):
        assert secret not in text, secret
    assert "password" not in text and budi.password_hash not in text


def test_family_members_appear_by_name_and_masked_nik_only(setup, factory):
    father = factory.warga(name="BUDI SANTOSO", kk="3576030101200001")
    child = factory.resident(name="ANISA PUTRI", kk="3576030101200001", birth=date(2015, 1, 14), female=True)
    data = data_export.export(father)
    assert data["keluarga_dalam_kk"] == [{"nama": "ANISA PUTRI", "nik": data["keluarga_dalam_kk"][0]["nik"]}]
    assert child.nik not in json.dumps(data, default=str)


def test_pdf_export_is_a_real_readable_pdf(setup, factory, tmp_path):
    import subprocess

    budi = factory.warga(name="BUDI SANTOSO")
    submit(budi)
    from flask import current_app

    with current_app.test_request_context():
        pdf = data_export.export_pdf(budi, data_export.export(budi))
    path = tmp_path / "data.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "BUDI SANTOSO" in text and budi.resident.nik in text
    assert "Permohonan surat (1)" in text


def test_the_export_holds_the_residents_questions_and_phones_told_by_push(setup, factory, tmp_path):
    from sempelmas.models.push import PushSubscription
    from sempelmas.models.questions import MessageSide
    from sempelmas.services.requests import questions

    budi = factory.warga(name="BUDI SANTOSO")
    staff = factory.staff(Role.STAFF)
    req = submit(budi)
    questions.post(req, budi, "Apakah KK harus dilegalisir?", side=MessageSide.RESIDENT)
    questions.post(req, staff, "Tidak perlu, fotokopi biasa cukup.", side=MessageSide.STAFF)
    db.session.add(PushSubscription(user_id=budi.id, endpoint="https://push.example.org/rahasia-endpoint",
                                    p256dh="KUNCI-RAHASIA", auth="AUTH-RAHASIA", label="Chrome di Android"))
    db.session.commit()

    data = data_export.export(budi)
    thread = data["permohonan"][0]["pertanyaan"]
    assert [(m["dari"], m["teks"]) for m in thread] == [
        ("Anda", "Apakah KK harus dilegalisir?"), ("Petugas pelayanan", "Tidak perlu, fotokopi biasa cukup.")]
    assert data["hp_notifikasi"] == [{"perangkat": "Chrome di Android", "sejak": data["hp_notifikasi"][0]["sejak"],
                                      "terakhir_terkirim": None}]
    text = json.dumps(data, ensure_ascii=False, default=str)
    for secret in ("rahasia-endpoint", "KUNCI-RAHASIA", "AUTH-RAHASIA", staff.full_name):
        assert secret not in text, secret
    with current_app.test_request_context():
        pdf = data_export.export_pdf(budi, data)
    path = tmp_path / "data.pdf"
    path.write_bytes(pdf)
    shown = " ".join(subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                                    check=True).stdout.split())
    assert "Apakah KK harus dilegalisir?" in shown and "Chrome di Android" in shown


@pytest.mark.parametrize(("field", "raw", "stored"), [
    ("full_name", " budi  santoso ", "BUDI  SANTOSO"),
    ("birth_date", "17-05-1991", date(1991, 5, 17)),
    ("gender", "Perempuan", "P"),
    ("rt", "7", "007"),
    ("phone", "0812 3456 7890", "+6281234567890"),
    ("email", "Budi@Contoh.ID", "budi@contoh.id"),
])
def test_values_are_cleaned_as_the_register_stores_them(app, field, raw, stored):
    assert data_corrections.clean_value(field, raw) == stored


@pytest.mark.parametrize(("field", "raw", "message"), [
    ("birth_date", "31-02-1990", "Tanggal lahir tidak valid"),
    ("birth_date", "01-01-2999", "Tanggal lahir tidak valid"),
    ("gender", "X", "Laki-laki atau Perempuan"),
    ("rt", "1a", "RT/RW berupa angka"),
    ("phone", "12", "Nomor HP"),
    ("email", "bukan-email", "e-mail tidak valid"),
    ("full_name", "", "Tulis data yang benar"),
])
def test_bad_values_are_refused_with_a_specific_message(app, field, raw, message):
    with pytest.raises(data_rights.DataRightsError) as e:
        data_corrections.clean_value(field, raw)
    assert message in e.value.message


def test_correction_is_applied_to_the_register_audited_and_the_resident_told(setup, factory):
    budi = factory.warga(name="BUDI SANTOSO")
    staff = factory.staff(Role.STAFF)
    req = data_corrections.request_correction(budi, "birth_place", "Surabaya", "Salah ketik di register")
    db.session.commit()
    assert req.old_value == "MOJOKERTO" and req.requested_value == "SURABAYA"
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.user_id == staff.id)) == 1

    data_corrections.apply_correction(req, staff, "SURABAYA", "Sesuai KTP")
    db.session.commit()
    assert db.session.get(Resident, budi.resident_id).birth_place == "SURABAYA"
    assert req.status == DataRequestStatus.DONE and req.applied_value == "SURABAYA"
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "data_rights_requests")
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["pdp.request", "pdp.correct"]
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == budi.id)).all()
    assert told == ["Koreksi data Anda (Tempat lahir) sudah dilakukan."]
    with pytest.raises(data_rights.DataRightsError, match="sudah diselesaikan"):
        data_rights.refuse(req, staff, "terlambat")


def test_name_correction_also_renames_the_account(setup, factory):
    budi = factory.warga(name="BUDI SANTOSO")
    req = data_corrections.request_correction(budi, "full_name", "Budi Santosa", None)
    data_corrections.apply_correction(req, factory.staff(Role.STAFF), "Budi Santosa")
    assert budi.resident.full_name == "BUDI SANTOSA" and budi.full_name == "Budi Santosa"


def test_a_correction_equal_to_the_held_value_or_without_explanation_is_refused(setup, factory):
    budi = factory.warga(name="BUDI SANTOSO")
    with pytest.raises(data_rights.DataRightsError, match="sama dengan"):
        data_corrections.request_correction(budi, "full_name", "budi santoso", None)
    with pytest.raises(data_rights.DataRightsError, match="Jelaskan"):
        data_corrections.request_correction(budi, "lainnya", "", "")
    with pytest.raises(data_rights.DataRightsError, match="Pilih data"):
        data_corrections.request_correction(budi, "nik", "3576", "")


def test_refusal_needs_a_reason_the_resident_reads(setup, factory):
    budi = factory.warga()
    staff = factory.staff(Role.STAFF)
    req = data_corrections.request_correction(budi, "occupation", "Guru", None)
    with pytest.raises(data_rights.DataRightsError, match="alasan"):
        data_rights.refuse(req, staff, "  ")
    data_rights.refuse(req, staff, "Dokumen tidak cocok")
    assert req.status == DataRequestStatus.REFUSED and req.outcome_note == "Dokumen tidak cocok"
    assert "Alasan: Dokumen tidak cocok" in db.session.scalar(
        select(Notification.message).where(Notification.user_id == budi.id))


def test_deletion_erases_what_is_not_kept_and_keeps_the_archive(setup, factory, app):
    app.config.update(MAIL_SERVER="smtp.uji", NOTIFY_GATEWAY_URL="http://127.0.0.1:9/gw")
    budi = factory.warga(name="BUDI SANTOSO", phone="+6281234567890", ktp=True)
    budi.email = "budi@contoh.id"
    staff = factory.staff(Role.STAFF)
    req_done, kept, replaced = _done_with_letter(budi, staff)
    rejected = submit(budi)
    rejected_file = attachments.store(jpeg_bytes(), requirement_code="kk", owner=budi, request=rejected)
    rejected.status = RequestStatus.REJECTED
    draft = attachments.store(jpeg_bytes(), requirement_code="kk", owner=budi, draft_key="k1")
    evidence = save_image(data_rights.EVIDENCE_KIND, jpeg_bytes())
    correction = data_corrections.request_correction(budi, "occupation", "Guru", None, evidence_photo=evidence)
    db.session.add(PasswordResetCode(user_id=budi.id, code_hash="x", created_by_id=staff.id,
                                     expires_at=datetime(2030, 1, 1)))
    own_note = Notification(user_id=budi.id, kind="x", message="lama")
    wife = factory.warga(name="SITI AMINAH", phone="+6281234567890")  # the family phone
    wife_note = Notification(user_id=wife.id, kind="x", message="untuk Siti")
    db.session.add_all([own_note, wife_note])
    db.session.flush()
    db.session.add_all([OutboxMessage(notification_id=n.id, channel="gateway", recipient="+6281234567890", body="x")
                        for n in (own_note, wife_note)])
    db.session.commit()
    ktp_name = budi.registration.ktp_photo
    resident_id = budi.resident_id
    deletion = data_erasure.request_deletion(budi, "Tidak memakai lagi")
    db.session.commit()
    budis_messages = db.session.scalar(select(func.count()).select_from(OutboxMessage).join(
        Notification, OutboxMessage.notification_id == Notification.id).where(Notification.user_id == budi.id))
    assert budis_messages >= 3  # the two submissions (e-mail and WhatsApp) and the one added above

    erasure = data_erasure.grant_deletion(deletion, staff, None)
    db.session.commit()
    data_erasure.remove_files(erasure.files)

    user = db.session.get(User, budi.id)
    assert user.status == AccountStatus.DISABLED and not user.is_active
    assert (user.password_hash, user.phone, user.email, user.resident_id) == (None, None, None, None)
    assert user.full_name == data_rights.ERASED_NAME and user.roles == []
    assert db.session.scalar(select(func.count()).select_from(Registration).where(Registration.user_id == budi.id)) == 0
    assert stored_path("ktp", ktp_name) is None
    assert db.session.scalar(select(func.count()).select_from(PasswordResetCode)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == budi.id)) == 0
    # the archive: register entry, requests, letter, the document the letter rests on
    assert db.session.get(Resident, resident_id) is not None
    assert db.session.scalar(select(func.count()).select_from(LetterRequest)
                             .where(LetterRequest.applicant_user_id == budi.id)) == 2
    assert db.session.scalar(select(func.count()).select_from(Letter)) == 1
    left = db.session.scalars(select(RequestAttachment.stored_name)).all()
    assert left == [kept.stored_name] and stored_path(attachments.KIND, kept.stored_name) is not None
    for gone in (replaced, rejected_file, draft):
        assert stored_path(attachments.KIND, gone.stored_name) is None
    assert stored_path(data_rights.EVIDENCE_KIND, evidence) is None
    assert db.session.get(DataRightsRequest, correction.id).evidence_photo is None
    assert deletion.status == DataRequestStatus.DONE
    assert deletion.summary["kept"] == {"register_entry": resident_id, "requests": 2, "letters": 1, "attachments": 1}
    assert deletion.summary["erased"]["attachments"] == 3
    # the last word goes out by e-mail and WhatsApp (the addresses live only in those two messages)
    farewell = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.notification_id.is_(None))).all()
    assert sorted(farewell) == ["+6281234567890", "budi@contoh.id"]
    # Budi's queued message went with his notices; his wife's, to the same phone, stays
    assert db.session.scalars(select(OutboxMessage.notification_id)
                              .where(OutboxMessage.notification_id.is_not(None))).all() == [wife_note.id]
    assert deletion.summary["erased"]["outbox_messages"] == budis_messages
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "pdp.erase"))
    assert entry.actor_id == staff.id and entry.details["kept"]["letters"] == 1
    # the same NIK may register again
    assert not accounts.nik_taken(db.session.get(Resident, resident_id).nik)
    # and the account can no longer log in
    with pytest.raises(accounts.AccountError):
        account_login.authenticate(db.session.get(Resident, resident_id).nik, PASSWORD)


def test_deletion_waits_for_running_requests_and_other_roles(setup, factory):
    budi = factory.warga()
    staff = factory.staff(Role.STAFF)
    running = submit(budi)
    deletion = data_erasure.request_deletion(budi, None)
    with pytest.raises(data_rights.DataRightsError, match=running.tracking_number):
        data_erasure.grant_deletion(deletion, staff)
    lifecycle.transition(running, "cancel", actor=budi)
    budi.roles.append(RoleGrant(role=Role.ASSISTANT))
    db.session.flush()
    with pytest.raises(data_rights.DataRightsError, match="Pendamping"):
        data_erasure.grant_deletion(deletion, staff)
    assert db.session.get(User, budi.id).password_hash is not None


def test_one_open_deletion_request_at_a_time(setup, factory):
    budi = factory.warga()
    data_erasure.request_deletion(budi, None)
    with pytest.raises(data_rights.DataRightsError, match="sudah diajukan"):
        data_erasure.request_deletion(budi, None)
    with pytest.raises(data_rights.DataRightsError, match="penghapusan akun"):
        data_corrections.request_correction(budi, "occupation", "Guru", None)


def test_complaints_are_in_the_export_and_lose_their_contact_details_on_deletion(setup, factory):
    budi = factory.warga(name="BUDI SANTOSO", phone="+6281234567890")
    siti = factory.warga(name="SITI AMINAH", phone="+6281299998888")
    staff = factory.staff(Role.STAFF)
    photo = save_image(complaints.UPLOAD_KIND, jpeg_bytes())
    own, _new = complaints.file_complaint(
        complaints.Filing(name="BUDI SANTOSO", phone="+6281234567890", category="lainnya", subject="Antrean lama",
                          body="Saya menunggu dua jam."), idempotency_key=None, photo=photo, user=budi)
    complaints.file_complaint(
        complaints.Filing(name="SITI AMINAH", phone="+6281299998888", category="lainnya", subject="Rahasia Siti",
                          body="PENGADUAN SITI"), idempotency_key=None, user=siti)
    complaints.answer(own, staff, "Mohon maaf, loket kami tambah.")
    db.session.commit()

    data = data_export.export(budi)
    assert [(c["kode"], c["isi"]) for c in data["pengaduan"]] == [(own.code, "Saya menunggu dua jam.")]
    assert any(e["teks"] == "Mohon maaf, loket kami tambah." for e in data["pengaduan"][0]["riwayat"])
    assert "PENGADUAN SITI" not in json.dumps(data, ensure_ascii=False, default=str)
    with current_app.test_request_context():
        pdf = data_export.export_pdf(budi, data)
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    assert "Saya menunggu dua jam." in text.decode()

    deletion = data_erasure.request_deletion(budi, None)
    db.session.commit()
    erasure = data_erasure.grant_deletion(deletion, staff, None)
    db.session.commit()
    data_erasure.remove_files(erasure.files)
    kept = db.session.get(Complaint, own.id)
    assert (kept.name, kept.phone, kept.email, kept.photo) == (data_rights.ERASED_NAME, None, None, None)
    assert kept.body == "Saya menunggu dua jam."  # the record of the service stays, without who filed it
    assert stored_path(complaints.UPLOAD_KIND, photo) is None
    assert deletion.summary["erased"]["complaint_contacts"] == 1
