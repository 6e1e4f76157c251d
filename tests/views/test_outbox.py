"""A request form kept on the phone without a signal (static/js/outbox.js) and sent later: the server's side.

The phone sends the form whole (answers and photos, ``langkah=kirim``) with a CSRF token it asked for at that
moment (/warga/sinyal), and gets JSON back; sent twice (the answer lost on a weak signal), it is still one
request. The browser's side is in tests/e2e/test_offline_journey.py."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.requests import LetterRequest, RequestAttachment
from tests.conftest import PASSWORD, Factory, csrf_from, jpeg_bytes
from tests.request_factory import make_profile
from tests.views.test_resident_requests import GOOD, make_service, open_form, setup  # noqa: F401  (fixture)

OUTBOX = {"X-SemPelMas-Outbox": "1", "Accept": "application/json"}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def kept_form(key: str, owner: str, **extra) -> dict:
    """The form as outbox.js sends it: the fields as typed, the photos, ``langkah=kirim``."""
    return {**GOOD, "kunci": key, "pemilik": owner, "judul": "Surat domisili", "langkah": "kirim",
            "berkas_kk": (io.BytesIO(jpeg_bytes()), "kk.jpg"), "berkas_ktp": (io.BytesIO(jpeg_bytes()), "ktp.jpg"),
            **extra}


def send_kept(client, key: str, form: dict, headers=OUTBOX):
    resp = client.post(f"/warga/ajukan/domisili?kunci={key}", data=form, content_type="multipart/form-data",
                       headers=headers)
    resp.request.environ["wsgi.input"].close()
    return resp


def owner_of(html: str) -> str:
    return re.search(r'name="pemilik" value="([^"]+)"', html).group(1)


def test_the_form_carries_what_the_phone_keeps_and_the_outbox_panel(setup, client, login_as, factory):  # noqa: F811
    user = factory.warga()
    login_as(user)
    key, html = open_form(client)
    assert re.search(r'<form method="post" action="/warga/ajukan/domisili\?kunci=[^"]+"\s+enctype="multipart/'
                     r'form-data" novalidate data-outbox-form', html)
    assert owner_of(html) == f"{user.id}-{user.id}"
    assert '<input type="hidden" name="judul" value="Surat domisili">' in html
    assert 'id="outbox" hidden' in html and 'data-session="/warga/sinyal"' in html
    assert re.search(r'src="/static/js/outbox\.js\?v=\w+" defer', html)
    for url in ("/warga/", "/warga/permohonan"):
        assert 'id="outbox" hidden' in client.get(url).get_data(as_text=True), url


def test_the_session_answer_gives_a_fresh_token_and_whose_forms_it_may_send(setup, client, login_as, factory):  # noqa: F811
    anonymous = client.get("/warga/sinyal", headers={"Accept": "application/json"})
    assert anonymous.status_code == 401  # JSON asked: no redirect for a script to follow
    user = factory.warga()
    login_as(user)
    resp = client.get("/warga/sinyal", headers={"Accept": "application/json"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.json["owner"] == f"{user.id}-{user.id}" and resp.json["csrf"]
    client.post("/logout")
    login_as(factory.staff(Role.STAFF, "loket"))
    assert client.get("/warga/sinyal", headers={"Accept": "application/json"}).status_code == 403


def test_a_kept_form_is_sent_whole_and_once(setup, client, login_as, factory):  # noqa: F811
    user = factory.warga()
    login_as(user)
    key, html = open_form(client)
    resp = send_kept(client, key, kept_form(key, owner_of(html)))
    assert resp.status_code == 201, resp.get_data(as_text=True)[:800]
    req = db.session.scalars(select(LetterRequest)).one()
    assert resp.json == {"number": req.tracking_number, "url": f"/warga/permohonan/{req.tracking_number}"}
    assert req.answers["keperluan"] == "Melamar pekerjaan" and req.idempotency_key == key
    assert sorted(a.requirement_code for a in req.attachments) == ["kk", "ktp"]
    # no flash waits for the next page: the phone says it was sent
    assert "terkirim dengan nomor" not in client.get("/warga/").get_data(as_text=True)

    # the answer was lost on the way: the phone sends it again, and again later
    for _ in range(2):
        again = send_kept(client, key, kept_form(key, owner_of(html)))
        assert again.status_code == 201 and again.json["number"] == req.tracking_number
    assert _count(LetterRequest) == 1
    assert _count(RequestAttachment) == 2  # the photos sent again are not stored again


def test_a_kept_form_the_server_refuses_comes_back_for_checking_with_its_photos_kept(setup, client, login_as,  # noqa: F811
                                                                                     factory):
    login_as(factory.warga())
    key, html = open_form(client)
    resp = send_kept(client, key, kept_form(key, owner_of(html), f_keperluan=""))
    assert resp.status_code == 422 and _count(LetterRequest) == 0
    # opened again ("Buka formulir": langkah=ubah with the typed answers), the photos are there already
    form = client.post(f"/warga/ajukan/domisili?kunci={key}", data={**GOOD, "kunci": key, "langkah": "ubah"})
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and page.count("Sudah diunggah.") == 2
    assert 'value="Melamar pekerjaan"' in page


def test_a_form_kept_by_another_account_on_the_phone_is_not_sent_as_this_one(setup, client, login_as, factory):  # noqa: F811
    first, second = factory.warga(name="SITI AMINAH", female=True), factory.warga(name="BUDI SANTOSO")
    login_as(first)
    key, html = open_form(client)
    owner = owner_of(html)
    client.post("/logout")
    login_as(second)
    resp = send_kept(client, key, kept_form(key, owner), headers={})
    assert resp.status_code == 422
    assert "diisi dengan akun lain" in resp.get_data(as_text=True)
    assert _count(LetterRequest) == 0 and _count(RequestAttachment) == 0


def test_a_kept_form_passes_csrf_with_the_token_asked_for_when_sending(make_app):
    """The token stored with the form is from the session it was typed in: after that session ended (its cookie
    expired, then the person signed in again) it is refused, and the fresh one from /warga/sinyal is accepted."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        make_profile()
        make_service()
        user = Factory().warga()
        Factory().staff(Role.RT_HEAD, rt="001", rw="001")
        db.session.commit()
        nik = user.resident.nik
    client = app.test_client()

    def sign_in():
        page = client.get("/login").get_data(as_text=True)
        resp = client.post("/login", data={"identifier": nik, "password": PASSWORD, "csrf_token": csrf_from(page)})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:400]

    sign_in()
    html = client.get("/warga/ajukan/domisili").get_data(as_text=True)
    key, owner, stored_token = re.search(r'name="kunci" value="([^"]+)"', html).group(1), owner_of(html), \
        csrf_from(html)
    # the session ends (its cookie expired after PERMANENT_SESSION_LIFETIME): a fresh browser session
    client = app.test_client()
    # signed out: the phone learns it must ask the person to sign in (the form stays on the phone)
    assert client.get("/warga/sinyal", headers={"Accept": "application/json"}).status_code == 401
    sign_in()
    stale = send_kept(client, key, kept_form(key, owner, csrf_token=stored_token))
    assert stale.status_code == 400
    fresh = client.get("/warga/sinyal", headers={"Accept": "application/json"}).json
    assert fresh["owner"] == owner
    resp = send_kept(client, key, kept_form(key, owner, csrf_token=fresh["csrf"]))
    assert resp.status_code == 201
    with app.app_context():
        assert _count(LetterRequest) == 1
