import io
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Registration, Role, User
from sempelmas.models.audit import AuditEntry
from tests.conftest import PASSWORD, jpeg_bytes, login
from tests.failing_commit import fail_commit_saving, files_in

FORM = {
    "nik": "3576034403920077", "kk_number": "3576031203150077", "full_name": "Rina Ayu",
    "birth_place": "Mojokerto", "birth_date": "1992-03-04", "gender": "P", "address": "Jl. Empunala 7",
    "rt": "2", "rw": "1", "phone": "0812 3456 7890", "email": "", "password": "sandi-rina-1",
    "password2": "sandi-rina-1", "consent": "y",
}


def post_register(client, photo: bytes | None = None, name="ktp.jpg", **changes):
    data = {**FORM, **changes}
    if photo is not None:
        data["ktp_photo"] = (io.BytesIO(photo), name)
    return client.post("/daftar", data=data, content_type="multipart/form-data")


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_register_creates_a_waiting_account_logs_in_and_strips_photo_metadata(app, client):
    resp = post_register(client, jpeg_bytes(size=(3000, 1500), exif_gps=True))
    assert resp.status_code == 303 and resp.location == "/warga/"
    home = client.get("/warga/").get_data(as_text=True)
    assert "menunggu verifikasi" in home
    user = db.session.scalar(select(User))
    assert user.status == AccountStatus.PENDING and user.phone == "+6281234567890"
    stored = Path(app.config["UPLOAD_DIR"]) / "ktp" / user.registration.ktp_photo
    with Image.open(stored) as img:
        assert img.format == "JPEG"
        assert max(img.size) == 2000
        assert not img.getexif()  # GPS and camera data gone
    own = client.get("/warga/ktp")
    assert own.status_code == 200 and own.headers["Cache-Control"] == "private, no-store"
    assert own.data[:2] == b"\xff\xd8"
    own.close()


def test_wrong_nik_is_refused_with_the_part_and_the_form_keeps_what_was_typed(client):
    resp = post_register(client, jpeg_bytes(), nik="3576030113900001")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Bulan lahir pada NIK" in html
    assert 'value="Rina Ayu"' in html and 'value="Jl. Empunala 7"' in html
    # nik-check: where the live check writes its message
    assert 'aria-describedby="nik-hint nik-error nik-check"' in html and 'id="nik-error"' in html
    assert 'aria-invalid="true"' in html
    assert users() == 0


def test_a_disguised_upload_is_refused_and_the_rest_of_the_form_is_kept(app, client):
    resp = post_register(client, b"%PDF-1.4 not really a photo", name="ktp.jpg")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "bukan foto yang valid" in html
    assert 'value="3576034403920077"' in html
    assert users() == 0
    assert not list((Path(app.config["UPLOAD_DIR"]) / "ktp").glob("*"))


def test_an_oversized_photo_is_refused(app, client):
    app.config["UPLOAD_MAX_BYTES"] = 20_000
    resp = post_register(client, jpeg_bytes(size=(1500, 1500)) + b"\0" * 30_000)
    assert resp.status_code == 422
    assert "terlalu besar" in resp.get_data(as_text=True)


def test_a_ktp_photo_that_decodes_to_353_mb_is_refused_undecoded_and_the_form_kept(app, client):
    from tests.hostile_files import png_bomb

    resp = post_register(client, png_bomb(), name="ktp.png")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Gambar terlalu besar untuk diproses: 9400 × 9400 piksel." in html
    assert 'value="3576034403920077"' in html and 'value="Rina Ayu"' in html
    assert users() == 0
    assert not list((Path(app.config["UPLOAD_DIR"]) / "ktp").glob("*"))


def test_missing_photo_and_missing_consent_are_named(client):
    resp = post_register(client, None, consent="")
    html = resp.get_data(as_text=True)
    assert "Persetujuan wajib dicentang" in html
    resp = post_register(client, None)
    assert "Foto KTP wajib diunggah" in resp.get_data(as_text=True)
    assert users() == 0


def test_duplicate_nik_at_submit_says_it_is_registered(client, factory):
    factory.warga(nik="3576034403920077", female=True, birth=date(1992, 3, 4))
    resp = post_register(client, jpeg_bytes())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "sudah terdaftar" in html
    assert users() == 1


