"""Screens of the signing key: the official's first setup and passphrase change, the admin's certificate list and
revocation, the public CA download."""

from __future__ import annotations

import pytest
from cryptography import x509
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import SigningFailure
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import signing as letter_signing
from tests.conftest import PASSWORD, csrf_from
from tests.pki_helpers import PASSPHRASE, make_ca, make_signer, one_page_pdf, use_pki_dir

NEW = "passphrase-kedua-uji"


def _setup(client, password=PASSWORD, passphrase=PASSPHRASE, again=None):
    return client.post("/penandatangan/kunci", data={"account_password": password, "passphrase": passphrase,
                                                     "passphrase2": again or passphrase})


def _change(client, old, new, again=None):
    return client.post("/penandatangan/kunci", data={"old_passphrase": old, "new_passphrase": new,
                                                     "new_passphrase2": again or new})


def _actions():
    return db.session.scalars(select(AuditEntry.action)).all()


def test_first_setup_needs_the_right_account_password_then_shows_the_certificate(app, tmp_path, client, factory,
                                                                                 login_as):
    make_ca(app, tmp_path)
    user, _official = make_signer(factory, passphrase=None)
    login_as(user)
    home = client.get("/penandatangan/").get_data(as_text=True)
    assert "/penandatangan/kunci" in home and "belum memiliki sertifikat" in home
    assert "Kata sandi akun Anda" in client.get("/penandatangan/kunci").get_data(as_text=True)

    wrong = _setup(client, password="bukan-sandinya")
    assert wrong.status_code == 422
    assert "Kata sandi akun salah." in wrong.get_data(as_text=True)
    assert letter_certs.active_certificate(user) is None
    assert db.session.query(SigningFailure).count() == 1
    assert "pki.passphrase_wrong" in _actions()

    short = _setup(client, passphrase="pendek")
    assert short.status_code == 422 and "minimal 10 karakter" in short.get_data(as_text=True)
    mismatch = _setup(client, again="passphrase-lain-sekali")
    assert mismatch.status_code == 422 and "Passphrase tidak sama." in mismatch.get_data(as_text=True)
    same = _setup(client, passphrase=PASSWORD)
    assert same.status_code == 422 and "tidak boleh sama dengan kata sandi akun" in same.get_data(as_text=True)
    assert letter_certs.active_certificate(user) is None

    ok = _setup(client)
    assert ok.status_code == 303
    cert = letter_certs.active_certificate(user)
    page = client.get("/penandatangan/kunci").get_data(as_text=True)
    assert "Sertifikat tanda tangan sudah diterbitkan" in page
    assert cert.serial in page and "Ganti passphrase" in page
    assert "title=Lurah Jagalan" in page and "serialNumber=197001011990031001" in page
    assert "Sertifikat aktif sampai" in client.get("/penandatangan/").get_data(as_text=True)
    assert "pki.certificate_issued" in _actions()
    signed = letter_signing.signer_for(user).sign(one_page_pdf(), passphrase=PASSPHRASE, reason="Uji",
                                                  location="Jagalan")
    assert letter_signing.validate_pdf(signed).ok


def test_change_passphrase_screen(app, tmp_path, client, factory, login_as):
    make_ca(app, tmp_path)
    user, _official = make_signer(factory)
    login_as(user)
    wrong = _change(client, "passphrase-keliru", NEW)
    assert wrong.status_code == 422 and "Passphrase lama salah." in wrong.get_data(as_text=True)
    assert db.session.query(SigningFailure).count() == 1
    mismatch = _change(client, PASSPHRASE, NEW, again=NEW + "x")
    assert mismatch.status_code == 422 and "Passphrase tidak sama." in mismatch.get_data(as_text=True)
    ok = _change(client, PASSPHRASE, NEW)
    assert ok.status_code == 303
    assert "Passphrase tanda tangan sudah diganti." in client.get(ok.location).get_data(as_text=True)
    db.session.expire_all()
    with pytest.raises(letter_ca.WrongPassphrase):
        letter_signing.signer_for(user).sign(one_page_pdf(), passphrase=PASSPHRASE, reason="", location="")
    letter_signing.signer_for(user).sign(one_page_pdf(), passphrase=NEW, reason="", location="")
    assert "pki.passphrase_changed" in _actions()


