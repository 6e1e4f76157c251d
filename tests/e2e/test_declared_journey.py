"""Journey at 360 px: a self-registered resident (her register entry made from her registration: no religion,
marital status or occupation) asks for a domisili letter. The form reuses her registration KTP and asks what the
letter needs; the estimate names the RT step first; staff cannot forward until they checked the data (one value
corrected); the lurah sees which data came from her and who checked it; the signed PDF prints the checked values."""

from __future__ import annotations

import re
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.profile import Official
from sempelmas.models.requests import LetterRequest
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.requests import catalogue, endorsements
from tests.conftest import Factory
from tests.e2e.helpers import Actor, download, photo, signing_desk

PASSPHRASE = "passphrase-lurah-uji-2026"


def _domisili():
    data = {"code": "domisili", "name": "Surat Keterangan Domisili", "description": "", "who_may_request": "warga",
            "needs_rt_endorsement": True, "paper_pengantar_when_no_rt_account": True, "service_time_value": 1,
            "service_time_unit": "hari_kerja", "classification_code": "470", "letter_template": "domisili",
            "validity_days": None, "enabled": True, "sort_order": 1}
    reqs, _e = catalogue.parse_requirement_lines("kk | Fotokopi KK | ya | ya\nktp | Fotokopi KTP-el pemohon | ya | ya")
    fields, _e = catalogue.parse_field_lines("keperluan | Keperluan | text | ya")
    catalogue.save_service(None, data, reqs, fields)


