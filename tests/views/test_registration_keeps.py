"""Registration keeps everything on an error, and asks only what the register does not know (issue 15)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Registration, Role, User
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.registration_uploads import RegistrationUpload
from sempelmas.services.files import upload_store
from sempelmas.services.people import registration_uploads
from tests.conftest import jpeg_bytes
from tests.failing_commit import files_in

NIK = "3576034403920077"  # a woman born 4 March 1992
KK = "3576031203150077"
FULL = {
    "nik": NIK, "kk_number": KK, "full_name": "Rina Ayu", "birth_place": "Mojokerto", "birth_date": "1992-03-04",
    "gender": "P", "address": "Jl. Empunala 7", "rt": "2", "rw": "1", "phone": "0812 3456 7890", "email": "",
    "password": "sandi-rina-1", "password2": "sandi-rina-1", "consent": "y",
}
#: what a person the register knows types: no birth place, gender, address, RT or RW
SHORT = {k: v for k, v in FULL.items() if k not in ("birth_place", "gender", "address", "rt", "rw")}
HELD = "Foto KTP sudah diunggah — ganti?"
FOUND = "Data Anda ditemukan di data kependudukan: alamat dan RT/RW diambil dari sana."


def post(client, data, photo: bytes | None = None, url="/daftar"):
    data = dict(data)
    if photo is not None:
        data["ktp_photo"] = (io.BytesIO(photo), "ktp.jpg")
    return client.post(url, data=data, content_type="multipart/form-data")


def token_in(html: str) -> str:
    m = re.search(r'id="ktp_token" name="ktp_token" type="hidden" value="([^"]*)"', html)
    assert m, "no ktp_token field"
    return m.group(1)


def folder(app, kind: str) -> Path:
    return Path(app.config["UPLOAD_DIR"]) / kind


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def in_register(factory, **kw):
    """The register's entry for NIK/KK/birth date, with an address the person never types."""
    r = factory.resident(nik=NIK, kk=KK, birth=date(1992, 3, 4), female=True, rt="004", rw="002", **kw)
    r.address, r.birth_place = "Jl. Register No. 9", "SURABAYA"
    db.session.commit()
    return r


# ------------------------------------------------------------------ the photo and the passwords survive an error

def test_a_password_typo_keeps_the_photo_and_every_field_but_clears_the_passwords(app, client):
    resp = post(client, {**FULL, "password2": "sandi-rina-2"}, jpeg_bytes())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Kata sandi tidak sama." in html
    assert HELD in html and 'value="Rina Ayu"' in html and 'value="Jl. Empunala 7"' in html
    assert "sandi-rina-1" not in html and "sandi-rina-2" not in html  # the passwords were the problem: cleared
    assert resp.headers["Cache-Control"] == "private, no-store"
    token = token_in(html)
    held = db.session.scalars(select(RegistrationUpload)).one()
    assert held.token == token and files_in(folder(app, "ktp_pending")) == [held.stored_name]
    thumb = client.get(f"/daftar/foto-ktp/{token}")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.headers["Cache-Control"] == "private, no-store"

    # fixed: no photo picked again, the held one is used
    resp = post(client, {**FULL, "ktp_token": token})
    assert resp.status_code == 303
    reg = db.session.scalars(select(Registration)).one()
    assert files_in(folder(app, "ktp")) == [reg.ktp_photo]
    assert files_in(folder(app, "ktp_pending")) == []  # let go once the account committed
    assert db.session.scalar(select(func.count(RegistrationUpload.id))) == 0


def test_a_nik_error_keeps_the_photo_and_passwords_typed_well(app, client):
    resp = post(client, {**FULL, "nik": "3576030113900001"}, jpeg_bytes())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Bulan lahir pada NIK" in html
    assert HELD in html
    assert html.count('value="sandi-rina-1"') == 2  # both kept: they were not the problem
    resp = post(client, {**FULL, "ktp_token": token_in(html)})
    assert resp.status_code == 303
    assert files_in(folder(app, "ktp")) == [db.session.scalars(select(Registration)).one().ktp_photo]


