"""Journey: a resident registers on a phone, staff verify the account, the resident logs in again."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Page, expect

from sempelmas.extensions import db
from sempelmas.services.kelurahan.demo import make_nik
from tests.conftest import PASSWORD, Factory, jpeg_bytes

NIK = make_nik(date(1992, 3, 4), True, 77)  # a woman born 4 March 1992
KK = "3576031203150077"
NAME = "Dewi Lestari"
RESIDENT_PASSWORD = "sandi-warga-2026"
GENERIC_LOGIN_ERROR = "NIK/nama pengguna atau kata sandi salah."
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def log_in(page: Page, identifier: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(identifier)
    page.get_by_label("Kata sandi", exact=True).fill(password)
    page.get_by_role("button", name="Masuk").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Keluar", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    expect(page.get_by_text("Anda sudah keluar.")).to_be_visible()


def test_register_verify_login_logout(page: Page, live_app, shots, tmp_path):
    console_errors: list[str] = []
    page_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: page_errors.append(str(err)))

    with live_app.app_context():
        Factory().staff("petugas", "petugas1")
        db.session.commit()
        db.session.remove()
    ktp = tmp_path / "ktp.jpg"
    ktp.write_bytes(jpeg_bytes())

    # --- the resident finds the registration form from the home page
    page.goto("/")
    expect(page.locator(".brand-place")).to_contain_text("Jagalan")
    page.get_by_role("link", name="Daftar sebagai warga").click()
    expect(page).to_have_url(re.compile(r"/daftar$"))
    expect(page.get_by_role("heading", name="Daftar sebagai warga")).to_be_visible()

    # the live NIK check answers while typing
    nik_box = page.get_by_label("NIK", exact=True)
    nik_box.fill(NIK[:15])
    expect(page.locator("#nik-check")).to_contain_text("16 digit")
    nik_box.fill(NIK)
    expect(page.locator("#nik-check")).to_contain_text("Format NIK benar")
    expect(page.locator("#nik-check")).not_to_contain_text("16 digit")

    page.get_by_label("Nomor KK").fill(KK)
    page.get_by_label("Nama lengkap (sesuai KTP)").fill(NAME)
    page.get_by_label("Tanggal lahir").fill("1992-03-04")
    # not in the register: the rest of the person's data is asked (issue 15)
    page.get_by_label("Tempat lahir").fill("Mojokerto")
    page.get_by_label("Jenis kelamin").select_option("P")
    page.get_by_label("Alamat (jalan, gang, nomor)").fill("Jl. Pemuda Gg. Mawar No. 7")
    page.get_by_label("RT", exact=True).fill("002")
    page.get_by_label("RW", exact=True).fill("001")
    page.get_by_label("Nomor HP").fill("0812 3456 7890")
    page.get_by_label("Foto KTP").set_input_files(str(ktp))
    page.get_by_label("Kata sandi", exact=True).fill(RESIDENT_PASSWORD)
    page.get_by_label(re.compile("Saya setuju data pribadi saya diproses")).check()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "registration page scrolls sideways at 360 px"
    shots(page, "01-register-form")

    page.get_by_role("button", name="Daftar", exact=True).click()

    # --- lands on the resident home, waiting for verification
    expect(page.locator("#account-status")).to_contain_text("menunggu verifikasi")
    expect(page.get_by_role("heading", name=f"Halo, {NAME}")).to_be_visible()
    expect(page.locator(".flash-success")).to_contain_text("Pendaftaran berhasil")
    # before verification the page shows what was typed, and no family
    expect(page.locator("#declared-data")).to_contain_text(KK)
    expect(page.get_by_role("heading", name="Anggota keluarga dalam KK")).to_have_count(0)
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "resident home scrolls sideways at 360 px"
    shots(page, "02-resident-home-waiting")
    log_out(page)

    # --- staff verify the new account
    log_in(page, "petugas1", PASSWORD)
    page.get_by_role("link", name="Pelayanan").click()
    page.get_by_role("link", name=re.compile("akun menunggu verifikasi")).click()
    expect(page.get_by_role("heading", name="Akun menunggu verifikasi")).to_be_visible()
    page.get_by_role("link", name=NAME).click()
    expect(page.get_by_role("heading", name=NAME)).to_be_visible()
    expect(page.get_by_text(NIK, exact=True)).to_be_visible()
    photo = page.get_by_role("img", name=f"Foto KTP {NAME}")
    expect(photo).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    assert photo.evaluate("img => img.naturalWidth") > 0
    shots(page, "03-staff-account-review")
    page.get_by_role("button", name="Verifikasi akun").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Akun {NAME} sudah diverifikasi.")
    expect(page.get_by_role("link", name=NAME)).to_have_count(0)
    log_out(page)

    # --- a wrong password and an unknown user get the same message
    log_in(page, NIK, "bukan-sandinya")
    expect(page.locator(".form-error")).to_have_text(GENERIC_LOGIN_ERROR)
    log_in(page, "3576030101010001", RESIDENT_PASSWORD)
    expect(page.locator(".form-error")).to_have_text(GENERIC_LOGIN_ERROR)

    # --- the resident logs in by NIK: verified now, and the bell says so
    log_in(page, NIK, RESIDENT_PASSWORD)
    expect(page.locator("#account-status")).to_contain_text("sudah terverifikasi")
    expect(page.locator("#bell-count")).to_contain_text("1")
    expect(page.get_by_role("heading", name="Data diri")).to_be_visible()  # the register entry made at verification
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "resident home scrolls sideways at 360 px"
    shots(page, "04-resident-home-verified")
    page.get_by_role("link", name=re.compile("Notifikasi")).click()
    expect(page.get_by_text("Akun Anda sudah diverifikasi.")).to_be_visible()
    log_out(page)

    # --- and by phone number, written another way
    log_in(page, "0812-3456-7890", RESIDENT_PASSWORD)
    expect(page.get_by_role("heading", name=f"Halo, {NAME}")).to_be_visible()
    expect(page.locator("#account-status")).to_contain_text("sudah terverifikasi")
    log_out(page)

    csp = [m for m in console_errors if "Content Security Policy" in m]
    assert not csp, csp
    assert not page_errors, page_errors
