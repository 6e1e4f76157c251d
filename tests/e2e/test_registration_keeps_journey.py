"""Journey at 360 px (issue 15): a new resident's registration with a typo is kept whole (photo, passwords and every
field survive the refusal; fixing the typo creates the account with the photo), and a resident the register knows
types less."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Registration
from sempelmas.services.kelurahan.demo import make_nik
from tests.conftest import Factory, jpeg_bytes

NIK = make_nik(date(1992, 3, 4), True, 77)  # a woman born 4 March 1992
KK = "3576031203150077"
NAME = "Dewi Lestari"
PASSWORD = "sandi-warga-2026"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
HELD = "Foto KTP sudah diunggah — ganti?"


def _watch(page: Page) -> list[str]:
    errors: list[str] = []
    # a refused form answers 422 on purpose (web/forms.form_status): Chromium logs it, it is no fault
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "status of 422" not in msg.text else None)
    page.on("pageerror", lambda err: errors.append(str(err)))
    return errors


def _who(page: Page, birth: str = "1992-03-04") -> None:
    page.goto("/daftar")
    page.get_by_label("NIK", exact=True).fill(NIK)
    page.get_by_label("Nomor KK").fill(KK)
    page.get_by_label("Nama lengkap (sesuai KTP)").fill(NAME)
    page.get_by_label("Tanggal lahir").fill(birth)
    page.get_by_label("Tanggal lahir").blur()


def _account(page: Page, ktp: Path, phone: str) -> None:
    page.get_by_label("Nomor HP").fill(phone)
    page.get_by_label("Foto KTP").set_input_files(str(ktp))
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    again = page.get_by_label("Ulangi kata sandi")
    if again.is_visible():  # JavaScript off; with it the password is typed once (a "show" tick instead)
        again.fill(PASSWORD)
    page.get_by_label(re.compile("Saya setuju data pribadi saya diproses")).check()


def test_a_typo_keeps_the_photo_the_passwords_and_every_field(page: Page, live_app, shots, tmp_path):
    errors = _watch(page)
    ktp = tmp_path / "ktp.jpg"
    ktp.write_bytes(jpeg_bytes())
    taps = typed = 0

    _who(page)  # not in the register: the form asks for the rest, live
    typed += 4
    expect(page.locator("#register-missing")).to_contain_text("belum ditemukan di data kependudukan")
    expect(page.locator("#register-extra.htmx-settling")).to_have_count(0)  # the fields wired up (~20 ms)
    page.get_by_label("Tempat lahir").fill("Mojokerto")
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_label("Alamat (jalan, gang, nomor)").fill("Jl. Pemuda Gg. Mawar No. 7")
    page.get_by_label("RT", exact=True).fill("002")
    page.get_by_label("RW", exact=True).fill("001")
    typed += 4
    taps += 2  # the gender list, its choice
    _account(page, ktp, "0812 3456 789O")  # a letter O for a zero
    typed += 2
    taps += 3  # the photo (pick, shoot/choose), the consent
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "registration page scrolls sideways at 360 px"
    page.get_by_role("button", name="Daftar", exact=True).click()
    taps += 1

    # refused for the phone number alone: everything else is there, the photo too
    expect(page.locator("#phone-error")).to_be_visible()
    expect(page.get_by_text(HELD)).to_be_visible()
    thumb = page.get_by_role("img", name="Foto KTP yang sudah diunggah")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    expect(page.get_by_label("Nama lengkap (sesuai KTP)")).to_have_value(NAME)
    expect(page.get_by_label("Alamat (jalan, gang, nomor)")).to_have_value("Jl. Pemuda Gg. Mawar No. 7")
    expect(page.get_by_label("RT", exact=True)).to_have_value("002")
    expect(page.get_by_label("Kata sandi", exact=True)).to_have_value(PASSWORD)
    expect(page.get_by_label("Ulangi kata sandi")).to_have_value(PASSWORD)
    expect(page.get_by_label(re.compile("Saya setuju data pribadi saya diproses"))).to_be_checked()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "refused registration page scrolls sideways at 360 px"
    shots(page, "register-typo-kept")

    page.get_by_label("Nomor HP").fill("0812 3456 7890")  # the one fix, nothing picked or typed again
    typed += 1
    page.get_by_role("button", name="Daftar", exact=True).click()
    taps += 1
    expect(page.locator(".flash-success")).to_contain_text("Pendaftaran berhasil")
    with live_app.app_context():
        reg = db.session.scalars(select(Registration)).one()
        assert reg.ktp_photo and (Path(live_app.config["UPLOAD_DIR"]) / "ktp" / reg.ktp_photo).is_file()
        db.session.remove()
    own = page.request.get("/warga/ktp")
    assert own.status == 200 and own.body()[:2] == b"\xff\xd8"
    assert not errors, errors
    # without a register match: 11 fields typed (one of them again; the password once), 7 taps
    assert (typed, taps) == (11, 7)


def test_a_resident_the_register_knows_is_not_asked_the_address(page: Page, live_app, tmp_path):
    errors = _watch(page)
    with live_app.app_context():
        r = Factory().resident(nik=NIK, kk=KK, birth=date(1992, 3, 4), female=True, rt="004", rw="002")
        r.address = "Jl. Register No. 9"
        db.session.commit()
        db.session.remove()
    ktp = tmp_path / "ktp.jpg"
    ktp.write_bytes(jpeg_bytes())
    _who(page)
    expect(page.locator("#register-found")).to_contain_text("Data Anda ditemukan di data kependudukan")
    expect(page.get_by_label("Alamat (jalan, gang, nomor)")).to_have_count(0)
    assert "Jl. Register" not in page.content()
    page.get_by_text("Di mana nomor KK?").click()
    expect(page.get_by_role("img", name=re.compile("nomornya ditandai"))).to_be_visible()
    _account(page, ktp, "0812 3456 7890")
    page.get_by_role("button", name="Daftar", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("Pendaftaran berhasil")
    with live_app.app_context():
        reg = db.session.scalars(select(Registration)).one()
        assert (reg.address, reg.rt, reg.rw) == ("Jl. Register No. 9", "004", "002")
        db.session.remove()
    assert not errors, errors


def test_without_javascript_the_server_asks_for_the_address_when_the_register_does_not_know(
        browser, base_url, live_app, tmp_path):
    context = browser.new_context(base_url=base_url, java_script_enabled=False,
                                  viewport={"width": 360, "height": 740}, locale="id-ID")
    page = context.new_page()
    ktp = tmp_path / "ktp.jpg"
    ktp.write_bytes(jpeg_bytes())
    _who(page)
    expect(page.get_by_label("Alamat (jalan, gang, nomor)")).to_have_count(0)
    _account(page, ktp, "0812 3456 7890")
    page.get_by_role("button", name="Daftar", exact=True).click()
    expect(page.locator("#register-missing")).to_contain_text("belum ditemukan di data kependudukan")
    expect(page.get_by_text(HELD)).to_be_visible()
    page.get_by_label("Tempat lahir").fill("Mojokerto")
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_label("Alamat (jalan, gang, nomor)").fill("Jl. Pemuda 7")
    page.get_by_label("RT", exact=True).fill("2")
    page.get_by_label("RW", exact=True).fill("1")
    page.get_by_role("button", name="Daftar", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("Pendaftaran berhasil")
    with live_app.app_context():
        reg = db.session.scalars(select(Registration)).one()
        assert reg.address == "Jl. Pemuda 7" and reg.ktp_photo
        db.session.remove()
    context.close()
