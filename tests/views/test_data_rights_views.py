"""The UU PDP pages: privacy notice, Data saya downloads, correction and deletion requests, the staff task list."""

from __future__ import annotations

import io
import json
import subprocess

import pytest
from PIL import Image
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, User
from sempelmas.models.audit import AuditEntry
from sempelmas.models.data_rights import DataRequestStatus, DataRightsRequest
from sempelmas.models.notifications import Notification
from sempelmas.models.residents import Resident
from sempelmas.services.accountability import data_corrections, data_erasure, data_rights
from sempelmas.services.files.uploads import stored_path, upload_dir
from tests.conftest import PASSWORD, jpeg_bytes
from tests.failing_commit import fail_commit_saving, files_in
from tests.request_factory import make_profile, make_service, submit


@pytest.fixture
def setup(app):
    profile = make_profile()
    profile.phone, profile.email = "(0321) 123456", "kelurahan@jagalan.go.id"
    make_service()
    db.session.commit()


class Person:
    """One browser: each request in its own app context (its own g, signed-in user and database session)."""

    def __init__(self, app, identifier: str):
        self.app, self.client = app, app.test_client()
        self.call("post", "/login", data={"identifier": identifier, "password": PASSWORD})

    def call(self, method: str, url: str, **kw):
        with self.app.app_context():
            resp = getattr(self.client, method)(url, **kw)
            body = resp.get_data(as_text=resp.mimetype.startswith("text/"))
            resp.close()
            return resp.status_code, body, resp


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_privacy_notice_names_the_periods_rights_and_contact(setup, client, app):
    html = client.get("/privasi").get_data(as_text=True)
    assert "dihapus 365 hari setelah permohonan selesai" in html  # the configured retention (default)
    assert "(0321) 123456" in html and "kelurahan@jagalan.go.id" in html and "Jl. Pemuda 2" in html
    assert "Dasar hukum" in html and "Hak Anda" in html and "dihapus setelah 2 hari" in html
    app.config["ATTACHMENT_RETENTION_DAYS"] = 90
    html = client.get("/privasi").get_data(as_text=True)
    assert "dihapus 90 hari setelah permohonan selesai" in html
    app.config["ATTACHMENT_RETENTION_DAYS"] = 0  # retention switched off: no period is invented
    assert "masa simpan yang ditetapkan kelurahan" in client.get("/privasi").get_data(as_text=True)
    assert 'href="/privasi"' in client.get("/daftar").get_data(as_text=True)  # the consent links to it


