"""Forms a resident fills on a phone ask for the right keyboard and camera, and every input has a label."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest

from sempelmas.services.kelurahan.demo import make_nik
from tests.request_factory import make_profile
from tests.views.test_resident_requests import make_service


class Inputs(HTMLParser):
    """The form controls of a page by id, and the ids that a label names (<label for>, or wrapped in one)."""

    def __init__(self, html: str):
        super().__init__()
        self.controls: dict[str, dict[str, str | None]] = {}
        self.labelled: set[str] = set()
        self._in_label = 0
        self.feed(html)

    def handle_endtag(self, tag):
        if tag == "label":
            self._in_label -= 1

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.labelled.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            key = a.get("id") or a.get("name") or f"?{len(self.controls)}"
            self.controls[key] = {"tag": tag, **a}
            if self._in_label:
                self.labelled.add(key)

    def unlabelled(self) -> list[str]:
        return [i for i, a in self.controls.items()
                if i not in self.labelled and not a.get("aria-label") and not a.get("aria-labelledby")]


def test_register_form_asks_for_digits_a_date_a_phone_number_and_a_camera_photo(client):
    page = Inputs(client.get("/daftar").get_data(as_text=True))
    c = page.controls
    for name in ("nik", "kk_number"):
        assert c[name]["inputmode"] == "numeric"
        assert c[name]["pattern"] == r"[0-9 .\-]{16,20}"  # digit groups may be typed with spaces
        assert c[name]["maxlength"] == "20"
    assert c["nik"]["hx-get"] == "/daftar/cek-nik"  # checked as typed; the form still posts without JS
    assert c["phone"]["type"] == "tel" and c["phone"]["autocomplete"] == "tel"
    assert c["birth_date"]["type"] == "date"
    # RT and RW are asked only when the register does not know the person (the live check, or on submit)
    assert "rt" not in c
    extra = Inputs(client.get("/daftar/cek-data?nik=3576034403920077&kk_number=3576031203150077"
                              "&birth_date=1992-03-04").get_data(as_text=True))
    assert extra.controls["rt"]["inputmode"] == "numeric" and extra.controls["rw"]["inputmode"] == "numeric"
    assert extra.unlabelled() == []
    assert c["ktp_photo"]["type"] == "file"
    assert c["ktp_photo"]["accept"] == "image/*" and c["ktp_photo"]["capture"] == "environment"
    assert c["email"]["type"] == "email"
    assert page.unlabelled() == []


def test_login_form_fills_from_the_password_manager_and_labels_its_inputs(client):
    page = Inputs(client.get("/login").get_data(as_text=True))
    c = page.controls
    # NIK, phone or a staff user name: letters must stay possible, so no numeric keyboard here
    assert c["identifier"]["autocomplete"] == "username" and c["identifier"]["autocapitalize"] == "none"
    assert c["password"]["type"] == "password" and c["password"]["autocomplete"] == "current-password"
    assert page.unlabelled() == []


def test_reset_form_asks_for_the_nik_with_a_numeric_keyboard(client):
    c = Inputs(client.get("/lupa-sandi").get_data(as_text=True)).controls
    assert c["nik"]["inputmode"] == "numeric" and c["nik"]["maxlength"] == "20"


@pytest.fixture
def resident_on_request_form(client, factory, login_as):
    make_profile()
    make_service()
    login_as(factory.warga(ktp=True))
    return client.get("/warga/ajukan/domisili")


def test_request_form_uses_date_and_numeric_inputs_and_takes_photos_or_pdfs(resident_on_request_form):
    resp = resident_on_request_form
    assert resp.status_code == 200
    page = Inputs(resp.get_data(as_text=True))
    c = page.controls
    assert c["f_tanggal"]["type"] == "date"
    assert c["f_jam"]["type"] == "time"
    assert c["f_jumlah"]["inputmode"] == "numeric"
    assert c["f_nik_saksi"]["inputmode"] == "numeric"
    assert c["f_nik_saksi"]["pattern"] == "[0-9]{16}" and c["f_nik_saksi"]["maxlength"] == "16"
    for code in ("kk", "ktp", "lain"):
        assert c[f"berkas_{code}"]["type"] == "file"
        # a photo from the camera or a PDF from the phone: no `capture`, which would hide the PDF picker
        assert c[f"berkas_{code}"]["accept"] == "image/*,application/pdf"
    assert page.unlabelled() == []


def test_a_refused_nik_is_tied_to_its_input(client):
    html = client.post("/daftar", data={"nik": "9976034403920077"}).get_data(as_text=True)
    nik = Inputs(html).controls["nik"]
    assert nik["aria-invalid"] == "true"
    assert "nik-error" in nik["aria-describedby"].split()
    assert 'id="nik-error"' in html and "Kode provinsi 99" in html


def test_live_nik_check_says_which_typed_detail_disagrees_with_the_nik(client):
    nik = make_nik(date(1992, 3, 4), True, 77)  # a woman born 4 March 1992
    html = client.get(f"/daftar/cek-nik?nik={nik}&gender=L&birth_date=1992-03-05",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Format NIK benar" in html
    assert "Jenis kelamin pada NIK (Perempuan) berbeda dengan yang diisi (Laki-laki)." in html
    assert "Tanggal lahir pada NIK (04-03-1992) berbeda dengan yang diisi (05-03-1992)." in html
    agreeing = client.get(f"/daftar/cek-nik?nik={nik}&gender=P&birth_date=1992-03-04").get_data(as_text=True)
    assert "Format NIK benar" in agreeing and "berbeda" not in agreeing
    # a half-typed date or an unknown gender code is not compared
    assert "berbeda" not in client.get(f"/daftar/cek-nik?nik={nik}&gender=X&birth_date=1992-03").get_data(as_text=True)


def test_the_live_nik_check_is_sent_the_birth_date_and_gender_too(client):
    nik = Inputs(client.get("/daftar").get_data(as_text=True)).controls["nik"]
    assert nik["hx-include"] == "#birth_date, #gender"
    assert "change from:#birth_date" in nik["hx-trigger"]
    # the gender is asked only when the register does not know the person: its list sends the check itself
    gender = Inputs(client.get("/daftar/cek-data?nik=3576034403920077&kk_number=3576031203150077"
                               "&birth_date=1992-03-04").get_data(as_text=True)).controls["gender"]
    assert gender["hx-get"] == "/daftar/cek-nik" and gender["hx-include"] == "#nik, #birth_date, #gender"