def test_live_nik_check_validates_the_format_only(client):
    html = client.get("/daftar/cek-nik?nik=357603440392007", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "16 digit" in html and "<html" not in html
    ok = client.get("/daftar/cek-nik?nik=3576034403920077").get_data(as_text=True)
    assert "Format NIK benar" in ok and "Jawa Timur" in ok
    assert client.get("/daftar/cek-nik?nik=").get_data(as_text=True).strip() == ""


def test_login_redirects_each_role_home_and_only_to_safe_next(client, factory):
    s = factory.staff(Role.STAFF, "pet1")
    resp = login(client, "pet1")
    assert resp.location == "/petugas/"
    client.post("/logout")
    resp = client.post("/login?next=https://evil.example/x", data={"identifier": "pet1", "password": PASSWORD})
    assert resp.location == "/petugas/"
    client.post("/logout")
    resp = client.post("/login?next=/petugas/penduduk", data={"identifier": "pet1", "password": PASSWORD})
    assert resp.location == "/petugas/penduduk"
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.login", AuditEntry.actor_id == s.id)) == 3


def test_wrong_password_shows_the_generic_message(client, factory):
    w = factory.warga()
    html = login(client, w.resident.nik, "salah").get_data(as_text=True)
    assert "NIK/nama pengguna atau kata sandi salah." in html
    assert 'value="' + w.resident.nik + '"' in html


def test_logout_ends_the_session(client, factory, login_as):
    login_as(factory.warga())
    assert client.get("/warga/").status_code == 200
    assert client.post("/logout").status_code == 303
    assert client.get("/warga/").status_code == 302


def test_logging_out_never_leaves_the_home_page_reachable(client, factory, login_as):
    login_as(factory.warga())
    client.get("/warga/")
    client.get("/warga/")
    client.post("/logout")
    resp = client.get("/warga/")
    assert resp.status_code == 302 and "/login" in resp.location


def test_the_login_page_speaks_the_visitors_language(client):
    assert "Masuk" in client.get("/login").get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    client.set_cookie("lang", "id")
    assert 'lang="id"' in client.get("/login").get_data(as_text=True)


def test_change_password_flow(client, factory, login_as):
    w = factory.warga()
    login_as(w)
    bad = client.post("/akun/sandi", data={"current_password": "x", "password": "sandi-baru-77",
                                            "password2": "sandi-baru-77"})
    assert "Kata sandi saat ini salah" in bad.get_data(as_text=True)
    mismatch = client.post("/akun/sandi", data={"current_password": PASSWORD, "password": "sandi-baru-77",
                                                 "password2": "sandi-beda-77"})
    assert "Kata sandi tidak sama" in mismatch.get_data(as_text=True)
    ok = client.post("/akun/sandi", data={"current_password": PASSWORD, "password": "sandi-baru-77",
                                           "password2": "sandi-baru-77"})
    assert ok.status_code == 303
    assert client.get("/warga/").status_code == 200  # this session goes on
    client.post("/logout")
    assert login(client, w.resident.nik, "sandi-baru-77").status_code == 302


def test_reset_code_from_staff_lets_a_resident_set_a_new_password(app, factory, login_as):
    w = factory.warga()
    staff_client = app.test_client()
    login(staff_client, factory.staff(Role.STAFF, "loket").username)
    page = staff_client.post(f"/petugas/akun/{w.id}/kode-pemulihan")
    html = page.get_data(as_text=True)
    code = html.split('class="code-big">')[1].split("<")[0].strip()
    resident_client = app.test_client()
    wrong = resident_client.post("/lupa-sandi", data={"nik": w.resident.nik, "code": "AAAAA-BBBBB",
                                                      "password": "sandi-baru-55", "password2": "sandi-baru-55"})
    assert "kode pemulihan salah" in wrong.get_data(as_text=True)
    resp = resident_client.post("/lupa-sandi", data={"nik": w.resident.nik, "code": code,
                                                     "password": "sandi-baru-55", "password2": "sandi-baru-55"})
    assert resp.status_code == 303
    assert login(resident_client, w.resident.nik, "sandi-baru-55").status_code == 302


def test_pendamping_registers_and_acts_for_a_resident_without_a_phone(client, factory, login_as):
    helper = factory.staff(Role.ASSISTANT, "karangtaruna")
    login_as(helper)
    data = {**FORM, "phone": "", "password": "", "password2": ""}
    resp = client.post("/warga/pendamping/baru", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    person = db.session.scalar(select(User).where(User.assisted_by_id == helper.id))
    assert person.password_hash is None and person.phone is None
    assert "Rina Ayu" in client.get("/warga/pendamping").get_data(as_text=True)
    assert client.post(f"/warga/pendamping/{person.id}/bertindak").status_code == 303
    home = client.get("/warga/").get_data(as_text=True)
    assert "bertindak untuk Rina Ayu" in home
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "assist.start")).one()
    assert (entry.actor_id, entry.on_behalf_of_id) == (helper.id, person.id)
    reg = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.register")).one()
    assert (reg.actor_id, reg.on_behalf_of_id) == (helper.id, person.id)
    client.post("/warga/pendamping/selesai")
    assert "bertindak untuk" not in client.get("/warga/").get_data(as_text=True)


