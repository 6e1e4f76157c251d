"""The resident's form (the registration KTP reused, the data the register lacks asked, each value's origin), the
staff's check and the forward it unlocks, the signer's view of the data's origin, and the estimate's wording."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.declared import DeclaredStatus, DeclaredValue
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestStatus
from sempelmas.services.requests import catalogue, endorsements, lifecycle
from tests.conftest import jpeg_bytes
from tests.request_factory import make_profile

REQUIREMENTS = "kk | Fotokopi KK | ya | ya\nktp | Fotokopi KTP-el pemohon | ya | ya"


def _service(code="domisili", needs_rt=True):
    data = {"code": code, "name": "Surat Keterangan Domisili", "description": "", "who_may_request": "warga",
            "needs_rt_endorsement": needs_rt, "paper_pengantar_when_no_rt_account": True,
            "service_time_value": 2, "service_time_unit": "hari_kerja", "classification_code": "470",
            "letter_template": "domisili", "validity_days": None, "enabled": True, "sort_order": 1}
    reqs, _e = catalogue.parse_requirement_lines(REQUIREMENTS)
    fields, _e = catalogue.parse_field_lines("keperluan | Keperluan | text | ya")
    catalogue.save_service(None, data, reqs, fields)
    db.session.commit()


@pytest.fixture
def office(app, factory):
    make_profile()
    _service()
    _service("domisili_kantor", needs_rt=False)
    return {"rt": factory.staff(Role.RT_HEAD, "rt1", rt="001", rw="001"), "staff": factory.staff(Role.STAFF, "loket"),
            "signer": factory.staff(Role.SIGNER, "lurah")}


def _self_registered(factory, **kw):
    return factory.warga(name="DEWI LESTARI", female=True, source="verifikasi", religion=None, marital_status=None,
                         occupation=None, ktp=True, **kw)


def _status(client, url: str) -> int:
    """The status of a file download (its response closed: a file response holds the file open)."""
    resp = client.get(url)
    resp.close()
    return resp.status_code


def _key(html: str) -> str:
    return re.search(r'name="kunci" value="([^"]+)"', html).group(1)


def _post(client, key, code="domisili", files=None, **data):
    form = {"kunci": key, "f_keperluan": "Membuka rekening", "asli_kk": "1", **data}
    for name, content in (files or {}).items():
        form[name] = (io.BytesIO(content), "foto.jpg")
    return client.post(f"/warga/ajukan/{code}?kunci={key}", data=form, content_type="multipart/form-data")


DECLARED = {"data_religion": "Islam", "data_marital_status": "Belum kawin", "data_occupation": "Karyawan swasta"}


def _submitted(client, code="domisili", **data):
    key = _key(client.get(f"/warga/ajukan/{code}").get_data(as_text=True))
    assert _post(client, key, code, **data).status_code == 200  # the review page
    sent = _post(client, key, code, langkah="kirim", **data)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:3000]
    return db.session.scalars(select(LetterRequest).order_by(LetterRequest.id.desc())).first()


def test_the_form_reuses_the_registration_ktp_and_asks_what_the_register_lacks(office, client, login_as, factory):
    warga = _self_registered(factory)
    login_as(warga)
    html = client.get("/warga/ajukan/domisili").get_data(as_text=True)
    assert "Foto KTP: sudah ada (dari pendaftaran akun) — ganti?" in html
    assert 'src="/warga/ktp"' in html  # the thumbnail comes from the resident's own photo route
    assert 'name="asli_ktp"' not in html
    assert 'id="declared-heading"' in html
    for name in ("data_religion", "data_marital_status", "data_occupation"):
        assert f'name="{name}"' in html
    assert "Data diambil dari data kependudukan" not in html
    assert "Data di atas dari pendaftaran akun Anda, diperiksa petugas atau Ketua RT saat verifikasi." in html
    assert "dihitung setelah pengantar RT/RW diberikan" in html


def test_a_complete_register_entry_asks_nothing_and_says_where_its_data_comes_from(office, client, login_as,
                                                                                      factory):
    login_as(factory.warga())
    html = client.get("/warga/ajukan/domisili").get_data(as_text=True)
    assert 'id="declared-heading"' not in html and 'name="data_religion"' not in html
    assert "Data di atas dari data kependudukan kelurahan." in html


def test_an_unanswered_question_comes_back_marked_and_nothing_is_sent(office, client, login_as, factory):
    login_as(_self_registered(factory))
    key = _key(client.get("/warga/ajukan/domisili").get_data(as_text=True))
    resp = _post(client, key, data_religion="Islam")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="err-data_occupation"' in html and "data kependudukan belum memuatnya" in html
    assert db.session.scalar(select(LetterRequest.id)) is None


def test_the_request_carries_the_ktp_copy_and_the_declared_data(office, client, login_as, factory, app):
    warga = _self_registered(factory)
    login_as(warga)
    key = _key(client.get("/warga/ajukan/domisili").get_data(as_text=True))
    review = _post(client, key, **DECLARED).get_data(as_text=True)
    assert 'id="ktp-reused"' in review and "dari Anda, akan diperiksa petugas" in review
    assert _post(client, key, langkah="kirim", **DECLARED).status_code == 303
    req = db.session.scalars(select(LetterRequest)).one()
    [ktp] = db.session.scalars(select(RequestAttachment).where(RequestAttachment.requirement_code == "ktp")).all()
    assert ktp.request_id == req.id and ktp.stored_name != warga.registration.ktp_photo
    assert [d.status for d in db.session.scalars(select(DeclaredValue))] == [DeclaredStatus.UNCHECKED] * 3
    # staff open it like any other document; another resident gets nothing
    url = f"/berkas/{ktp.stored_name}"
    assert _status(client, url) == 200
    client.post("/logout")
    login_as(office["staff"])
    assert _status(client, url) == 200
    assert url in client.get(f"/petugas/permohonan/{req.tracking_number}").get_data(as_text=True)
    client.post("/logout")
    login_as(factory.warga(name="ORANG LAIN"))
    assert _status(client, url) == 404
    assert _status(client, "/warga/ktp") == 404  # no KTP of its own; never anyone else's


def test_a_ktp_chosen_on_the_form_replaces_the_registration_photo(office, client, login_as, factory):
    warga = _self_registered(factory)
    login_as(warga)
    key = _key(client.get("/warga/ajukan/domisili").get_data(as_text=True))
    review = _post(client, key, files={"berkas_ktp": jpeg_bytes(color=(0, 0, 0))}, **DECLARED).get_data(as_text=True)
    assert 'id="ktp-reused"' not in review
    assert _post(client, key, langkah="kirim", **DECLARED).status_code == 303
    req = db.session.scalars(select(LetterRequest)).one()
    assert "Foto KTP diambil dari pendaftaran" not in (req.events[0].note or "")
    assert len([a for a in req.attachments if a.requirement_code == "ktp"]) == 1


def test_staff_must_check_the_declared_data_before_forwarding(office, client, login_as, factory):
    warga = _self_registered(factory)
    login_as(warga)
    req = _submitted(client, "domisili_kantor", **DECLARED)
    client.post("/logout")
    login_as(office["staff"])
    url = f"/petugas/permohonan/{req.tracking_number}"
    client.post(f"{url}/tangani", data={"tangani-version": req.version})
    db.session.expire_all()
    page = client.get(url).get_data(as_text=True)
    assert "Data dari pemohon" in page and "dari pemohon, belum dicek" in page
    refused = client.post(f"{url}/teruskan", data={"teruskan-version": req.version})
    assert refused.status_code == 422
    assert "Data dari pemohon belum dicek: Agama, Status perkawinan, Pekerjaan" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert req.status == RequestStatus.IN_REVIEW

    bad = client.post(f"{url}/data-pemohon", data={**DECLARED, "data_religion": "", "version": req.version})
    assert bad.status_code == 422 and 'id="err-data_religion"' in bad.get_data(as_text=True)
    done = client.post(f"{url}/data-pemohon", data={**DECLARED, "data_occupation": "Pedagang", "register": "1",
                                                    "version": req.version})
    assert done.status_code == 303
    db.session.expire_all()
    assert warga.resident.occupation == "Pedagang" and warga.resident.religion == "Islam"
    page = client.get(url).get_data(as_text=True)
    assert "dikoreksi oleh Pengguna loket" in page and "data penduduk ikut diperbarui" in page
    assert client.post(f"{url}/teruskan", data={"teruskan-version": req.version}).status_code == 303
    db.session.expire_all()
    assert req.status == RequestStatus.AWAITING_SIGNATURE

    client.post("/logout")
    login_as(office["signer"])
    page = client.get(f"/penandatangan/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert 'id="declared-heading"' in page and "diisi pemohon dan diperiksa petugas" in page
    assert "dikonfirmasi oleh Pengguna loket" in page and "Pedagang" in page


def test_only_staff_may_check_declared_data(office, client, login_as, factory):
    warga = _self_registered(factory)
    login_as(warga)
    req = _submitted(client, "domisili_kantor", **DECLARED)
    for user in (warga, office["rt"], office["signer"]):
        client.post("/logout")
        login_as(user)
        resp = client.post(f"/petugas/permohonan/{req.tracking_number}/data-pemohon", data={**DECLARED})
        assert resp.status_code in (403, 404)
    db.session.expire_all()
    assert all(d.status == DeclaredStatus.UNCHECKED for d in db.session.scalars(select(DeclaredValue)))


def test_the_estimate_names_the_rt_step_first_then_the_office_date(office, client, login_as, factory):
    warga = factory.warga()
    login_as(warga)
    req = _submitted(client, asli_ktp="1")  # no KTP photo at registration: brought to the office
    page = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    estimate = re.search(r'<p id="estimate">(.*?)</p>', page, re.S).group(1)
    assert "menunggu pengantar RT, lalu ±2 hari kerja di kantor kelurahan" in estimate and "WIB" not in estimate
    client.post("/logout")
    login_as(office["staff"])
    staff_page = client.get(f"/petugas/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "belum berjalan: menunggu pengantar RT/RW" in staff_page
    endorsements.endorse(req, office["rt"])
    db.session.commit()
    assert "belum berjalan" not in client.get(f"/petugas/permohonan/{req.tracking_number}").get_data(as_text=True)
    client.post("/logout")
    login_as(warga)
    page = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    estimate = re.search(r'<p id="estimate">(.*?)</p>', page, re.S).group(1)
    assert "WIB" in estimate and "menunggu" not in estimate
    assert lifecycle.waits_for(req.status) == lifecycle.STAFF