def test_declared_data_journey_on_phones(browser, browser_context_args, live_app, base_url, shots, tmp_path):
    with live_app.app_context():
        lurah = signing_desk(live_app, tmp_path, base_url)
        official = db.session.scalar(select(Official).where(Official.user_id == lurah.id))
        letter_certs.issue_certificate(lurah, official, PASSPHRASE)
        _domisili()
        f = Factory()
        rt_head = f.staff(Role.RT_HEAD, "pakrt", rt="001", rw="001")
        f.staff(Role.STAFF, "loket1")
        warga = f.warga(name="DEWI LESTARI", female=True, source="verifikasi", religion=None, marital_status=None,
                        occupation=None, ktp=True)
        nik, rt_id = warga.resident.nik, rt_head.id
        db.session.commit()
        db.session.remove()
    tracking = f"JGL-{datetime.now(ZoneInfo('Asia/Jakarta')).year}-000001"
    resident, staff, signer = actors = [Actor(browser.new_context(**browser_context_args), name,
                                              prefix="declared-journey") for name in ("warga", "petugas", "lurah")]
    try:
        # ------------------------------------------------------------ the form: KTP on file, three questions
        page = resident.page
        resident.log_in(nik)
        page.goto("/warga/ajukan/domisili")
        expect(page.locator("#ktp-on-file")).to_contain_text("Foto KTP: sudah ada (dari pendaftaran akun) — ganti?")
        thumb = page.locator("#ktp-on-file img")
        thumb.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        expect(page.locator("#data-origin")).to_contain_text("dari pendaftaran akun Anda")
        expect(page.locator("#service-time")).to_contain_text("dihitung setelah pengantar RT/RW diberikan")
        page.get_by_label("Keperluan").fill("Membuka rekening bank")
        page.get_by_label("Agama").select_option("Islam")
        page.get_by_label("Status perkawinan").select_option("Belum kawin")
        page.get_by_label("Pekerjaan").fill("Karyawan swasta")
        page.get_by_label("Fotokopi KK", exact=True).set_input_files(photo(tmp_path / "kk.jpg", (200, 180, 150)))
        resident.check_screen(shots, "01-form-asks-what-is-missing")
        page.get_by_role("button", name="Periksa sebelum dikirim").click()
        expect(page.locator("#ktp-reused")).to_be_visible()
        expect(page.locator("#review")).to_contain_text("Karyawan swasta")
        resident.check_screen(shots, "02-review")
        page.get_by_role("button", name="Kirim permohonan").click()
        expect(page.locator(".flash-success")).to_contain_text(f"Permohonan terkirim dengan nomor {tracking}")
        expect(page.locator("#estimate")).to_contain_text("menunggu pengantar RT, lalu ±1 hari kerja di kantor")
        expect(page.locator("#files")).to_contain_text("Fotokopi KTP-el pemohon")
        resident.check_screen(shots, "03-waiting-for-rt")

        with live_app.app_context():  # the RT head's own journey is tests/e2e/test_letter_journeys.py
            req = db.session.scalar(select(LetterRequest))
            endorsements.endorse(req, db.session.get(type(lurah), rt_id))
            db.session.commit()
            db.session.remove()
        page.reload()
        expect(page.locator("#estimate")).to_contain_text("WIB")

        # ------------------------------------------------------------ staff: forwarding waits for the check
        spage = staff.page
        staff.log_in("loket1")
        spage.goto(f"/petugas/permohonan/{tracking}")
        spage.get_by_role("button", name="Saya tangani").click()
        expect(spage.get_by_text("Status: Sedang diperiksa")).to_be_visible()
        expect(spage.locator("#declared")).to_contain_text("dari pemohon, belum dicek")
        spage.once("dialog", lambda dialog: dialog.accept())
        spage.get_by_role("button", name="Teruskan ke penandatangan").click()
        expect(spage.locator(".flash-error")).to_contain_text("Data dari pemohon belum dicek")
        staff.check_screen(shots, "04-staff-must-check")
        # the refusal is a 422 (the form's answer, swapped in by app.js), which the browser logs as a failed load
        staff.errors = [e for e in staff.errors if "status of 422" not in e]
        declared = spage.locator("#declared form")
        declared.get_by_label("Pekerjaan").fill("Pedagang")
        declared.get_by_role("button", name=re.compile("Konfirmasi data")).click()
        expect(spage.locator(".flash-success")).to_contain_text("Data dari pemohon sudah diperiksa.")
        expect(spage.locator("#declared-values")).to_contain_text("dikoreksi oleh Pengguna loket1")
        spage.once("dialog", lambda dialog: dialog.accept())
        spage.get_by_role("button", name="Teruskan ke penandatangan").click()
        expect(spage.get_by_text("Status: Menunggu tanda tangan")).to_be_visible()

        # ------------------------------------------------------------ the lurah sees where the data came from
        lpage = signer.page
        signer.log_in("lurah")
        lpage.goto(f"/penandatangan/permohonan/{tracking}")
        expect(lpage.locator("#declared-values")).to_contain_text("Pedagang")
        expect(lpage.locator("#declared-values")).to_contain_text("dikonfirmasi oleh Pengguna loket1")
        signer.check_screen(shots, "05-signer-sees-origin")
        sign = lpage.locator("form[action$='/tanda-tangan']")
        sign.get_by_label("Passphrase tanda tangan").fill(PASSPHRASE)
        sign.get_by_role("button", name="Tanda tangani").click()
        expect(lpage.locator(".flash-success")).to_contain_text(f"Surat {tracking} ditandatangani dengan nomor")

        # ------------------------------------------------------------ her letter prints the checked values
        page.goto(f"/warga/permohonan/{tracking}")
        pdf, _name = download(page, page.get_by_role("link", name="Unduh surat (PDF)"))
        saved = tmp_path / "surat.pdf"
        saved.write_bytes(pdf)
        text = " ".join(subprocess.run(["pdftotext", "-layout", str(saved), "-"], capture_output=True, text=True,
                                       check=True, timeout=60).stdout.split())
        assert "Agama : Islam" in text and "Status perkawinan : Belum Kawin" in text and "Pekerjaan : Pedagang" in text
        assert ": -" not in text
        for actor in actors:
            assert not actor.errors, actor.errors
    finally:
        for actor in actors:
            actor.context.close()
