"""One phone number signs in one account: it is unique among active accounts wherever a phone is set, and a
phone that older data gives to several accounts tells the person how to sign in instead."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, User
from sempelmas.models.data_rights import DataRightsRequest
from sempelmas.services.accountability import data_corrections, data_rights
from sempelmas.services.people import account_login, accounts, staff_accounts
from tests.conftest import PASSWORD, jpeg_bytes, login

TAKEN = "Nomor HP ini sudah dipakai akun lain"
SHARED = "Nomor HP ini dipakai oleh lebih dari satu akun"
FORM = {
    "nik": "3576034403920077", "kk_number": "3576031203150077", "full_name": "Rina Ayu",
    "birth_place": "Mojokerto", "birth_date": "1992-03-04", "gender": "P", "address": "Jl. Empunala 7",
    "rt": "2", "rw": "1", "phone": "0812 3456 7890", "email": "", "password": "sandi-rina-1",
    "password2": "sandi-rina-1", "consent": "y",
}


def post_register(client, url="/daftar", **changes):
    data = {**FORM, **changes, "ktp_photo": (io.BytesIO(jpeg_bytes()), "ktp.jpg")}
    return client.post(url, data=data, content_type="multipart/form-data")


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_registering_with_a_phone_another_account_uses_is_refused_and_the_owner_still_logs_in(app, client, factory):
    owner = factory.warga(phone="+6281234567890")
    resp = post_register(client, phone="0812-3456-7890")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and TAKEN in html and "kantor kelurahan" in html
    assert 'value="Rina Ayu"' in html  # the rest of the form is kept
    assert users() == 1
    assert login(app.test_client(), "081234567890").status_code == 302
    assert account_login.authenticate("+62 812 3456 7890", PASSWORD).id == owner.id


def test_a_pendamping_cannot_give_someone_elses_phone_but_may_leave_it_empty(client, factory, login_as):
    factory.warga(phone="+6281234567890")
    login_as(factory.staff(Role.ASSISTANT, "karangtaruna"))
    taken = post_register(client, "/warga/pendamping/baru", phone="081234567890", password="", password2="")
    assert taken.status_code == 422 and TAKEN in taken.get_data(as_text=True)
    empty = post_register(client, "/warga/pendamping/baru", phone="", password="", password2="")
    assert empty.status_code == 303
    assert users() == 3


@pytest.mark.parametrize("status", [AccountStatus.REJECTED, AccountStatus.DISABLED])
def test_the_phone_of_a_rejected_or_disabled_account_is_free_and_signs_in_the_new_one(app, client, factory, status):
    factory.warga(phone="+6281234567890", status=status)
    assert post_register(client).status_code == 303
    new = db.session.scalar(select(User).where(User.registration.has(nik=FORM["nik"])))
    assert account_login.authenticate("081234567890", "sandi-rina-1").id == new.id


def test_staff_accounts_get_a_free_phone_only(factory):
    factory.warga(phone="+6281234567890")
    admin = factory.staff(Role.ADMIN, "adm")
    with pytest.raises(accounts.AccountError) as err:
        staff_accounts.create_staff_account("rt09", "Pak RT 9", "sandi-rt-09", [Role.STAFF], actor=admin,
                                      phone="0812 3456 7890")
    assert err.value.field == "phone" and TAKEN in err.value.message
    with pytest.raises(accounts.AccountError) as bad:
        staff_accounts.create_staff_account("rt09", "Pak RT 9", "sandi-rt-09", [Role.STAFF], actor=admin, phone="12")
    assert bad.value.field == "phone"
    u = staff_accounts.create_staff_account("rt09", "Pak RT 9", "sandi-rt-09", [Role.STAFF], actor=admin,
                                      phone="0812 9999 0000")
    assert u.phone == "+6281299990000"


def test_a_data_correction_to_another_accounts_phone_is_refused_when_asked_and_when_applied(app, client, factory,
                                                                                          login_as):
    factory.warga(phone="+6281234567890")
    budi = factory.warga(phone="+6285700000001")
    staff = factory.staff(Role.STAFF, "loket")
    login_as(budi)
    resp = client.post("/warga/data-saya/koreksi", data={"field": "phone", "value": "0812 3456 7890"})
    assert resp.status_code == 422 and TAKEN in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(DataRightsRequest)) == 0
    # asked while free, taken by someone else before staff apply it
    req = data_corrections.request_correction(budi, "phone", "081299990000", None)
    factory.warga(phone="+6281299990000")
    with pytest.raises(data_rights.DataRightsError) as err:
        data_corrections.apply_correction(req, staff, "081299990000")
    assert TAKEN in err.value.args[0]
    db.session.rollback()
    assert db.session.get(User, budi.id).phone == "+6285700000001"


def test_a_phone_older_data_gives_to_two_accounts_says_to_use_the_nik_or_username(app, factory):
    first = factory.warga(phone="+6281211112222")
    factory.warga(phone="+6281211112222", password="sandi-lain-22")
    client = app.test_client()
    right = client.post("/login", data={"identifier": "0812 1111 2222", "password": PASSWORD})
    html = right.get_data(as_text=True)
    assert right.status_code == 200 and SHARED in html and "NIK" in html and "nama pengguna" in html
    wrong = client.post("/login", data={"identifier": "0812 1111 2222", "password": "bukan-sandinya"})
    assert "NIK/nama pengguna atau kata sandi salah." in wrong.get_data(as_text=True)
    assert SHARED not in wrong.get_data(as_text=True)  # only someone who knows a password learns of it
    assert login(client, first.resident.nik).status_code == 302
