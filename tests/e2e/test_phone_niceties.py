"""On a phone: the NIK is checked against the gender and birth date as they are filled in; a slow upload shows
that it is working and cannot be sent twice; a destructive action asks first, and no leaves everything as it was."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import Page, expect

from sempelmas.extensions import db
from sempelmas.services.kelurahan.demo import make_nik
from tests.conftest import PASSWORD, Factory, jpeg_bytes
from tests.request_factory import make_service, submit


def test_the_nik_check_follows_the_gender_and_birth_date_filled_in_after_it(page: Page, live_app):
    page.goto("/daftar")
    page.get_by_label("NIK").fill(make_nik(date(1992, 3, 4), True, 77))  # a woman born 4 March 1992
    check = page.locator("#nik-check")
    expect(check).to_contain_text("Format NIK benar")
    page.get_by_label("Nomor KK").fill("3576031203150077")  # not in the register: gender is asked (issue 15)
    page.get_by_label("Tanggal lahir").fill("1992-03-05")
    expect(check).to_contain_text("Tanggal lahir pada NIK (04-03-1992) berbeda dengan yang diisi (05-03-1992).")
    # the gender list has come in (htmx wires it up once the swap settles, ~20 ms: quicker than a thumb)
    expect(page.locator("#register-missing")).to_be_visible()
    expect(page.locator("#register-extra.htmx-settling")).to_have_count(0)
    page.get_by_label("Jenis kelamin").select_option("L")
    expect(check).to_contain_text("Jenis kelamin pada NIK (Perempuan) berbeda")
    page.get_by_label("Tanggal lahir").fill("1992-03-04")
    page.get_by_label("Jenis kelamin").select_option("P")
    expect(check).not_to_contain_text("berbeda")
    expect(page.get_by_label("NIK")).to_have_attribute("aria-describedby", re.compile(r"\bnik-check\b"))


def test_a_registration_in_flight_disables_its_button_and_says_it_is_uploading(page: Page, live_app, tmp_path):
    photo = tmp_path / "ktp.jpg"
    photo.write_bytes(jpeg_bytes())
    page.goto("/daftar")
    # the upload never leaves, as on a stalled mobile connection: the window (reached after the page's own
    # handler on document) cancels the submission, so the page stays as the person sees it mid-upload
    page.evaluate("window.addEventListener('submit', (ev) => ev.preventDefault())")
    page.get_by_label("NIK").fill(make_nik(date(1990, 1, 2), False, 5))
    page.get_by_label("Foto KTP").set_input_files(str(photo))
    button = page.get_by_role("button", name="Daftar", exact=True)
    expect(page.locator(".busy-note")).to_have_count(0)
    button.click()
    expect(button).to_be_disabled()
    expect(page.get_by_role("status").filter(has_text="Mengunggah…")).to_be_visible()
    # back from the next page (back/forward cache): the form is usable again
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
    expect(button).to_be_enabled()
    expect(page.locator(".busy-note")).to_have_count(0)


def test_withdrawing_a_request_asks_first_and_no_keeps_it(page: Page, live_app):
    with live_app.app_context():
        make_service("domisili", needs_rt=False)
        resident = Factory().warga(name="SITI AMINAH", female=True)
        nik = resident.resident.nik
        tracking = submit(resident).tracking_number
        db.session.commit()
        db.session.remove()
    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(nik)
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.goto(f"/warga/permohonan/{tracking}")
    asked: list[str] = []

    def say_no(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", say_no)
    page.get_by_role("button", name=re.compile("Batalkan permohonan")).click()
    assert asked and tracking in asked[0]
    expect(page).to_have_url(re.compile(f"/warga/permohonan/{tracking}$"))
    page.reload()
    expect(page.get_by_role("button", name=re.compile("Batalkan permohonan"))).to_be_visible()


def test_the_keyboard_focus_is_visible_on_the_header_and_in_the_page(page: Page, live_app):
    page.goto("/login")
    ring = """() => { const el = document.activeElement, s = getComputedStyle(el);
      return [el.textContent.trim(), s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; }"""
    page.keyboard.press("Tab")  # the skip link, shown on focus
    text, style, width, _color = page.evaluate(ring)
    assert text == "Langsung ke isi" and style == "solid" and width >= 2
    expect(page.get_by_role("link", name="Langsung ke isi")).to_be_in_viewport()
    page.keyboard.press("Tab")  # the brand in the green header: a white ring
    assert page.evaluate(ring)[1:] == ["solid", 3, "rgb(255, 255, 255)"]
    page.get_by_label("Kata sandi", exact=True).focus()
    page.keyboard.press("Shift+Tab")  # back to the NIK field, as a keyboard user would
    assert page.evaluate(ring)[1:3] == ["solid", 3]


def test_a_resident_moves_around_with_the_bottom_navigation_under_a_one_line_header(page: Page, live_app):
    with live_app.app_context():
        make_service("domisili", needs_rt=False)
        resident = Factory().warga(name="SITI AMINAH", female=True)
        nik = resident.resident.nik
        tracking = submit(resident).tracking_number
        db.session.commit()
        db.session.remove()
    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(nik)
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Halo")
    # the header takes one line, not two (~155 px before); the app's navigation sits at the bottom of the screen
    assert page.locator(".site-header").bounding_box()["height"] <= 64
    tabs = page.get_by_role("navigation", name="Menu aplikasi")
    box = tabs.bounding_box()
    viewport = page.viewport_size
    assert abs(box["y"] + box["height"] - viewport["height"]) <= 1 and box["width"] == viewport["width"]
    for link in tabs.get_by_role("link").all():
        assert link.bounding_box()["height"] >= 44
    expect(tabs.get_by_role("link", name="Beranda")).to_have_attribute("aria-current", "page")
    # the home says what is moving; the last thing on the page is not hidden behind the bar
    expect(page.locator("#moving")).to_contain_text(tracking)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    footer = page.locator(".site-footer").bounding_box()
    assert footer["y"] + footer["height"] <= tabs.bounding_box()["y"] + 1
    tabs.get_by_role("link", name="Permohonan").click()
    expect(page).to_have_url(re.compile(r"/warga/permohonan$"))
    expect(tabs.get_by_role("link", name="Permohonan")).to_have_attribute("aria-current", "page")
    tabs.get_by_role("link", name="Akun").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(tabs.get_by_role("link", name="Akun")).to_have_attribute("aria-current", "page")


def test_a_new_password_is_typed_once_and_shown_on_request(page: Page, browser, browser_context_args, live_app):
    page.goto("/daftar")
    password = page.get_by_label("Kata sandi", exact=True)
    expect(page.get_by_label("Ulangi kata sandi")).to_be_hidden()
    password.fill("sandi-warga-2026")
    expect(password).to_have_attribute("type", "password")
    page.get_by_label("Tampilkan kata sandi").check()
    expect(password).to_have_attribute("type", "text")  # seen as typed: no second box to catch a typo
    page.get_by_label("Tampilkan kata sandi").uncheck()
    expect(password).to_have_attribute("type", "password")
    # without JavaScript the form asks twice, as before
    context = browser.new_context(**{**browser_context_args, "java_script_enabled": False})
    try:
        plain = context.new_page()
        plain.goto("/daftar")
        expect(plain.get_by_label("Ulangi kata sandi")).to_be_visible()
        expect(plain.get_by_label("Tampilkan kata sandi")).to_have_count(0)
    finally:
        context.close()
