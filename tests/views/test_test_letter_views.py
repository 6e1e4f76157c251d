"""The test letter from the browser's side: an official signs it on /admin/surat-uji, scans its QR with a phone,
/v/<code> says UJI (never SAH), and the admin sees that the phone opened it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.test_letters import TestLetter
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import test_letter
from tests.conftest import PASSWORD, csrf_from
from tests.signing_setup import LURAH_PASS, Desk, configure, qr_payloads

PHONE = ("Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Mobile Safari/537.36")


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    return Desk(factory)


def _count() -> int:
    return db.session.scalar(select(func.count(TestLetter.id)))


def test_an_official_signs_a_test_letter_and_a_phone_opens_its_qr(app, client, desk, login_as):
    login_as(desk.lurah)
    page = client.get("/admin/surat-uji").get_data(as_text=True)
    assert "Tandatangani surat uji" in page and "Belum ada surat uji." in page

    resp = client.post("/admin/surat-uji", data={"passphrase": "bukan-passphrase-ini"})
    assert resp.status_code == 422 and _count() == 0
    resp = client.post("/admin/surat-uji", data={"passphrase": ""})
    assert resp.status_code == 422 and _count() == 0

    resp = client.post("/admin/surat-uji", data={"passphrase": LURAH_PASS})
    assert resp.status_code == 303 and resp.location == "/admin/surat-uji"
    made = db.session.scalar(select(TestLetter))
    page = client.get("/admin/surat-uji").get_data(as_text=True)
    assert made.number in page and "Belum dibuka" in page

    pdf = client.get(f"/admin/surat-uji/{made.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert letter_signing.validate_pdf(pdf.data).valid
    (url,) = qr_payloads(pdf.data)
    path = url.removeprefix("https://surat.jagalan.test")
    assert path == f"/v/{made.verify_code}"

    phone = app.test_client()  # the phone: not signed in
    seen = phone.get(path, headers={"User-Agent": PHONE, "Accept-Language": "id"})
    body = seen.get_data(as_text=True)
    assert seen.status_code == 200 and seen.headers["Cache-Control"] == "no-store"
    assert 'id="verdict">UJI<' in body and "TIDAK BERLAKU" in body and "SAH" not in body
    assert made.number in body and "Set-Cookie" not in seen.headers
    db.session.expire_all()
    assert test_letter.test_letter_verified(db.session.get(TestLetter, made.id))
    page = client.get("/admin/surat-uji").get_data(as_text=True)
    assert "Dibuka dari HP" in page and "Android 14" in page

    english = phone.get(path, headers={"User-Agent": PHONE, "Accept-Language": "en"}).get_data(as_text=True)
    assert 'id="verdict">' in english and "SAH" not in english
    # it is no letter: no upload check, no download, no language switch through the letter routes
    assert phone.post(path, data={}).status_code == 404
    assert phone.get(f"{path}/unduh").status_code == 404
    assert phone.get("/v/tidak-ada-kode-ini").status_code == 404


def test_an_admin_who_is_no_signer_sees_the_page_but_cannot_sign(client, desk, login_as, factory):
    admin = factory.staff(Role.ADMIN, "admin-uji")
    login_as(admin)
    page = client.get("/admin/surat-uji").get_data(as_text=True)
    assert "Tandatangani surat uji" not in page
    assert client.post("/admin/surat-uji", data={"passphrase": LURAH_PASS}).status_code == 403
    made = test_letter.issue_test_letter(desk.lurah, LURAH_PASS)
    assert client.get(f"/admin/surat-uji/{made.id}.pdf").status_code == 200
    assert client.get("/admin/surat-uji/999999.pdf").status_code == 404
    client.post("/logout")
    login_as(desk.staff)
    assert client.get(f"/admin/surat-uji/{made.id}.pdf").status_code == 403


def test_signing_a_test_letter_needs_the_csrf_token(make_app, factory, tmp_path):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        configure(app, tmp_path)
        Desk(factory)
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"identifier": "lurah", "password": PASSWORD, "csrf_token": token})
        assert client.post("/admin/surat-uji", data={"passphrase": LURAH_PASS}).status_code == 400
        token = csrf_from(client.get("/admin/surat-uji").get_data(as_text=True))
        resp = client.post("/admin/surat-uji", data={"passphrase": LURAH_PASS, "csrf_token": token})
        assert resp.status_code == 303 and _count() == 1
