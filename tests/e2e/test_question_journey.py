"""Journey at 360 px: a resident asks about her request ("Tanya petugas"), a photo that is not one refused with
the question kept; staff see the unread badge in the nav and the queue and answer in place; the resident's home
shows the unread answer, she reads it, the badge goes; the office's phone and WhatsApp are one tap away, and
staff, polling, see her next question arrive without reloading."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.profile import KelurahanProfile
from sempelmas.models.questions import RequestMessage
from tests.conftest import Factory
from tests.e2e.helpers import Actor, photo, query
from tests.request_factory import make_service, submit

QUESTION = "Apakah fotokopi KK harus dilegalisir dulu?"
ANSWER = "Tidak perlu, Bu. Fotokopi biasa cukup."


def _setup(app) -> tuple[str, str]:
    with app.app_context():
        profile = db.session.scalar(select(KelurahanProfile))
        profile.phone, profile.whatsapp = "(0321) 495123", "+6281234500000"
        make_service(needs_rt=False)
        factory = Factory()
        resident = factory.warga(name="SITI AMINAH", female=True)
        tn = submit(resident).tracking_number
        factory.staff(Role.STAFF, "petugas1")
        db.session.commit()
        nik = resident.resident.nik
        db.session.remove()
    return nik, tn


def test_a_question_and_its_answer_on_phones(browser, browser_context_args, live_app, shots, tmp_path):
    nik, tn = _setup(live_app)
    resident = Actor(browser.new_context(**browser_context_args), "warga", prefix="question-journey")
    staff = Actor(browser.new_context(**browser_context_args), "petugas", fake_clock=True,
                  prefix="question-journey")

    # the resident: her request page leads to the thread; the office is one tap away
    resident.log_in(nik)
    page = resident.page
    page.goto(f"/warga/permohonan/{tn}")
    expect(page.locator("#office-phone")).to_have_attribute("href", "tel:+62321495123")
    expect(page.locator("#office-whatsapp")).to_have_attribute("href", "https://wa.me/6281234500000")
    page.locator("#ask-link").click()
    expect(page).to_have_url(re.compile(f"/warga/permohonan/{tn}/tanya$"))
    expect(page.locator("#no-messages")).to_be_visible()

    # a "photo" that is not one: refused, the question stays in the box
    fake = tmp_path / "kk.jpg"
    fake.write_bytes(b"<html>bukan foto</html>" * 50)
    page.get_by_label("Pesan").fill(QUESTION)
    page.get_by_label("Foto (boleh kosong)").set_input_files(str(fake))
    page.get_by_role("button", name="Kirim").click()
    expect(page.locator("#photo-error")).to_contain_text("Foto kk.jpg ditolak")
    expect(page.get_by_label("Pesan")).to_have_value(QUESTION)
    resident.check_screen(shots, "photo-refused")

    page.get_by_label("Foto (boleh kosong)").set_input_files(photo(tmp_path / "kk-asli.jpg", (200, 190, 170)))
    page.get_by_role("button", name="Kirim").click()
    expect(page.locator("#messages .msg-warga")).to_contain_text(QUESTION)
    expect(page.get_by_label("Pesan")).to_have_value("")  # sent in place (htmx), a fresh form
    expect(page.locator("#messages img.thumb")).to_be_visible()
    resident.check_screen(shots, "asked")
    [(count,)] = query(live_app, select(db.func.count()).select_from(RequestMessage))
    assert count == 1

    # staff: the nav's badge, the queue's, the thread; the answer goes in place
    staff.log_in("petugas1")
    spage = staff.page
    spage.goto("/petugas/permohonan")
    expect(spage.locator("#questions-count")).to_have_text(re.compile(r"^1"))
    queue_item = spage.locator(".queue-item", has_text=tn)
    expect(queue_item.get_by_role("link", name="1 pertanyaan baru")).to_be_visible()
    staff.check_screen(shots, "staff-queue")
    queue_item.get_by_role("link", name="1 pertanyaan baru").click()
    expect(spage.locator("#messages .msg-warga")).to_contain_text(QUESTION)
    expect(spage.locator("#messages .msg-warga .badge")).to_have_text("baru")
    spage.get_by_label("Pesan").fill(ANSWER)
    spage.get_by_role("button", name="Kirim").click()
    expect(spage.locator("#messages .msg-petugas")).to_contain_text(ANSWER)
    expect(spage.locator("#questions-count")).to_have_text("")  # read: the nav's badge is gone
    staff.check_screen(shots, "staff-answered")

    # the resident: home shows the unread answer; she opens it; the badge goes
    page.goto("/warga/")
    expect(page.locator("#unread-answers")).to_contain_text("1 jawaban baru")
    expect(page.locator("#bell-count")).not_to_be_empty()
    resident.check_screen(shots, "home-unread")
    page.locator("#unread-answers").get_by_role("link", name=re.compile(tn)).click()
    answer = page.locator("#messages .msg-petugas")
    expect(answer).to_contain_text(ANSWER)
    expect(answer.locator(".badge")).to_have_text("baru")
    resident.check_screen(shots, "answer-read")
    page.goto("/warga/")
    expect(page.locator("#unread-answers")).to_have_count(0)

    # she asks again; staff's open thread shows it at the next poll, without a reload
    page.goto(f"/warga/permohonan/{tn}/tanya")
    page.get_by_label("Pesan").fill("Terima kasih. Kapan bisa diambil?")
    page.get_by_role("button", name="Kirim").click()
    expect(page.locator("#messages .msg-warga")).to_have_count(2)
    spage.clock.run_for(31_000)
    expect(spage.locator("#messages .msg-warga")).to_have_count(2)
    expect(spage.get_by_label("Pesan")).to_be_visible()

    # the refused photo's answer is a 422 by design; nothing else went wrong on either phone
    assert [e for e in resident.errors if "status of 422" not in e] == [] and staff.errors == []


def test_asking_works_with_javascript_off(browser, browser_context_args, live_app, shots):
    nik, tn = _setup(live_app)
    resident = Actor(browser.new_context(**browser_context_args, java_script_enabled=False), "warga-nojs",
                     prefix="question-journey")
    resident.log_in(nik)
    page = resident.page
    page.goto(f"/warga/permohonan/{tn}/tanya")
    page.get_by_label("Pesan").fill(QUESTION)
    page.get_by_role("button", name="Kirim").click()
    expect(page).to_have_url(re.compile(f"/warga/permohonan/{tn}/tanya#pesan-[0-9]+$"))
    expect(page.locator("#messages .msg-warga")).to_contain_text(QUESTION)
    expect(page.get_by_text("Pesan terkirim.")).to_be_visible()
    resident.check_screen(shots, "nojs-asked")


def test_a_letters_link_is_shared_or_copied(browser, browser_context_args, live_app, shots):
    nik, tn = _setup(live_app)
    with live_app.app_context():
        from sempelmas.services.requests import submission
        from tests.letter_fixtures import make_letter

        req = submission.find_by_tracking_number(tn)
        letter = make_letter(req, req.applicant, pdf=b"%PDF-1.4 uji")
        verify_path, number = f"/v/{letter.verify_code}", letter.number
        db.session.remove()
    context = browser.new_context(**browser_context_args)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    resident = Actor(context, "warga-share", prefix="question-journey")
    resident.log_in(nik)
    page = resident.page
    page.goto(f"/warga/permohonan/{tn}")
    expect(page.locator("#share-url")).to_have_value(re.compile(f"{re.escape(verify_path)}$"))
    button = page.locator("#share-button")
    expect(button).to_be_visible()  # shown by the script; hidden without JavaScript
    # headless Chromium has no share sheet: the link is copied instead
    has_share = page.evaluate("typeof navigator.share === 'function'")
    if not has_share:
        button.click()
        expect(page.locator("#share-status")).to_have_text("Tautan disalin.")
        assert page.evaluate("navigator.clipboard.readText()").endswith(verify_path)
    assert button.get_attribute("data-share-title") == f"Surat domisili nomor {number}"
    resident.check_screen(shots, "share")
    assert resident.errors == []
