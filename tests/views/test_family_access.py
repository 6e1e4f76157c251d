"""A family's data stays with the family (issue 12 §2).

An outsider registers through the real form (/daftar), is logged in at once, and tries what the family's
data is worth: typing the family's KK number (any NIK, any name) or a family member's NIK from the
register. Until staff or the RT head verify the account it sees only what it typed itself; family
membership comes from the register or from that verification, never from a typed number. A rejected
registration never blocks the real owner of the NIK.
"""

from __future__ import annotations

import io
import json
import secrets
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, User
from sempelmas.services.kelurahan.demo import make_nik
from sempelmas.services.people import account_verification
from sempelmas.services.requests import attachments
from tests import request_factory as rf
from tests.conftest import PASSWORD, jpeg_bytes, login
from tests.letter_fixtures import make_letter

FAMILY_KK = "3576031201150007"
LETTER_PDF = b"%PDF-1.4 surat keluarga Santoso"


@pytest.fixture
def family(factory):
    """Budi (verified) and Sri (in the register, no account yet) on one KK: requests about both, a document
    and a signed letter."""
    rf.make_profile()
    rf.make_service()
    budi = factory.warga(kk=FAMILY_KK, name="BUDI SANTOSO")
    sri = factory.resident(kk=FAMILY_KK, name="SRI WAHYUNI", female=True, birth=date(1992, 3, 4))
    own = rf.submit(budi, key="keluarga-1")
    about_sri = rf.submit(budi, sri, key="keluarga-2")
    kk_photo = attachments.store(jpeg_bytes(), requirement_code="kk", owner=budi, request=own)
    db.session.commit()
    make_letter(own, budi, pdf=LETTER_PDF)
    return SimpleNamespace(budi=budi, sri=sri, own=own, about_sri=about_sri, kk_photo=kk_photo)


def register(client, *, nik: str, kk: str, name: str, phone: str = "0812 5555 0001", **changes):
    """The public registration form, filled in and sent as a phone would."""
    data = {"nik": nik, "kk_number": kk, "full_name": name, "birth_place": "Mojokerto",
            "birth_date": "1995-06-07", "gender": "L", "address": "Jl. Entah 9", "rt": "1", "rw": "1",
            "phone": phone, "email": "", "password": PASSWORD, "password2": PASSWORD, "consent": "y",
            "ktp_photo": (io.BytesIO(jpeg_bytes()), "ktp.jpg"), **changes}
    return client.post("/daftar", data=data, content_type="multipart/form-data")


def family_urls(f) -> list[str]:
    urls = [f"/berkas/{f.kk_photo.stored_name}"]
    for req in (f.own, f.about_sri):
        tn = req.tracking_number
        urls += [f"/warga/permohonan/{tn}", f"/warga/permohonan/{tn}/status", f"/warga/permohonan/{tn}/surat",
                 f"/warga/permohonan/{tn}/perbaikan", f"/warga/permohonan/{tn}/survei",
                 f"/warga/pengaduan/baru?permohonan={tn}"]
    return urls


def family_secrets(f, typed: str) -> list[str]:
    """What must not show on any page of an outsider: the family's names, KK number (unless the outsider
    typed it) and tracking numbers."""
    return [s for s in ["BUDI SANTOSO", "Budi Santoso", "SRI WAHYUNI", "Sri Wahyuni", FAMILY_KK,
                        f.own.tracking_number, f.about_sri.tracking_number] if s != typed]


def assert_sees_nothing_of_the_family(client, f, *, typed_kk: str):
    for url in family_urls(f):
        resp = client.get(url)
        resp.close()
        assert resp.status_code == 404, url
    for url in ["/warga/", "/warga/permohonan", "/warga/pengaduan/baru", "/warga/data-saya/unduh.json"]:
        page = client.get(url).get_data(as_text=True)
        leaked = [s for s in family_secrets(f, typed_kk) if s in page]
        assert not leaked, (url, leaked)
    tn = f.own.tracking_number
    assert client.post(f"/warga/permohonan/{tn}/batal", data={}).status_code == 404
    assert client.post(f"/warga/permohonan/{tn}/perbaikan",
                       data={"kunci": secrets.token_urlsafe(24)}).status_code == 404


def test_typing_the_familys_kk_number_shows_nothing_of_the_family(client, family):
    resp = register(client, nik=make_nik(date(1995, 6, 7), False, 901), kk=FAMILY_KK, name="Orang Asing")
    assert resp.status_code == 303
    # the home page shows what the registrant typed, the KK number included, but no family
    home = client.get("/warga/").get_data(as_text=True)
    assert "Orang Asing" in home and "BUDI SANTOSO" not in home
    for url in family_urls(family):
        resp = client.get(url)
        resp.close()
        assert resp.status_code == 404, url
    listed = client.get("/warga/permohonan").get_data(as_text=True)
    assert family.own.tracking_number not in listed and family.about_sri.tracking_number not in listed