def test_a_second_photo_replaces_the_held_one(app, client):
    first = token_in(post(client, {**FULL, "password2": "x"}, jpeg_bytes()).get_data(as_text=True))
    html = post(client, {**FULL, "password2": "x", "ktp_token": first},
                jpeg_bytes(color=(10, 20, 30))).get_data(as_text=True)
    second = token_in(html)
    assert second != first
    assert [r.token for r in db.session.scalars(select(RegistrationUpload))] == [second]
    assert len(files_in(folder(app, "ktp_pending"))) == 1


def test_a_token_from_another_browser_session_is_refused(app, client):
    token = token_in(post(client, {**FULL, "password2": "x"}, jpeg_bytes()).get_data(as_text=True))
    other = app.test_client()
    assert other.get(f"/daftar/foto-ktp/{token}").status_code == 404
    resp = post(other, {**FULL, "ktp_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Foto KTP yang diunggah sebelumnya tidak ditemukan" in html
    assert HELD not in html and 'value="Rina Ayu"' in html
    assert users() == 0
    # still the first browser's
    assert post(client, {**FULL, "ktp_token": token}).status_code == 303


def test_an_expired_token_is_refused_with_a_clear_message_and_the_form_kept(app, client):
    token = token_in(post(client, {**FULL, "nik": "3576030113900001"}, jpeg_bytes()).get_data(as_text=True))
    held = db.session.scalars(select(RegistrationUpload)).one()
    held.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    resp = post(client, {**FULL, "ktp_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "sudah kedaluwarsa" in html and "Pilih foto KTP sekali lagi" in html
    assert 'value="Rina Ayu"' in html and html.count('value="sandi-rina-1"') == 2
    assert HELD not in html and users() == 0
    assert client.get(f"/daftar/foto-ktp/{token}").status_code == 404


def test_expired_held_photos_are_purged_audited_and_live_ones_survive_the_sweep(app, client):
    client_b = app.test_client()
    post(client, {**FULL, "password2": "x"}, jpeg_bytes())
    post(client_b, {**FULL, "password2": "x"}, jpeg_bytes())
    old, young = db.session.scalars(select(RegistrationUpload).order_by(RegistrationUpload.id)).all()
    old.expires_at = utcnow() - timedelta(minutes=1)
    old_name, young_name = old.stored_name, young.stored_name
    db.session.commit()
    result = upload_store.sweep(grace_seconds=0)
    assert result.removed == {} and sorted(files_in(folder(app, "ktp_pending"))) == sorted([old_name, young_name])
    assert registration_uploads.purge_expired() == 1
    assert files_in(folder(app, "ktp_pending")) == [young_name]
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "upload.registration_photos_expired")).one()
    assert entry.details["files"] == 1 and old_name not in str(entry.details)


def test_the_pendamping_form_keeps_the_photo_and_uses_the_register(app, client, factory, login_as):
    in_register(factory)
    login_as(factory.staff(Role.ASSISTANT, "karangtaruna"))
    data = {**SHORT, "phone": "", "password": "", "password2": ""}
    resp = post(client, {**data, "nik": "3576030113900001"}, jpeg_bytes(), url="/warga/pendamping/baru")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and HELD in html
    resp = post(client, {**data, "ktp_token": token_in(html)}, url="/warga/pendamping/baru")
    assert resp.status_code == 303
    reg = db.session.scalars(select(Registration)).one()
    assert (reg.address, reg.rt, reg.rw) == ("Jl. Register No. 9", "004", "002")
    assert files_in(folder(app, "ktp")) == [reg.ktp_photo]


# ------------------------------------------------------------------ what the register knows is not asked

def test_the_form_opens_without_birth_place_gender_address_or_rt_rw(client):
    html = client.get("/daftar").get_data(as_text=True)
    for name in ("birth_place", "gender", "address", "rt", "rw"):
        assert f'name="{name}"' not in html
    assert "Di mana nomor KK?" in html and "<svg" in html and "<img" not in html


def test_a_register_match_needs_fewer_fields_and_takes_the_registers_address(app, client, factory):
    in_register(factory)
    resp = post(client, SHORT, jpeg_bytes())
    assert resp.status_code == 303, resp.get_data(as_text=True)
    reg = db.session.scalars(select(Registration)).one()
    assert (reg.birth_place, reg.gender, reg.address, reg.rt, reg.rw) == (
        "SURABAYA", "P", "Jl. Register No. 9", "004", "002")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.register")).one()
    assert entry.details["from_register"] is True


def test_a_register_match_ignores_typed_address(client, factory):
    in_register(factory)
    assert post(client, {**FULL}, jpeg_bytes()).status_code == 303
    assert db.session.scalars(select(Registration)).one().address == "Jl. Register No. 9"


def test_without_a_match_the_server_asks_for_them_and_keeps_the_rest(app, client, factory):
    in_register(factory)
    resp = post(client, {**SHORT, "birth_date": "1992-03-05"}, jpeg_bytes())  # another birth date: no match
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "belum ditemukan di data kependudukan" in html
    for name in ("birth_place", "gender", "address", "rt", "rw"):
        assert f'name="{name}"' in html
    assert HELD in html and html.count('value="sandi-rina-1"') == 2
    assert "Jl. Register" not in html and "SURABAYA" not in html
    resp = post(client, {**FULL, "birth_date": "1992-03-05", "ktp_token": token_in(html)})
    assert resp.status_code == 303
    assert db.session.scalars(select(Registration)).one().address == "Jl. Empunala 7"


def test_a_match_with_an_error_elsewhere_says_found_and_shows_nothing_of_the_register(client, factory):
    in_register(factory)
    html = post(client, {**SHORT, "password2": "x"}, jpeg_bytes()).get_data(as_text=True)
    assert FOUND in html and 'name="address"' not in html
    assert "Jl. Register" not in html and "SURABAYA" not in html and "004" not in html


def test_the_live_check_reveals_nothing_without_all_three(client, factory):
    in_register(factory)
    base = f"/daftar/cek-data?nik={NIK}&kk_number={KK}"
    wrong_date = client.get(base + "&birth_date=1992-03-05", headers={"HX-Request": "true"}).get_data(as_text=True)
    wrong_kk = client.get(f"/daftar/cek-data?nik={NIK}&kk_number=3576031203150078&birth_date=1992-03-04",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    for html in (wrong_date, wrong_kk):
        assert FOUND not in html and 'name="address"' in html and "Jl. Register" not in html
    incomplete = client.get(f"/daftar/cek-data?nik={NIK}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'name="address"' not in incomplete and "belum ditemukan" not in incomplete
    found = client.get(base + "&birth_date=1992-03-04", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert FOUND in found and 'name="address"' not in found
    assert "Jl. Register" not in found and "SURABAYA" not in found


def test_the_live_check_keeps_the_extra_fields_typed(client):
    html = client.get(f"/daftar/cek-data?nik={NIK}&kk_number={KK}&birth_date=1992-03-04&address=Jl.+Mawar+3&rt=7",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'value="Jl. Mawar 3"' in html and 'value="7"' in html


def test_a_self_registered_entry_is_no_source(client, factory):
    in_register(factory, source="registrasi")
    resp = post(client, SHORT, jpeg_bytes())
    assert resp.status_code == 422 and "belum ditemukan" in resp.get_data(as_text=True)


def test_the_live_check_answers_nothing_new_when_the_page_already_shows_it(client):
    """A late answer must not swap away what is being typed in the fields it shows."""
    url = f"/daftar/cek-data?nik={NIK}&kk_number={KK}&birth_date=1992-03-04&address=Jl.+M"
    assert client.get(url + "&register_view=asked").status_code == 204
    assert 'name="address"' in client.get(url + "&register_view=none").get_data(as_text=True)


def test_the_live_register_check_is_throttled_per_client(make_app):
    """It says whether NIK + KK + birth date match: bounded, so nobody walks KK numbers through it."""
    app = make_app(REGISTER_CHECK_RATE_LIMIT="2 per hour")
    with app.app_context():
        c = app.test_client()
        url = f"/daftar/cek-data?nik={NIK}&kk_number={KK}&birth_date=1992-03-04"
        assert [c.get(url).status_code for _i in range(3)] == [200, 200, 429]
        assert c.get("/daftar").status_code == 200  # the form itself is never throttled
