"""Journey: a resident whose letter is out rates the service on a 360 px phone.

The bell invites her; the request page shows the "Nilai layanan kami" card; she leaves one question out and
gets a clear message with her other answers kept; she answers it and taps "Kirim" twice: one response is
stored, the card is gone and the form is not offered again. Staff then see her answers, without her name,
in the IKM report.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.survey import SurveyResponse
from tests.conftest import Factory
from tests.e2e.helpers import Actor, query
from tests.request_factory import make_service, submit
from tests.survey_helpers import finish

# what she taps per element (U1…U9): answer 4 everywhere except U3 (2) and U8 (3)
CHOICES = {"u1": "Sangat sesuai", "u2": "Sangat mudah", "u3": "Kurang cepat", "u4": "Gratis",
           "u5": "Sangat sesuai", "u6": "Sangat kompeten", "u7": "Sangat sopan dan ramah",
           "u8": "Berfungsi kurang maksimal", "u9": "Sangat baik"}


def test_resident_rates_a_finished_request_on_a_phone(browser, browser_context_args, live_app, shots):
    with live_app.app_context():
        make_service("domisili", needs_rt=False)
        f = Factory()
        siti = f.warga(name="SITI AMINAH", female=True)
        req = finish(submit(siti), f.staff(Role.STAFF, "loket1"), f.staff(Role.SIGNER, "lurah1"))
        nik, tracking = siti.resident.nik, req.tracking_number
        db.session.remove()

    resident = Actor(browser.new_context(**browser_context_args), "warga", prefix="survey-journey")
    staff = Actor(browser.new_context(**browser_context_args), "petugas", prefix="survey-journey")
    try:
        page = resident.page
        resident.log_in(nik)
        page.goto(f"/warga/permohonan/{tracking}")
        card = page.locator("#survey-card")
        expect(card).to_be_visible()
        expect(card.get_by_role("link", name="Isi survei kepuasan")).to_have_attribute(
            "href", f"/warga/permohonan/{tracking}/survei")
        resident.check_screen(shots, "01-card")
        page.goto("/notifikasi/")  # the invitation in the bell leads to the form
        page.get_by_role("button", name=re.compile("nilai layanan kami")).click()
        expect(page).to_have_url(re.compile(rf"/warga/permohonan/{tracking}/survei$"))
        expect(page.get_by_role("heading", name="Nilai layanan kami")).to_be_visible()

        # large answers: every option is a tap target of at least 44 px across the whole width
        option = page.locator("#u1-field .survey-option").first
        box = option.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 280, box
        for code, label in CHOICES.items():
            if code != "u7":  # she skips one question
                page.locator(f"#{code}-field").get_by_label(label, exact=True).check()
        page.get_by_label(re.compile("Saran dan masukan")).fill("Cepat, tetapi kabarnya baru lewat aplikasi.")
        resident.check_screen(shots, "02-form")
        page.get_by_role("button", name="Kirim penilaian").click()

        expect(page.locator("#survey-errors")).to_contain_text("Survei belum terkirim")
        expect(page.locator("#u7-error")).to_have_text("Pilih satu jawaban untuk unsur Perilaku Pelaksana.")
        expect(page.locator("#u3-field").get_by_label("Kurang cepat", exact=True)).to_be_checked()
        expect(page.get_by_label(re.compile("Saran dan masukan"))).to_have_value(
            "Cepat, tetapi kabarnya baru lewat aplikasi.")
        resident.check_screen(shots, "03-missing-answer")
        assert query(live_app, select(SurveyResponse.id)) == []

        page.locator("#u7-field").get_by_label(CHOICES["u7"], exact=True).check()
        send = page.get_by_role("button", name="Kirim penilaian")
        send.scroll_into_view_if_needed()
        b = send.bounding_box()
        page.mouse.dblclick(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)  # a double tap
        expect(page.locator(".flash-success")).to_contain_text("Terima kasih atas penilaian Anda")
        expect(page).to_have_url(re.compile(rf"/warga/permohonan/{tracking}$"))
        expect(page.locator("#survey-card")).to_have_count(0)
        resident.check_screen(shots, "04-thanks")
        rows = query(live_app, select(SurveyResponse.u1, SurveyResponse.u3, SurveyResponse.u8, SurveyResponse.comment))
        assert rows == [(4, 2, 3, "Cepat, tetapi kabarnya baru lewat aplikasi.")]

        page.goto(f"/warga/permohonan/{tracking}/survei")  # the link in the bell, once more
        expect(page.locator(".flash-success")).to_contain_text("sudah kami terima sebelumnya")
        assert len(query(live_app, select(SurveyResponse.id))) == 1

        spage = staff.page
        staff.log_in("loket1")
        spage.goto("/petugas/ikm")
        expect(spage.locator("#ikm-respondents")).to_have_text("1")
        # (4×7 + 2 + 3) / 9 × 25 = 91.67 → A
        expect(spage.locator("#ikm-converted")).to_have_text("91,67")
        expect(spage.locator("#ikm-category")).to_contain_text("A · Sangat Baik")
        expect(spage.locator("#ikm-u3")).to_have_class(re.compile("ikm-lowest"))
        expect(spage.locator("#ikm-comments")).to_contain_text("Cepat, tetapi kabarnya baru lewat aplikasi.")
        expect(spage.locator("main")).not_to_contain_text("Siti Aminah")
        staff.check_screen(shots, "05-report")
        # the one failed load expected: the form sent back with its missing answer (422)
        assert [e for e in resident.errors if "status of 422" not in e] == [], resident.errors
        assert staff.errors == [], staff.errors
    finally:
        for actor in (resident, staff):
            actor.context.close()