def test_typing_a_register_nik_shows_neither_that_persons_kk_nor_the_family(client, family):
    resp = register(client, nik=family.sri.nik, kk="3576030101990001", name="Bukan Sri")
    assert resp.status_code == 303
    assert_sees_nothing_of_the_family(client, family, typed_kk="3576030101990001")
    home = client.get("/warga/").get_data(as_text=True)
    assert "3576030101990001" in home  # what the registrant typed, and only that
    squatter = db.session.scalar(select(User).where(User.full_name == "Bukan Sri"))
    assert squatter.resident_id is None and family.sri.full_name == "SRI WAHYUNI"


def test_the_kk_claimer_after_logging_in_again_still_sees_nothing(client, family):
    nik = make_nik(date(1995, 6, 7), False, 902)
    register(client, nik=nik, kk=FAMILY_KK, name="Orang Asing")
    client.post("/logout")
    assert login(client, nik).status_code == 302  # a waiting account logs in by the NIK it typed
    assert_sees_nothing_of_the_family(client, family, typed_kk=FAMILY_KK)


def test_the_family_still_sees_its_own_after_the_outsiders_registered(client, family, login_as):
    register(client, nik=family.sri.nik, kk=FAMILY_KK, name="Bukan Sri")
    client.post("/logout")
    login_as(family.budi)
    listed = client.get("/warga/permohonan").get_data(as_text=True)
    assert family.own.tracking_number in listed and family.about_sri.tracking_number in listed
    home = client.get("/warga/").get_data(as_text=True)
    assert "SRI WAHYUNI" in home and "Bukan Sri" not in home and "BUKAN SRI" not in home
    resp = client.get(f"/warga/permohonan/{family.own.tracking_number}/surat")
    assert resp.status_code == 200 and resp.data == LETTER_PDF


def test_a_rejected_squatter_never_blocks_the_real_owner(client, family, factory, login_as):
    register(client, nik=family.sri.nik, kk=FAMILY_KK, name="Bukan Sri", phone="0812 5555 0001")
    client.post("/logout")
    squatter = db.session.scalar(select(User).where(User.full_name == "Bukan Sri"))
    staff = factory.staff(Role.STAFF, "loket")
    account_verification.reject_account(staff, squatter, "KTP tidak cocok dengan orangnya")
    db.session.commit()

    # the real Sri registers with her own NIK: accepted, waiting for review
    resp = register(client, nik=family.sri.nik, kk=FAMILY_KK, name="Sri Wahyuni", phone="0812 5555 0002",
                    birth_date="1992-03-04", gender="P")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    sri_account = db.session.scalar(select(User).where(User.full_name == "Sri Wahyuni"))
    assert sri_account.status == AccountStatus.PENDING
    client.post("/logout")

    # staff see that another registration used the same NIK, and why it was turned down
    login_as(staff)
    review = client.get(f"/petugas/akun/{sri_account.id}").get_data(as_text=True)
    assert "Pendaftaran lain dengan NIK ini" in review
    assert "Bukan Sri" in review and "KTP tidak cocok dengan orangnya" in review
    pending = client.get("/petugas/akun").get_data(as_text=True)
    assert "NIK juga didaftarkan akun lain" in pending
    resp = client.post(f"/petugas/akun/{sri_account.id}/verifikasi", data={"note": ""})
    assert resp.status_code == 303
    assert sri_account.resident_id == family.sri.id  # verification links her register entry
    client.post("/logout")

    login_as(sri_account)
    listed = client.get("/warga/permohonan").get_data(as_text=True)
    assert family.about_sri.tracking_number in listed  # now she is family: the register says so


def test_two_waiting_registrations_of_one_nik_are_both_accepted_and_flagged(client, family):
    first = register(client, nik=family.sri.nik, kk=FAMILY_KK, name="Bukan Sri", phone="0812 5555 0001")
    client.post("/logout")
    second = register(client, nik=family.sri.nik, kk=FAMILY_KK, name="Sri Wahyuni", phone="0812 5555 0002")
    assert first.status_code == second.status_code == 303
    waiting = db.session.scalars(select(User).where(User.status == AccountStatus.PENDING)
                                 .order_by(User.id)).all()
    assert [u.full_name for u in waiting] == ["Bukan Sri", "Sri Wahyuni"]
    assert all(account_verification.register_match(u).other_registrations for u in waiting)


def test_the_export_of_an_unverified_account_holds_only_what_it_typed(client, family):
    register(client, nik=family.sri.nik, kk="3576030101990001", name="Bukan Sri")
    data = json.loads(client.get("/warga/data-saya/unduh.json").get_data(as_text=True))
    assert data["data_penduduk"] is None and data["keluarga_dalam_kk"] == []
    assert data["pendaftaran"]["nik"] == family.sri.nik and data["pendaftaran"]["nomor_kk"] == "3576030101990001"