def test_screen_is_throttled_after_repeated_wrong_passphrases(app, tmp_path, client, factory, login_as):
    make_ca(app, tmp_path)
    user, _official = make_signer(factory)
    login_as(user)
    for _ in range(5):
        assert _change(client, "passphrase-keliru", NEW).status_code == 422
    blocked = _change(client, PASSPHRASE, NEW)
    assert blocked.status_code == 422
    assert "Terlalu banyak passphrase salah" in blocked.get_data(as_text=True)
    db.session.expire_all()  # nothing changed: the old passphrase still opens the key
    letter_ca.decrypt_private_key(letter_certs.active_certificate(user).key_pem, PASSPHRASE)


def test_signer_without_an_official_record_is_told_to_ask_the_admin(app, tmp_path, client, factory, login_as):
    make_ca(app, tmp_path)
    login_as(factory.staff(Role.SIGNER, "ttd-lepas"))
    page = client.get("/penandatangan/kunci").get_data(as_text=True)
    assert "belum terhubung dengan data pejabat" in page
    resp = _setup(client)
    assert resp.status_code == 422 and "belum terhubung dengan data pejabat" in resp.get_data(as_text=True)


def test_admin_lists_and_revokes_then_the_official_gets_a_new_certificate(app, tmp_path, client, factory,
                                                                         login_as):
    make_ca(app, tmp_path)
    signer, _official = make_signer(factory)
    cert = letter_certs.active_certificate(signer)
    admin = factory.staff(Role.ADMIN, "admin-pki")
    login_as(admin)
    page = client.get("/admin/sertifikat").get_data(as_text=True)
    assert "Budi Santoso" in page and cert.serial[:16] in page and "aktif" in page
    assert "CA Kelurahan Jagalan" in page

    no_reason = client.post(f"/admin/sertifikat/{cert.id}/cabut", data={"reason": " "})
    assert no_reason.status_code == 422 and "Alasan pencabutan wajib diisi." in no_reason.get_data(as_text=True)
    assert client.post(f"/admin/sertifikat/{cert.id}/cabut", data={}).status_code == 422
    assert letter_certs.active_certificate(signer) is not None
    assert client.post("/admin/sertifikat/999999/cabut", data={"reason": "x"}).status_code == 404

    done = client.post(f"/admin/sertifikat/{cert.id}/cabut", data={"reason": "Pejabat pindah tugas"})
    assert done.status_code == 303
    listing = client.get(done.location).get_data(as_text=True)
    assert "dicabut" in listing and "Pejabat pindah tugas" in listing
    db.session.expire_all()
    assert letter_certs.active_certificate(signer) is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "pki.certificate_revoked"))
    assert entry.actor_id == admin.id and entry.details["reason"] == "Pejabat pindah tugas"

    client.post("/logout")
    login_as(signer)
    page = client.get("/penandatangan/kunci").get_data(as_text=True)
    assert "sebelumnya sudah tidak aktif" in page and "Kata sandi akun Anda" in page
    assert _setup(client, passphrase=NEW).status_code == 303
    db.session.expire_all()
    assert letter_certs.active_certificate(signer).id != cert.id


def test_revoke_form_needs_csrf(make_app, tmp_path, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_ca(app, tmp_path)
        signer, _official = make_signer(factory)
        cert = letter_certs.active_certificate(signer)
        client = app.test_client()
        admin = factory.staff(Role.ADMIN, "admin-csrf")
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"identifier": admin.username, "password": PASSWORD, "csrf_token": token})
        refused = client.post(f"/admin/sertifikat/{cert.id}/cabut", data={"reason": "Tanpa token"})
        assert refused.status_code in (400, 422)
        db.session.expire_all()
        assert letter_certs.active_certificate(signer) is not None
        token = csrf_from(client.get("/admin/sertifikat").get_data(as_text=True))
        ok = client.post(f"/admin/sertifikat/{cert.id}/cabut", data={"reason": "Dengan token", "csrf_token": token})
        assert ok.status_code == 303


def test_ca_certificate_is_public_in_pem_and_der(app, tmp_path, client):
    use_pki_dir(app, tmp_path)
    assert client.get("/ca-kelurahan.pem").status_code == 404
    assert client.get("/ca-kelurahan.crt").status_code == 404
    make_ca(app, tmp_path)
    pem = client.get("/ca-kelurahan.pem")
    assert pem.status_code == 200 and pem.headers["Content-Type"] == "application/x-pem-file"
    assert x509.load_pem_x509_certificate(pem.data) == letter_ca.ca_certificate()
    der = client.get("/ca-kelurahan.crt")
    assert der.status_code == 200 and der.headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(der.data) == letter_ca.ca_certificate()
