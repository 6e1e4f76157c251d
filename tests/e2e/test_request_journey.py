"""Journey: one letter request from the phone of each person who handles it, through the real UI.

A resident asks for a letter needing the RT's pengantar (a camera photo attached, double tap on send),
the RT head endorses it, staff find it with the queue filters (no reload), look at the photo and the
pengantar, claim it and ask for one answer and one file to be fixed; the resident's open page notices
by itself (htmx polling), the resident fixes exactly that and resubmits; staff forward it to signing;
the resident's timeline and bell show every step. Another resident gets 404 for its page and its file.
Every actor has a browser context of their own; every screen is checked for sideways scrolling at 360 px.
"""

from __future__ import annotations

import io
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.notifications import Notification
from sempelmas.models.requests import Endorsement, LetterRequest, RequestAttachment
from tests.conftest import Factory
from tests.e2e.helpers import TIME, Actor, photo, query
from tests.request_factory import make_service

FIX_REASON = "Foto KK buram dan keperluan kurang jelas"


def slow_submissions(app) -> list[str]:
    """Answer every stored submission (the form's 303) a second late, like a slow mobile network;
    returns the list of the submissions the server answered so."""
    sent: list[str] = []
    inner = app.wsgi_app

    def wsgi(environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or not environ["PATH_INFO"].startswith("/warga/ajukan/"):
            return inner(environ, start_response)
        status: list[str] = []

        def remember(code, headers, exc_info=None):
            status.append(code)
            return start_response(code, headers, exc_info)

        body = list(inner(environ, remember))
        if status and status[0].startswith("303"):
            sent.append(environ["PATH_INFO"])
            time.sleep(1)
        return body

    app.wsgi_app = wsgi
    return sent


def test_request_journey_on_phones(browser, browser_context_args, live_app, shots, tmp_path):
    with live_app.app_context():
        make_service("domisili", needs_rt=True)
        f = Factory()
        siti = f.warga(name="SITI AMINAH", female=True, rt="001", rw="001")
        budi = f.warga(name="BUDI SANTOSO", rt="002", rw="001")
        f.staff(Role.RT_HEAD, "pakrt", rt="001", rw="001")
        f.staff(Role.STAFF, "loket1")
        siti_nik, budi_nik, siti_id = siti.resident.nik, budi.resident.nik, siti.id
        db.session.commit()
        db.session.remove()
    year = datetime.now(ZoneInfo("Asia/Jakarta")).year
    tracking = f"JGL-{year}-000001"

    resident = Actor(browser.new_context(**browser_context_args), "warga", fake_clock=True)
    rt = Actor(browser.new_context(**browser_context_args), "rt")
    staff = Actor(browser.new_context(**browser_context_args), "petugas")
    other = Actor(browser.new_context(**browser_context_args), "warga lain")
    actors = (resident, rt, staff, other)
    sent = slow_submissions(live_app)
    try:
        # ---------------------------------------------------------------- 1. the resident asks
        page = resident.page
        resident.log_in(siti_nik)
        page.get_by_role("link", name="Ajukan surat").click()
        expect(page.get_by_role("heading", name="Pilih layanan")).to_be_visible()
        resident.check_screen(shots, "01-services")
        page.get_by_role("link", name=re.compile("Surat domisili")).click()
        expect(page.get_by_role("heading", name="Surat domisili")).to_be_visible()
        page.get_by_label(re.compile(r"\(saya sendiri\)")).check()
        page.get_by_label("Keperluan").fill("Melamar pekerjaan")
        page.get_by_label("Fotokopi KK", exact=True).set_input_files(photo(tmp_path / "kk.jpg", (200, 180, 150)))
        resident.check_screen(shots, "02-form")
        page.get_by_role("button", name="Periksa sebelum dikirim").click()

        expect(page.get_by_role("heading", name="Periksa permohonan")).to_be_visible()
        thumb = page.get_by_role("img", name="Fotokopi KK")
        expect(thumb).to_be_visible()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        # the stored copy lost the GPS position the phone wrote into it, and was scaled down
        stored = page.request.get(thumb.get_attribute("src"))
        assert stored.ok and stored.headers["content-type"] == "image/jpeg"
        kept = Image.open(io.BytesIO(stored.body()))
        assert 0x8825 not in kept.getexif() and max(kept.size) <= 2000
        resident.check_screen(shots, "03-review")

        # a double tap, and one more tap while the (slow) answer is still on its way: the pressed button
        # is disabled at once (data-busy), so one submission leaves the phone; the server's idempotency key
        # (tests/views/test_resident_requests.py) covers a resend that gets past it
        # (the mouse, not a locator: a locator would wait for the first submission's page to load)
        send = page.get_by_role("button", name="Kirim permohonan")
        send.scroll_into_view_if_needed()
        box = send.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.dblclick(x, y)
        page.wait_for_timeout(400)
        page.mouse.click(x, y)
        expect(page.locator(".flash-success")).to_contain_text(f"Permohonan terkirim dengan nomor {tracking}")
        expect(page.get_by_text(tracking, exact=True)).to_be_visible()
        expect(page.locator("#status-label")).to_have_text("Menunggu pengantar RT/RW")
        timeline = page.locator("#timeline > li")
        expect(timeline).to_have_count(1)
        expect(timeline.first).to_contain_text("Menunggu pengantar RT/RW")
        expect(timeline.first).to_contain_text("Siti Aminah")
        expect(timeline.first).to_contain_text(TIME)
        resident.check_screen(shots, "04-submitted")
        detail_url = page.url
        assert len(sent) == 1, "the busy button let a second submission through"
        page.reload()  # a refresh after submitting re-reads the request page (post/redirect/get)
        expect(page.locator("#status-label")).to_have_text("Menunggu pengantar RT/RW")
        rows = query(live_app, select(LetterRequest.tracking_number))
        assert rows == [(tracking,)], "a double tap must create exactly one request"
        files = query(live_app, select(RequestAttachment.stored_name).where(RequestAttachment.request_id.is_not(None)))
        assert len(files) == 1
        first_file = files[0][0]

        # ---------------------------------------------------------------- 2. the RT head endorses
        rpage = rt.page
        rt.log_in("pakrt")
        rpage.get_by_role("link", name="RT/RW", exact=True).click()
        rpage.get_by_role("link", name=re.compile("permohonan menunggu pengantar Anda")).click()
        expect(rpage).to_have_url(re.compile(r"/rt/permohonan$"))
        card = rpage.locator(".rt-card", has_text=tracking)
        expect(card).to_contain_text("SITI AMINAH")
        rt.check_screen(shots, "05-rt-queue")
        card.get_by_role("link").click()
        expect(rpage.get_by_role("heading", name="Surat domisili")).to_be_visible()
        rpage.get_by_label("Catatan (boleh kosong)").fill("Benar warga RT 001, berdomisili sejak 2015")
        rpage.get_by_role("button", name="Beri pengantar", exact=True).click()
        expect(rpage.locator("#rt-panel .flash-success")).to_contain_text("permohonan diteruskan ke petugas")
        number = query(live_app, select(Endorsement.number))[0][0]
        expect(rpage.locator("#rt-panel")).to_contain_text(number)
        expect(rpage.locator("#rt-panel .flash-success")).to_contain_text(f"Pengantar nomor {number} tersimpan")
        rt.check_screen(shots, "06-rt-endorsed")
        rpage.get_by_role("link", name="Kembali ke antrean").click()
        expect(rpage.get_by_text("Tidak ada permohonan yang menunggu pengantar Anda.")).to_be_visible()
        expect(rpage.locator(".rt-card")).to_have_count(0)
        expect(rpage.get_by_role("link", name=tracking)).to_be_visible()  # under "Baru Anda tangani"
        expect(rpage.locator("main")).to_contain_text(f"Pengantar {number}")

        # ---------------------------------------------------------------- 3. staff review
        spage = staff.page
        staff.log_in("loket1")
        spage.get_by_role("link", name=re.compile("Antrean permohonan")).click()
        expect(spage.get_by_role("heading", name="Antrean permohonan")).to_be_visible()
        spage.evaluate("window.__same_page = true")
        spage.get_by_label("Status", exact=True).select_option(label="Diajukan — menunggu petugas")
        expect(spage).to_have_url(re.compile(r"status=diajukan"))
        spage.get_by_label("Cari nomor permohonan, NIK (16 angka) atau nama").fill("siti")
        expect(spage).to_have_url(re.compile(r"q=siti"))
        rows_shown = spage.locator(".queue-item")
        expect(rows_shown).to_have_count(1)
        expect(rows_shown.first).to_contain_text(tracking)
        assert spage.evaluate("window.__same_page") is True, "the filter reloaded the page"
        staff.check_screen(shots, "07-staff-queue-filtered")
        # back steps through the filters (htmx restores the whole page, its history cache being off)
        spage.go_back()
        expect(spage).not_to_have_url(re.compile(r"q=siti"))
        expect(spage).to_have_url(re.compile(r"status=diajukan"))
        expect(spage.get_by_role("heading", name="Antrean permohonan")).to_have_count(1)
        expect(spage.get_by_label("Cari nomor permohonan, NIK (16 angka) atau nama")).to_have_value("")
        expect(rows_shown).to_have_count(1)

        spage.get_by_role("link", name=tracking).click()
        expect(spage.get_by_role("heading", name=re.compile(tracking))).to_be_visible()
        doc = spage.locator("img.doc[alt='Fotokopi KK']")
        doc.scroll_into_view_if_needed()
        expect(doc).to_be_visible()
        spage.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=doc.element_handle())
        expect(spage.locator("main")).to_contain_text(number)
        expect(spage.locator("main")).to_contain_text("Benar warga RT 001")
        staff.check_screen(shots, "08-staff-review")

        spage.evaluate("window.__same_page = true")
        spage.get_by_role("button", name="Saya tangani").click()
        expect(spage.get_by_text("Permohonan ini sekarang Anda tangani.")).to_be_visible()
        expect(spage.get_by_text("Status: Sedang diperiksa")).to_be_visible()
        spage.locator("summary", has_text="Minta perbaikan").click()
        fix_form = spage.locator("form[action$='/perbaikan']")
        fix_form.get_by_label("Alasan").fill(FIX_REASON)
        fix_form.get_by_label("Keperluan", exact=True).check()
        fix_form.get_by_label("Fotokopi KK", exact=True).check()
        staff.check_screen(shots, "09-staff-ask-fix")
        fix_form.get_by_role("button", name="Minta perbaikan").click()
        expect(spage.get_by_text("Permohonan dikembalikan ke warga untuk diperbaiki.")).to_be_visible()
        expect(spage.get_by_text("Status: Perlu perbaikan")).to_be_visible()
        assert spage.evaluate("window.__same_page") is True

        # ---------------------------------------------------------------- 4. the resident's page notices
        assert page.url == detail_url
        page.evaluate("window.__same_page = true")
        expect(page.locator("#status-label")).to_have_text("Menunggu pengantar RT/RW")
        page.clock.fast_forward("00:31")  # the 30 s poll comes due
        expect(page.locator("#status-label")).to_have_text("Perlu perbaikan")
        expect(page.locator("#fix-request")).to_contain_text(FIX_REASON)
        expect(page.locator("#fix-request")).to_contain_text("Isian: Keperluan")
        expect(page.locator("#fix-request")).to_contain_text("Berkas: Fotokopi KK")
        assert page.evaluate("window.__same_page") is True, "the status refresh reloaded the page"
        resident.check_screen(shots, "10-needs-fix")

        page.get_by_role("link", name="Perbaiki dan ajukan ulang").click()
        expect(page.get_by_role("heading", name=f"Perbaiki permohonan {tracking}")).to_be_visible()
        expect(page.locator("#fix-reason")).to_contain_text(FIX_REASON)
        form = page.locator("form[action$='/perbaikan']")
        expect(form.locator("input:not([type=hidden]), textarea, select")).to_have_count(2)  # the named two
        expect(form.get_by_label("Tanggal kejadian")).to_have_count(0)
        form.get_by_label("Keperluan").fill("Melamar pekerjaan di PT Sumber Rejeki, Mojokerto")
        form.get_by_label("Fotokopi KK", exact=True).set_input_files(photo(tmp_path / "kk2.jpg", (90, 140, 200)))
        resident.check_screen(shots, "11-fix-form")
        form.get_by_role("button", name="Ajukan ulang").click()
        expect(page.locator(".flash-success")).to_contain_text(f"Permohonan {tracking} sudah diajukan ulang.")
        expect(page.locator("#status-label")).to_have_text("Sedang diperiksa")
        expect(page.locator("main")).to_contain_text("Melamar pekerjaan di PT Sumber Rejeki, Mojokerto")
        files = query(live_app, select(RequestAttachment.stored_name, RequestAttachment.superseded_at)
                      .where(RequestAttachment.request_id.is_not(None)).order_by(RequestAttachment.id))
        assert [name for name, _at in files][0] == first_file and len(files) == 2
        assert files[0][1] is not None and files[1][1] is None, "the new photo replaces the old one"

        # ---------------------------------------------------------------- 5. staff forward to signing
        spage.get_by_role("link", name="← Antrean permohonan").click()
        expect(spage.get_by_role("heading", name="Antrean permohonan")).to_be_visible()
        spage.get_by_label("Status", exact=True).select_option(label="Sedang diperiksa")
        expect(spage).to_have_url(re.compile(r"status=diperiksa"))
        expect(rows_shown).to_have_count(1)
        expect(rows_shown.first).to_contain_text(tracking)
        expect(rows_shown.first).to_contain_text("Sedang diperiksa")
        rows_shown.first.get_by_role("link", name=tracking).click()
        expect(spage.get_by_text("Status: Sedang diperiksa")).to_be_visible()
        spage.once("dialog", lambda dialog: dialog.accept())  # "Semua data dan berkas sudah diperiksa?"
        spage.get_by_role("button", name="Teruskan ke penandatangan").click()
        expect(spage.get_by_text("Permohonan diteruskan ke penandatangan.")).to_be_visible()
        expect(spage.get_by_text("Status: Menunggu tanda tangan")).to_be_visible()
        staff.check_screen(shots, "12-staff-forwarded")
        # the phone's back button returns to the filtered queue the filter pushed (a whole page, fresh)
        spage.go_back()
        expect(spage).to_have_url(re.compile(r"/petugas/permohonan\?.*status=diperiksa"))
        expect(spage.get_by_role("heading", name="Antrean permohonan")).to_be_visible()
        expect(spage.get_by_label("Status", exact=True)).to_have_value("diperiksa")
        expect(spage.get_by_text("Tidak ada permohonan yang cocok dengan filter ini.")).to_be_visible()

        page.reload()
        expect(page.locator("#status-label")).to_have_text("Menunggu tanda tangan")
        steps = [
            ("Menunggu pengantar RT/RW", "Siti Aminah"),
            ("Diajukan — menunggu petugas", "Pengguna pakrt (Ketua RT 001/001)"),
            ("Sedang diperiksa", "Pengguna loket1"),
            ("Perlu perbaikan", "Pengguna loket1"),
            ("Sedang diperiksa", "Siti Aminah"),
            ("Menunggu tanda tangan", "Pengguna loket1"),
        ]
        expect(timeline).to_have_count(len(steps))
        for item, (status, actor) in zip(timeline.all(), reversed(steps), strict=True):  # newest first
            expect(item.locator("strong")).to_have_text(status)
            expect(item).to_contain_text(actor)
            expect(item).to_contain_text(TIME)
        expect(timeline.nth(2)).to_contain_text(FIX_REASON)
        expect(timeline.nth(1)).to_contain_text("Isian diubah: Keperluan. Berkas diganti: Fotokopi KK.")
        assert page.evaluate("document.getElementById('timeline').reversed"), "newest first, numbered down to 1"
        unread = query(live_app, select(func.count()).select_from(Notification)
                       .where(Notification.user_id == siti_id, Notification.read_at.is_(None)))[0][0]
        assert unread >= 5
        expect(page.locator("#bell-count .bell-count")).to_have_text(str(unread))
        resident.check_screen(shots, "13-timeline")

        # ---------------------------------------------------------------- 6. nobody else's business
        other.log_in(budi_nik)
        response = other.page.goto(detail_url)
        assert response.status == 404
        expect(other.page.get_by_text(tracking)).to_have_count(0)
        for name, _at in files:
            response = other.page.goto(f"/berkas/{name}")
            assert response.status == 404, name
        other.check_screen(shots, "14-other-resident-404")

        errors = [e for a in actors for e in a.errors]
        assert errors == [], "\n".join(errors)
    finally:
        for actor in actors:
            actor.context.close()
        live_app.__dict__.pop("wsgi_app", None)  # back to Flask's own (the app is reused by other tests)
