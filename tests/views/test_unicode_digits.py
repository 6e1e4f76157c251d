"""Digits from other keyboards in every digit field: full-width (１２３) and superscript (²) digits are read as
0–9 (Unicode NFKC), other scripts' digits (Arabic-Indic ٣) get a clear message. Never a 500 (the test app
raises what would be one), never a second account for a NIK that already has one."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, User
from sempelmas.models.complaints import Complaint
from sempelmas.models.profile import KelurahanProfile, Official
from sempelmas.models.requests import LetterRequest
from sempelmas.models.residents import Resident
from sempelmas.services.kelurahan.demo import seed_profile
from sempelmas.services.people import password_resets
from tests.conftest import PASSWORD, jpeg_bytes, login

NIK = "3576034403920077"
KK = "3576031203150077"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def full_width(s: str) -> str:
    return s.translate(FULL_WIDTH)


def arabic(s: str) -> str:
    return s.translate(ARABIC_INDIC)


def is_arabic(s: str) -> bool:
    return any("٠" <= c <= "٩" for c in s)


def superscript_at(s: str, *positions: int) -> str:
    chars = list(s)
    for i in positions:
        chars[i] = chars[i].translate(SUPERSCRIPT)
    return "".join(chars)


# the same NIK as typed from other keyboards; a superscript in the month (digits 9–10) crashed int()
SAME_NIK = {
    "full-width": full_width(NIK),
    "superscript-month": superscript_at(NIK, 9),
    "superscript-serial": superscript_at(NIK, 15),
}
# Arabic-Indic digits in the date part passed str.isdigit() and int() and were stored as another NIK
OTHER_SCRIPT_NIK = {"arabic-indic": arabic(NIK), "arabic-indic-day": NIK[:6] + arabic(NIK[6:8]) + NIK[8:]}

FORM = {
    "nik": NIK, "kk_number": KK, "full_name": "Rina Ayu", "birth_place": "Mojokerto", "birth_date": "1992-03-04",
    "gender": "P", "address": "Jl. Empunala 7", "rt": "2", "rw": "1", "phone": "0812 3456 7890", "email": "",
    "password": "sandi-rina-1", "password2": "sandi-rina-1", "consent": "y",
}


def post_register(client, **changes):
    data = {**FORM, **changes, "ktp_photo": (io.BytesIO(jpeg_bytes()), "ktp.jpg")}
    return client.post("/daftar", data=data, content_type="multipart/form-data")


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


@pytest.mark.parametrize("typed", list(SAME_NIK.values()), ids=list(SAME_NIK))
def test_registering_an_existing_nik_typed_in_other_digits_is_refused_as_taken(client, factory, typed):
    factory.warga(nik=NIK, female=True, birth=date(1992, 3, 4))
    resp = post_register(client, nik=typed)
    assert resp.status_code == 422
    assert "NIK ini sudah terdaftar" in resp.get_data(as_text=True)
    assert user_count() == 1


@pytest.mark.parametrize("typed", list(OTHER_SCRIPT_NIK.values()), ids=list(OTHER_SCRIPT_NIK))
def test_a_nik_in_another_scripts_digits_gets_a_clear_message(client, factory, typed):
    factory.warga(nik=NIK, female=True, birth=date(1992, 3, 4))
    resp = post_register(client, nik=typed)
    assert resp.status_code == 422
    assert "NIK hanya boleh berisi angka 0–9." in resp.get_data(as_text=True)
    assert user_count() == 1
    assert db.session.scalar(select(func.count()).select_from(Resident)) == 1


def test_full_width_and_superscript_digits_are_stored_as_plain_digits(client):
    resp = post_register(client, nik=full_width(NIK), kk_number=superscript_at(KK, 9), phone=full_width("081234567890"),
                         rt="²", rw=full_width("1"))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    user = db.session.scalar(select(User))
    reg = user.registration
    assert (reg.nik, reg.kk_number, reg.rt, reg.rw) == (NIK, KK, "002", "001")
    assert user.phone == "+6281234567890"
    assert user.nik == NIK  # the register entry is linked at verification (issue 12 §2); the NIK is the plain one


@pytest.mark.parametrize("field,value,message", [
    ("kk_number", arabic(KK), "Nomor KK hanya boleh berisi angka 0–9."),
    ("phone", arabic("081234567890"), "Nomor HP hanya boleh berisi angka 0–9."),
    ("rt", arabic("3"), "Isi dengan angka, contoh: 001."),
    ("rw", "¹²³⁴", "Isi dengan angka, contoh: 001."),
])
def test_other_digit_fields_of_the_registration_name_the_problem(client, field, value, message):
    resp = post_register(client, **{field: value})
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert user_count() == 0


@pytest.mark.parametrize("typed", [*SAME_NIK.values(), *OTHER_SCRIPT_NIK.values()],
                         ids=[*SAME_NIK, *OTHER_SCRIPT_NIK])
def test_the_live_nik_check_answers_every_spelling(client, typed):
    html = client.get("/daftar/cek-nik", query_string={"nik": typed}).get_data(as_text=True)
    if is_arabic(typed):
        assert "angka 0–9" in html
    else:
        assert "Format NIK benar" in html and "Jawa Timur" in html


def test_a_pendamping_cannot_register_an_existing_nik_in_full_width_digits(client, factory, login_as):
    factory.warga(nik=NIK, female=True, birth=date(1992, 3, 4))
    login_as(factory.staff(Role.ASSISTANT, "karangtaruna"))
    data = {**FORM, "nik": full_width(NIK), "phone": "", "password": "", "password2": ""}
    resp = client.post("/warga/pendamping/baru", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422 and "sudah terdaftar" in resp.get_data(as_text=True)
    assert user_count() == 2  # the owner and the pendamping


@pytest.mark.parametrize("typed", [*SAME_NIK.values(), *OTHER_SCRIPT_NIK.values()],
                         ids=[*SAME_NIK, *OTHER_SCRIPT_NIK])
def test_password_reset_reads_the_nik_in_any_spelling(app, factory, typed):
    owner = factory.warga(nik=NIK, female=True, birth=date(1992, 3, 4))
    code = password_resets.issue_reset_code(factory.staff(Role.STAFF, "loket"), owner)
    db.session.commit()
    resp = app.test_client().post("/lupa-sandi", data={"nik": typed, "code": code, "password": "sandi-baru-55",
                                                       "password2": "sandi-baru-55"})
    html = resp.get_data(as_text=True)
    if is_arabic(typed):
        assert resp.status_code == 200 and "NIK hanya boleh berisi angka 0–9." in html
    else:
        assert resp.status_code == 303
        assert login(app.test_client(), NIK, "sandi-baru-55").status_code == 302


def test_login_by_nik_in_full_width_digits(app, factory):
    factory.warga(nik=NIK, female=True, birth=date(1992, 3, 4))
    assert login(app.test_client(), full_width(NIK), PASSWORD).status_code == 302


# ------------------------------------------------------------------ a service's own digit fields

FIELDS = """keperluan | Keperluan | text | ya
jam | Jam kejadian | time | tidak
jumlah | Jumlah anak | number | tidak
nik_saksi | NIK saksi | nik | tidak"""


@pytest.fixture
def service_form(app, factory, login_as, client):
    from tests.request_factory import make_profile
    from tests.views.test_resident_requests import make_service

    make_profile()
    make_service(fields=FIELDS, requirements="kk | Fotokopi KK | ya | ya")
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    login_as(factory.warga(name="SITI AMINAH", female=True))
    html = client.get("/warga/ajukan/domisili").get_data(as_text=True)
    key = re.search(r'name="kunci" value="([^"]+)"', html).group(1)

    def post(**answers):
        data = {"f_keperluan": "Melamar pekerjaan", "kunci": key, "asli_kk": "1", "kirim": "1", **answers}
        return client.post(f"/warga/ajukan/domisili?kunci={key}", data=data, content_type="multipart/form-data")

    return post


def _field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<p class="error" id="err-f_(\w+)">([^<]+)</p>', html))


def test_a_service_field_validated_as_nik_number_and_time_reads_full_width_and_superscript(service_form):
    resp = service_form(f_nik_saksi=superscript_at(NIK, 9), f_jumlah=full_width("2"), f_jam=full_width("08:30"))
    assert resp.status_code in (200, 303), resp.get_data(as_text=True)[:2000]
    assert _field_errors(resp.get_data(as_text=True)) == {}


@pytest.mark.parametrize("answers,field,message", [
    ({"f_nik_saksi": arabic(NIK)}, "nik_saksi", "NIK hanya boleh berisi angka 0–9."),
    ({"f_jumlah": arabic("2")}, "jumlah", "Harus berupa bilangan bulat."),
    ({"f_jumlah": "99999999999999999999"}, "jumlah", "Harus berupa bilangan bulat."),
    ({"f_jam": arabic("08") + ":30"}, "jam", "Jam tidak valid"),
])
def test_a_service_field_in_other_digits_gets_its_message(service_form, answers, field, message):
    resp = service_form(**answers)
    assert resp.status_code == 422
    assert _field_errors(resp.get_data(as_text=True))[field].startswith(message)
    assert db.session.scalar(select(func.count()).select_from(LetterRequest)) == 0


# ------------------------------------------------------------------ staff and admin digit fields

def test_an_officials_nip_in_full_width_digits_is_stored_plain_and_arabic_is_refused(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN, "adm"))
    data = {"name": "Drs. X", "position": "lurah", "position_title": "Lurah Jagalan", "user_id": "0",
            "sort_order": full_width("1"), "active": "y"}
    bad = client.post("/admin/pejabat", data={**data, "nip": arabic("197501012000031001")})
    assert bad.status_code == 422 and "NIP 18 digit" in bad.get_data(as_text=True)
    huge = client.post("/admin/pejabat", data={**data, "nip": "", "sort_order": "9" * 30})
    assert huge.status_code == 422 and "bilangan bulat" in huge.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Official)) == 0
    ok = client.post("/admin/pejabat", data={**data, "nip": full_width("19750101 200003 1 001")})
    assert ok.status_code == 303
    official = db.session.scalar(select(Official))
    assert official.nip == "197501012000031001" and official.sort_order == 1


def test_the_profiles_postcode_and_region_code_in_full_width_digits_are_stored_plain(client, factory, login_as):
    seed_profile()
    db.session.commit()
    login_as(factory.staff(Role.ADMIN, "adm"))
    from tests.views.test_admin_views import PROFILE

    bad = client.post("/admin/profil", data={**PROFILE, "postcode": arabic("61316")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "Kode pos 5 digit" in bad.get_data(as_text=True)
    ok = client.post("/admin/profil", data={**PROFILE, "postcode": full_width("61316"),
                                            "region_code": full_width("35.76.03.1004")},
                     content_type="multipart/form-data")
    assert ok.status_code == 303, ok.get_data(as_text=True)[:2000]
    profile = db.session.scalar(select(KelurahanProfile))
    assert (profile.postcode, profile.region_code) == ("61316", "35.76.03.1004")


def test_admin_rt_numbers_for_a_new_rt_head_read_full_width_digits(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN, "adm"))
    bad = client.post("/admin/akun", data={"username": "rt07", "full_name": "Pak RT 7", "password": "sandi-rt-07",
                                           "roles": ["rt"], "rt": arabic("7"), "rw": "2"})
    assert bad.status_code == 422 and "Angka 1–3 digit" in bad.get_data(as_text=True)
    ok = client.post("/admin/akun", data={"username": "rt07", "full_name": "Pak RT 7", "password": "sandi-rt-07",
                                          "roles": ["rt"], "rt": full_width("7"), "rw": "²"})
    assert ok.status_code == 303
    assert db.session.scalar(select(User).where(User.username == "rt07")).grant(Role.RT_HEAD).scope_label == \
        "RT 007 / RW 002"


def test_staff_change_a_kk_number_typed_in_full_width_digits(client, factory, login_as):
    person = factory.resident(nik=NIK, female=True, birth=date(1992, 3, 4))
    login_as(factory.staff(Role.STAFF, "pet"))
    bad = client.post(f"/petugas/penduduk/{person.id}", data={"kk_number": arabic("3576031203150099")})
    assert "Nomor KK hanya boleh berisi angka 0–9." in bad.get_data(as_text=True)
    client.post(f"/petugas/penduduk/{person.id}", data={"kk_number": full_width("3576031203150099")})
    db.session.expire_all()
    assert db.session.get(Resident, person.id).kk_number == "3576031203150099"


# ------------------------------------------------------------------ lookups by number

def test_a_complaint_code_and_a_tracking_number_are_found_in_full_width(app, client, factory, login_as):
    from sempelmas.services.accountability import complaints

    complaint, _created = complaints.file_complaint(
        complaints.Filing(name="Agus", phone="+6285712345678", category="pelayanan", subject="Antrean",
                          body="Antrean lama sekali."),
        idempotency_key=None)
    db.session.commit()
    resp = client.get("/pengaduan/lacak", query_string={"kode": full_width(complaint.code.lower())})
    assert resp.status_code == 303 and resp.location.endswith(f"/pengaduan/{complaint.code}")
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 1

    from sempelmas.services.requests import submission as requests_service
    from tests.request_factory import make_profile, make_service, submit

    make_profile()
    make_service()
    req = submit(factory.warga())
    db.session.commit()
    assert requests_service.find_by_tracking_number(full_width(req.tracking_number.lower())).id == req.id
    login_as(factory.staff(Role.STAFF, "pet"))
    found = client.get("/petugas/permohonan", query_string={"status": "semua", "q": full_width(req.tracking_number)})
    assert req.tracking_number in found.get_data(as_text=True)


def test_staff_search_the_register_by_a_full_width_nik(client, factory, login_as):
    factory.resident(nik=NIK, name="RINA AYU", female=True, birth=date(1992, 3, 4))
    login_as(factory.staff(Role.STAFF, "pet"))
    html = client.get("/petugas/penduduk", query_string={"q": full_width(NIK)}).get_data(as_text=True)
    assert "RINA AYU" in html
    assert client.get("/petugas/penduduk", query_string={"q": arabic(NIK)}).status_code == 200


def test_a_pending_account_still_shows_for_verification_after_a_full_width_registration(client, factory):
    post_register(client, nik=full_width(NIK))
    user = db.session.scalar(select(User))
    assert user.status == AccountStatus.PENDING and user.registration.nik == NIK
