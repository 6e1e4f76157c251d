"""The bell page in the reader's language; the language switch stores a signed-in user's choice (issue 15)."""

from __future__ import annotations

from flask_babel import force_locale

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.notifications import Notification
from sempelmas.services.requests.lifecycle import transition
from tests.request_factory import make_profile, make_service, submit
from tests.services.test_notice_language import name_in_english


def _setup(factory):
    make_profile()
    make_service()
    name_in_english("Domicile letter")
    resident = factory.warga(name="SITI AMINAH", female=True)
    rt = factory.staff(Role.RT_HEAD, "rt1", rt="001", rw="001")
    db.session.commit()
    return resident, rt


def test_the_language_switch_stores_a_signed_in_users_language(client, factory, login_as):
    me = factory.warga()
    assert me.lang == "id"
    client.post("/bahasa", data={"lang": "en", "next": "/warga/"})
    db.session.refresh(me)
    assert me.lang == "id"  # not signed in: only the cookie
    login_as(me)
    resp = client.post("/bahasa", data={"lang": "en", "next": "/warga/"})
    assert resp.status_code == 303
    db.session.refresh(me)
    assert me.lang == "en"
    client.post("/bahasa", data={"lang": "id", "next": "/warga/"})
    db.session.refresh(me)
    assert me.lang == "id"


def test_a_resident_who_chose_english_reads_in_english_what_happened_while_staff_used_indonesian(
        client, factory, login_as):
    resident, rt = _setup(factory)
    login_as(resident)
    client.post("/bahasa", data={"lang": "en", "next": "/notifikasi/"})
    with force_locale("id"):  # the RT head works in Indonesian
        req = submit(resident)
        transition(req, "endorse", actor=rt, note="Benar warga kami")
    db.session.commit()
    page = client.get("/notifikasi/").get_data(as_text=True)
    tn = req.tracking_number
    assert f"We have received request {tn} (Domicile letter). Status: Awaiting RT/RW cover letter." in page
    assert f"The status of request {tn} (Domicile letter) is now: Submitted — awaiting staff." in page
    assert "awaiting staff. Note: Benar warga kami" in page
    assert "sudah kami terima" not in page and "Surat domisili" not in page and "Catatan:" not in page


def test_a_resident_in_indonesian_reads_in_indonesian_what_happened_while_staff_used_english(
        client, factory, login_as):
    resident, rt = _setup(factory)
    with force_locale("en"):  # the RT head works in English
        req = submit(resident)
        transition(req, "endorse", actor=rt)
    db.session.commit()
    login_as(resident)
    page = client.get("/notifikasi/").get_data(as_text=True)
    tn = req.tracking_number
    assert f"Permohonan {tn} (Surat domisili) sudah kami terima. Status: Menunggu pengantar RT/RW." in page
    assert f"Status permohonan {tn} (Surat domisili) sekarang: Diajukan — menunggu petugas." in page
    assert "We have received" not in page and "Domicile letter" not in page


def test_old_rows_without_a_key_still_show_their_text_in_either_language(client, factory, login_as):
    me = factory.warga()
    db.session.add(Notification(user_id=me.id, kind="request.submit", message="Pesan lama tersimpan."))
    db.session.commit()
    login_as(me)
    assert "Pesan lama tersimpan." in client.get("/notifikasi/").get_data(as_text=True)
    client.post("/bahasa", data={"lang": "en", "next": "/notifikasi/"})
    assert "Pesan lama tersimpan." in client.get("/notifikasi/").get_data(as_text=True)


def test_a_new_phone_without_the_cookie_follows_the_stored_language(client, factory, login_as):
    me = factory.warga()
    me.lang = "en"
    db.session.commit()
    login_as(me)
    assert '<html lang="en">' in client.get("/notifikasi/").get_data(as_text=True)


def test_the_cookie_of_this_phone_wins_over_the_stored_language(client, factory, login_as):
    me = factory.warga()
    me.lang = "en"
    db.session.commit()
    login_as(me)
    client.set_cookie("lang", "id")
    assert '<html lang="id">' in client.get("/notifikasi/").get_data(as_text=True)
