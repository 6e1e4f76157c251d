"""A resident who reads English, on a 360 px phone: the switch in the header, then the service list and a request
form show the catalogue's English texts (service names, field labels and help, document names), the times
read "10 minutes" / "1 working day", and nothing scrolls sideways. Then the public verification page follows an
English browser and its own switch."""

from __future__ import annotations

from playwright.sync_api import expect

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.requests.catalogue_standard import seed_standard
from tests.conftest import Factory
from tests.e2e.helpers import FITS_360, Actor
from tests.letter_fixtures import make_letter
from tests.request_factory import submit

NIK = "3576034101900007"


def test_a_resident_reads_the_catalogue_in_english_at_360_px(live_app, browser, browser_context_args, shots):
    with live_app.app_context():
        seed_standard()
        Factory().staff(Role.RT_HEAD, rt="001", rw="001")
        Factory().warga(nik=NIK, name="SITI AMINAH", female=True)
        db.session.commit()
        db.session.remove()
    resident = Actor(browser.new_context(**browser_context_args), "warga", prefix="english-catalogue")
    resident.log_in(NIK)
    page = resident.page

    # the switch in the header, as on every page
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.goto("/warga/layanan")
    tiles = page.locator("ul.tiles")
    expect(tiles).to_contain_text("Certificate of Domicile")
    expect(tiles).to_contain_text("Marriage Cover Letter (N1)")
    expect(tiles).to_contain_text("10 minutes")
    expect(tiles).to_contain_text("1 working day")
    for indonesian in ("Surat Keterangan", "Surat Pengantar", "hari kerja", "menit", "Waktu layanan", "Gratis"):
        expect(tiles).not_to_contain_text(indonesian)
    resident.check_screen(shots, "services-en")

    page.get_by_role("link", name="Certificate of Business").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of Business")
    expect(page.get_by_label("Business name")).to_be_visible()
    expect(page.get_by_label("Line of business")).to_have_attribute("aria-describedby", "hint-f_bidang_usaha")
    expect(page.locator("#hint-f_bidang_usaha")).to_have_text("E.g. food stall, tailor")
    expect(page.get_by_label("Purpose")).to_be_visible()
    expect(page.locator("#hint-f_keperluan")).to_have_text("What the letter will be used for, e.g. a job application")
    expect(page.get_by_label("Copy of the tax number card (NPWP)")).to_be_attached()
    expect(page.get_by_label("Copy of the family card (KK)")).to_be_attached()
    form = page.locator("form[enctype='multipart/form-data']")
    for indonesian in ("Nama usaha", "Bidang usaha", "Keperluan", "Fotokopi", "Contoh:", "Untuk apa"):
        expect(form).not_to_contain_text(indonesian)
    assert page.evaluate(FITS_360), "the English form scrolls sideways at 360 px"
    resident.check_screen(shots, "form-en")

    # a choice field: the options in English, the value sent the Indonesian one the letter prints
    page.goto("/warga/ajukan/keterangan")
    kind = page.get_by_label("Kind of certificate")
    expect(kind.locator("option")).to_have_text(["— choose —", "Low income (SKTM)", "Loss", "Other"])
    kind.select_option(label="Loss")
    assert kind.input_value() == "Kehilangan"
    assert not resident.errors, resident.errors


def test_the_verification_page_follows_an_english_browser_and_its_switch(live_app, browser, browser_context_args,
                                                                         shots):
    with live_app.app_context():
        from tests.request_factory import make_service

        make_service()
        factory = Factory()
        letter = make_letter(submit(factory.warga()), factory.staff(Role.SIGNER, "ttd"))
        code = letter.verify_code
        db.session.remove()
    visitor = Actor(browser.new_context(**{**browser_context_args, "locale": "en-US"}), "bank",
                    prefix="english-verify")
    page = visitor.page
    page.goto(f"/v/{code}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#verdict")).to_have_text("VALID")
    assert page.evaluate(FITS_360), "the verification page scrolls sideways at 360 px"
    visitor.check_screen(shots, "verify-en")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    expect(page).to_have_url(f"{browser_context_args['base_url']}/v/{code}")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("#verdict")).to_have_text("SAH")
    visitor.check_screen(shots, "verify-id")
    assert not visitor.errors, visitor.errors