# ------------------------------------------------------------------ a failed save keeps no KTP photo

def test_a_registration_whose_commit_fails_keeps_no_ktp_photo_and_can_be_sent_again(app, client, monkeypatch):
    """The photo is stored before the account is saved; when saving fails (here the commit itself), nothing of
    it may stay: an identity-card photo without a record is never shown, never deleted, and backed up."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # the real 500 page and its rollback
    ktp_dir = Path(app.config["UPLOAD_DIR"]) / "ktp"
    failed = fail_commit_saving(monkeypatch, Registration)
    resp = post_register(client, jpeg_bytes())
    assert failed["failed"] == 1 and resp.status_code == 500
    assert users() == 0 and files_in(ktp_dir) == []

    monkeypatch.undo()
    with app.app_context():  # a request of its own (the failed one's signed-in user is in this test's g)
        assert post_register(client, jpeg_bytes()).status_code == 303
    user = db.session.scalar(select(User))
    assert files_in(ktp_dir) == [user.registration.ktp_photo]


def test_a_pendamping_registration_whose_commit_fails_keeps_no_ktp_photo(app, client, factory, login_as,
                                                                         monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login_as(factory.staff(Role.ASSISTANT, "karangtaruna"))
    ktp_dir = Path(app.config["UPLOAD_DIR"]) / "ktp"
    data = {**FORM, "phone": "", "password": "", "password2": "", "ktp_photo": (io.BytesIO(jpeg_bytes()), "k.jpg")}
    fail_commit_saving(monkeypatch, Registration)
    resp = client.post("/warga/pendamping/baru", data=data, content_type="multipart/form-data")
    assert resp.status_code == 500
    assert db.session.scalar(select(func.count(Registration.id))) == 0 and files_in(ktp_dir) == []


def test_a_registration_refused_after_its_photo_was_stored_keeps_no_photo(app, client, factory):
    factory.warga(nik=FORM["nik"], female=True, birth=date(1992, 3, 4))  # taken: refused after the photo is stored
    resp = post_register(client, jpeg_bytes())
    assert resp.status_code == 422
    assert files_in(Path(app.config["UPLOAD_DIR"]) / "ktp") == []


@pytest.mark.parametrize("lang", ["en", "id"])
def test_language_switch_is_remembered(client, lang):
    resp = client.post("/bahasa", data={"lang": lang, "next": "/login"})
    assert resp.status_code == 303 and resp.location == "/login"
    assert f"lang={lang}" in resp.headers["Set-Cookie"]
    assert f'<html lang="{lang}">' in client.get("/login").get_data(as_text=True)
    assert client.post("/bahasa", data={"lang": "xx"}).status_code == 400


def test_template_texts_follow_the_language_escape_their_values_and_count_in_the_plural(app):
    from flask import render_template_string
    from flask_babel import force_locale, refresh

    page = ('{{ _("Dasbor layanan") }}|{{ _("Periode: %(p)s", p=name) }}|'
            '{{ ngettext("%(num)d surat menunggu tanda tangan.", "%(num)d surat menunggu tanda tangan.", n) }}')
    for lang, expected in (
            ("id", "Dasbor layanan|Periode: &lt;b&gt;RT 01&lt;/b&gt;|2 surat menunggu tanda tangan."),
            ("en", "Service dashboard|Period: &lt;b&gt;RT 01&lt;/b&gt;|2 letters are awaiting signature.")):
        with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
            refresh()  # the test's app context outlives each request; Babel keeps its choice there
            assert render_template_string(page, name="<b>RT 01</b>", n=2) == expected
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        refresh()
        assert render_template_string(page, name="x", n=1).endswith("|1 letter is awaiting signature.")
        # a text rendered for someone else in their language (an e-mail, a notification) follows force_locale
        with force_locale("id"):
            assert render_template_string(page, name="x", n=1).startswith("Dasbor layanan|Periode: x|1 surat")
        assert render_template_string(page, name="x", n=1).startswith("Service dashboard|")