def test_json_download_is_audited_and_holds_only_the_residents_own_data(setup, client, factory, login_as):
    budi = factory.warga(name="BUDI SANTOSO", phone="+6281234567890")
    siti = factory.warga(name="SITI AMINAH", phone="+6281299998888")
    own, other = submit(budi), submit(siti)
    login_as(budi)
    resp = client.get("/warga/data-saya/unduh.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == 'attachment; filename="data-saya.json"'
    assert resp.headers["Cache-Control"] == "private, no-store"
    data = json.loads(resp.get_data(as_text=True))
    assert data["data_penduduk"]["nik"] == budi.resident.nik
    assert [r["nomor"] for r in data["permohonan"]] == [own.tracking_number]
    body = resp.get_data(as_text=True)
    for secret in (siti.resident.nik, "+6281299998888", other.tracking_number, "SITI AMINAH"):
        assert secret not in body
    [entry] = _actions("pdp.export")
    assert entry.actor_id == budi.id and entry.details == {"format": "json"}


def test_pdf_download_is_a_readable_pdf(setup, client, factory, login_as, tmp_path):
    budi = factory.warga(name="BUDI SANTOSO")
    login_as(budi)
    resp = client.get("/warga/data-saya/unduh.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    path = tmp_path / "d.pdf"
    path.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "BUDI SANTOSO" in text and budi.resident.nik in text and "KELURAHAN JAGALAN" in text
    assert _actions("pdp.export")[0].details == {"format": "pdf"}


def test_correction_with_photo_goes_to_staff_who_apply_it_and_the_resident_sees_the_outcome(
        setup, app, factory):
    budi = factory.warga(name="BUDI SANTOSO")
    staff = factory.staff(Role.STAFF, "loket")
    resident, desk = Person(app, budi.resident.nik), Person(app, "loket")
    status, _b, resp = resident.call("post", "/warga/data-saya/koreksi", data={
        "field": "address", "value": "Jl. Pemuda No. 12", "explanation": "Pindah rumah dalam RT yang sama",
        "photo": (io.BytesIO(jpeg_bytes(exif_gps=True)), "bukti.jpg")}, content_type="multipart/form-data")
    assert status == 303
    req = db.session.scalar(select(DataRightsRequest))
    assert resp.location == f"/warga/data-saya/permintaan/{req.id}"
    assert (req.old_value, req.requested_value) == ("Jl. Uji No. 1", "Jl. Pemuda No. 12")
    with Image.open(stored_path(data_rights.EVIDENCE_KIND, req.evidence_photo)) as img:
        assert not img.getexif()  # GPS and the rest dropped by the safe upload service
    assert "Diajukan — menunggu petugas" in resident.call("get", resp.location)[1]
    assert resident.call("get", f"/warga/data-saya/permintaan/{req.id}/foto")[2].mimetype == "image/jpeg"

    listing = desk.call("get", "/petugas/permintaan-data/")[1]
    assert "Budi Santoso" in listing and "Alamat" in listing
    detail = desk.call("get", f"/petugas/permintaan-data/{req.id}")[1]
    assert "Jl. Pemuda No. 12" in detail and "Lihat foto bukti" in detail
    assert desk.call("get", f"/petugas/permintaan-data/{req.id}/foto")[2].mimetype == "image/jpeg"
    assert [e.details["document"] for e in _actions("document.view")] == ["pdp_evidence"]
    status, _b, _r = desk.call("post", f"/petugas/permintaan-data/{req.id}/koreksi",
                               data={"value": "JL. PEMUDA NO. 12", "note": "Sesuai KK baru"})
    assert status == 303
    db.session.expire_all()
    assert db.session.get(Resident, budi.resident_id).address == "JL. PEMUDA NO. 12"

    page = resident.call("get", f"/warga/data-saya/permintaan/{req.id}")[1]
    assert "Selesai" in page and "JL. PEMUDA NO. 12" in page and "Sesuai KK baru" in page
    assert db.session.scalar(select(Notification.url).where(Notification.user_id == budi.id)) == \
        f"/warga/data-saya/permintaan/{req.id}"
    assert [e.actor_id for e in _actions("pdp.correct")] == [staff.id]


def test_a_bad_correction_gets_a_specific_message_and_nothing_is_saved(setup, client, factory, login_as):
    login_as(factory.warga())
    resp = client.post("/warga/data-saya/koreksi", data={"field": "birth_date", "value": "32-13-1990"})
    assert resp.status_code == 422
    assert "Tanggal lahir tidak valid" in resp.get_data(as_text=True)
    resp = client.post("/warga/data-saya/koreksi", data={
        "field": "phone", "value": "0812 3456 7890",
        "photo": (io.BytesIO(b"bukan gambar"), "x.jpg")}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "bukan foto yang valid" in resp.get_data(as_text=True)
    assert db.session.scalar(select(DataRightsRequest)) is None


def test_a_correction_whose_commit_fails_keeps_no_evidence_photo(setup, app, client, factory, login_as,
                                                                  monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login_as(factory.warga())
    form = {"field": "address", "value": "Jl. Pemuda No. 12", "explanation": "Pindah rumah"}
    fail_commit_saving(monkeypatch, DataRightsRequest)
    resp = client.post("/warga/data-saya/koreksi", data={**form, "photo": (io.BytesIO(jpeg_bytes()), "bukti.jpg")},
                       content_type="multipart/form-data")
    assert resp.status_code == 500
    assert db.session.scalar(select(DataRightsRequest)) is None
    assert files_in(upload_dir(data_rights.EVIDENCE_KIND)) == []

    monkeypatch.undo()
    resp = client.post("/warga/data-saya/koreksi", data={**form, "photo": (io.BytesIO(jpeg_bytes()), "bukti.jpg")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    req = db.session.scalar(select(DataRightsRequest))
    assert files_in(upload_dir(data_rights.EVIDENCE_KIND)) == [req.evidence_photo]


def test_a_huge_evidence_photo_is_refused_undecoded_and_the_typed_correction_kept(setup, client, factory,
                                                                                   login_as):
    from tests.hostile_files import png_bomb

    login_as(factory.warga())
    resp = client.post("/warga/data-saya/koreksi", data={
        "field": "occupation", "value": "Guru honorer SD", "explanation": "Pindah kerja",
        "photo": (io.BytesIO(png_bomb()), "bukti.png")}, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Gambar terlalu besar untuk diproses: 9400 × 9400 piksel." in html
    assert 'value="Guru honorer SD"' in html and "Pindah kerja" in html
    assert db.session.scalar(select(DataRightsRequest)) is None


def test_a_resident_cannot_open_another_residents_request(setup, client, factory, login_as):
    siti = factory.warga(name="SITI AMINAH")
    req = data_corrections.request_correction(siti, "occupation", "Guru", None)
    db.session.commit()
    login_as(factory.warga(name="BUDI SANTOSO"))
    assert client.get(f"/warga/data-saya/permintaan/{req.id}").status_code == 404
    assert client.get(f"/warga/data-saya/permintaan/{req.id}/foto").status_code == 404
    assert "Guru" not in client.get("/warga/data-saya/").get_data(as_text=True)


def test_staff_refusal_needs_a_reason(setup, app, client, factory, login_as):
    budi = factory.warga()
    req = data_corrections.request_correction(budi, "occupation", "Guru", None)
    db.session.commit()
    login_as(factory.staff(Role.STAFF, "loket"))
    resp = client.post(f"/petugas/permintaan-data/{req.id}/tolak", data={"reason": ""})
    assert resp.status_code == 422 and "Wajib diisi" in resp.get_data(as_text=True)
    assert client.post(f"/petugas/permintaan-data/{req.id}/tolak",
                       data={"reason": "Tidak sesuai KTP"}).status_code == 303
    assert db.session.get(DataRightsRequest, req.id).status == DataRequestStatus.REFUSED


def test_deletion_shows_what_is_kept_and_granting_ends_the_residents_session(setup, app, factory):
    budi = factory.warga(name="BUDI SANTOSO")
    factory.staff(Role.STAFF, "loket")
    nik = budi.resident.nik
    resident, desk = Person(app, nik), Person(app, "loket")
    page = resident.call("get", "/warga/data-saya/hapus")[1]
    assert "register penduduk" in page and "Surat yang sudah ditandatangani" in page
    status, page, _r = resident.call("post", "/warga/data-saya/hapus", data={"reason": "Pindah kota"})
    assert status == 422 and "Centang tanda" in page
    assert resident.call("post", "/warga/data-saya/hapus",
                         data={"reason": "Pindah kota", "understood": "y"})[0] == 303
    req = db.session.scalar(select(DataRightsRequest))

    status, _b, resp = desk.call("post", f"/petugas/permintaan-data/{req.id}/kabulkan", data={"note": ""})
    assert status == 303
    assert "Hasil penghapusan" in desk.call("get", resp.location)[1]
    db.session.expire_all()
    assert db.session.get(User, budi.id).status == AccountStatus.DISABLED
    status, _b, resp = resident.call("get", "/warga/data-saya/")
    assert status == 302 and resp.location.startswith("/login")
    assert resident.call("post", "/login", data={"identifier": nik, "password": PASSWORD})[0] != 302


def test_granting_a_deletion_with_a_running_request_is_refused_with_the_reason(setup, client, factory, login_as):
    budi = factory.warga()
    running = submit(budi)
    req = data_erasure.request_deletion(budi, None)
    db.session.commit()
    login_as(factory.staff(Role.STAFF, "loket"))
    resp = client.post(f"/petugas/permintaan-data/{req.id}/kabulkan", data={})
    assert resp.status_code == 422 and running.tracking_number in resp.get_data(as_text=True)
    assert db.session.get(User, budi.id).status == AccountStatus.VERIFIED


def test_unknown_tasks_are_404(setup, client, factory, login_as):
    login_as(factory.staff(Role.STAFF, "loket"))
    assert client.get("/petugas/permintaan-data/999999").status_code == 404
    assert client.get("/petugas/permintaan-data/999999/foto").status_code == 404
