"""Journeys of a letter from registration to its public check, each person on a phone (360 × 740), real UI.

1. A newcomer whose NIK is in the population register registers; staff see the match and verify the account;
   she asks for a domisili letter with a camera photo of her KK and follows it on its timeline; staff ask her to
   fix one answer and the photo, she does; after signing she downloads the signed PDF from the request page.
2. On the way the RT head endorses it (/rt), staff claim and forward it (/petugas), and the lurah, who has no
   certificate yet, sets a signing passphrase (/penandatangan/kunci: the certificate is made then) and signs.
3. The public: the QR code printed in the downloaded PDF opens the verification page (SAH); uploading the same
   PDF says it is the issued letter with a valid signature, a changed copy says it is not; after the lurah
   revokes the letter from its register page the verification page says DICABUT with the reason; she is
   notified, and her request page and list say the letter is revoked and no longer offer it.
4. The lurah signs several letters at once: a wrong passphrase is answered in the form, the right one starts
   the batch and lands on its page, which follows the signing by itself and ends with each letter's number.
5. A resident cannot open another resident's request, its letter or its files by URL: 404 pages.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from datetime import date, datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.letters import Letter
from sempelmas.models.requests import LetterRequest
from sempelmas.services.kelurahan.demo import make_nik
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.requests import attachments, lifecycle
from tests.conftest import PASSWORD, Factory, jpeg_bytes
from tests.e2e.helpers import TIME, Actor, download, fill_registration, photo, query, signing_desk
from tests.letter_fixtures import make_letter
from tests.request_factory import make_service, submit
from tests.signing_setup import qr_payloads

BIRTH = date(1988, 8, 17)
NIK = make_nik(BIRTH, True, 58)  # a woman born 17 August 1988
KK = "3576031705100058"
NAME = "Rina Wulandari"
RESIDENT_PASSWORD = "sandi-rina-2026"
FIX_REASON = "Foto KK terpotong; tulis keperluan lengkap dengan nama instansinya"
SIGNING_PASSPHRASE = "ttd-lurah-jagalan-2026"
REVOKE_REASON = "Data alamat pada surat keliru; diganti surat baru"


def _actors(browser, browser_context_args, *names):
    return [Actor(browser.new_context(**browser_context_args), name, prefix="letter-journey") for name in names]


def test_from_registration_to_signed_pdf_checked_and_revoked(browser, browser_context_args, live_app, base_url,
                                                            shots, tmp_path):
    with live_app.app_context():
        signing_desk(live_app, tmp_path, base_url)
        make_service("domisili", needs_rt=True)
        f = Factory()
        # the newcomer is in the imported register (source "impor"), with her RT
        f.resident(nik=NIK, kk=KK, name="RINA WULANDARI", birth=BIRTH, female=True, rt="001", rw="001")
        f.staff(Role.RT_HEAD, "pakrt", rt="001", rw="001")
        f.staff(Role.STAFF, "loket1")
        db.session.commit()
        db.session.remove()
    tracking = f"JGL-{datetime.now(ZoneInfo('Asia/Jakarta')).year}-000001"
    resident, rt, staff, lurah, public = actors = _actors(browser, browser_context_args,
                                                         "warga", "rt", "petugas", "lurah", "publik")
    try:
        # ------------------------------------------------------------ 1. she registers
        page = resident.page
        page.goto("/")
        page.get_by_role("link", name="Daftar sebagai warga").click()
        expect(page.get_by_role("heading", name="Daftar sebagai warga")).to_be_visible()
        fill_registration(page, nik=NIK, kk=KK, name=NAME, birth=BIRTH, gender="P",
                          address="Jl. Pemuda Gg. Melati No. 3", rt="001", rw="001", phone="0813 2222 5858",
                          ktp=photo(tmp_path / "ktp.jpg", (210, 200, 190)), password=RESIDENT_PASSWORD)
        page.get_by_role("button", name="Daftar", exact=True).click()
        expect(page.locator("#account-status")).to_contain_text("menunggu verifikasi")
        resident.check_screen(shots, "01-registered-waiting")

        # ------------------------------------------------------------ staff verify her against the register
        spage = staff.page
        staff.log_in("loket1")
        spage.get_by_role("link", name=re.compile("akun menunggu verifikasi")).click()
        spage.get_by_role("link", name=NAME).click()
        expect(spage.get_by_role("heading", name=NAME)).to_be_visible()
        expect(spage.get_by_text("Cocok dengan data penduduk")).to_be_visible()
        spage.get_by_role("button", name="Verifikasi akun").click()
        expect(spage.locator(".flash-success")).to_contain_text(f"Akun {NAME} sudah diverifikasi.")

        # ------------------------------------------------------------ she asks for a domisili letter
        page.reload()
        expect(page.locator("#account-status")).to_contain_text("sudah terverifikasi")
        page.get_by_role("link", name="Ajukan surat").click()
        page.get_by_role("link", name=re.compile("Surat domisili")).click()
        expect(page.get_by_role("heading", name="Surat domisili")).to_be_visible()
        page.get_by_label(re.compile(r"\(saya sendiri\)")).check()
        page.get_by_label("Keperluan").fill("Melamar pekerjaan")
        page.get_by_label("Fotokopi KK", exact=True).set_input_files(photo(tmp_path / "kk.jpg", (200, 180, 150)))
        resident.check_screen(shots, "02-request-form")
        page.get_by_role("button", name="Periksa sebelum dikirim").click()
        expect(page.get_by_role("img", name="Fotokopi KK")).to_be_visible()
        page.get_by_role("button", name="Kirim permohonan").click()
        expect(page.locator(".flash-success")).to_contain_text(f"Permohonan terkirim dengan nomor {tracking}")
        expect(page.locator("#status-label")).to_have_text("Menunggu pengantar RT/RW")
        detail_url = page.url
        timeline = page.locator("#timeline > li")
        expect(timeline).to_have_count(1)
        expect(timeline.first).to_contain_text(TIME)

        # ------------------------------------------------------------ 2. the RT head endorses
        rpage = rt.page
        rt.log_in("pakrt")
        rpage.get_by_role("link", name="RT/RW", exact=True).click()
        rpage.get_by_role("link", name=re.compile("permohonan menunggu pengantar Anda")).click()
        card = rpage.locator(".rt-card", has_text=tracking)
        expect(card).to_contain_text("RINA WULANDARI")
        rt.check_screen(shots, "03-rt-queue")
        card.get_by_role("link").click()
        rpage.get_by_role("button", name="Beri pengantar", exact=True).click()
        expect(rpage.locator("#rt-panel .flash-success")).to_contain_text("permohonan diteruskan ke petugas")

        # ------------------------------------------------------------ staff claim it and ask for a fix
        spage.get_by_role("link", name="Pelayanan", exact=True).click()
        spage.get_by_role("link", name=re.compile("Antrean permohonan")).click()
        spage.get_by_role("link", name=tracking).click()
        expect(spage.get_by_role("heading", name=re.compile(tracking))).to_be_visible()
        spage.get_by_role("button", name="Saya tangani").click()
        expect(spage.get_by_text("Status: Sedang diperiksa")).to_be_visible()
        doc = spage.locator("img.doc[alt='Fotokopi KK']")
        doc.scroll_into_view_if_needed()
        spage.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=doc.element_handle())
        staff.check_screen(shots, "04-staff-review")
        spage.locator("summary", has_text="Minta perbaikan").click()
        fix_form = spage.locator("form[action$='/perbaikan']")
        fix_form.get_by_label("Alasan").fill(FIX_REASON)
        fix_form.get_by_label("Keperluan", exact=True).check()
        fix_form.get_by_label("Fotokopi KK", exact=True).check()
        fix_form.get_by_role("button", name="Minta perbaikan").click()
        expect(spage.get_by_text("Status: Perlu perbaikan")).to_be_visible()

        # ------------------------------------------------------------ she sees what to fix, fixes it, resubmits
        page.reload()
        expect(page.locator("#status-label")).to_have_text("Perlu perbaikan")
        expect(page.locator("#fix-request")).to_contain_text(FIX_REASON)
        expect(page.locator("#fix-request")).to_contain_text("Isian: Keperluan")
        expect(page.locator("#fix-request")).to_contain_text("Berkas: Fotokopi KK")
        page.get_by_role("link", name="Perbaiki dan ajukan ulang").click()
        form = page.locator("form[action$='/perbaikan']")
        form.get_by_label("Keperluan").fill("Melamar pekerjaan di PT Sumber Rejeki, Mojokerto")
        form.get_by_label("Fotokopi KK", exact=True).set_input_files(photo(tmp_path / "kk2.jpg", (90, 140, 200)))
        form.get_by_role("button", name="Ajukan ulang").click()
        expect(page.locator(".flash-success")).to_contain_text(f"Permohonan {tracking} sudah diajukan ulang.")
        expect(page.locator("#status-label")).to_have_text("Sedang diperiksa")

        # ------------------------------------------------------------ staff forward it to signing
        spage.reload()
        expect(spage.get_by_text("Status: Sedang diperiksa")).to_be_visible()
        expect(spage.locator("main")).to_contain_text("PT Sumber Rejeki")
        spage.once("dialog", lambda dialog: dialog.accept())
        spage.get_by_role("button", name="Teruskan ke penandatangan").click()
        expect(spage.get_by_text("Status: Menunggu tanda tangan")).to_be_visible()

        # ------------------------------------------------------------ the lurah: first a passphrase, then signs
        lpage = lurah.page
        lurah.log_in("lurah")
        lpage.get_by_role("link", name="Tanda tangan", exact=True).click()
        expect(lpage.get_by_text("Anda belum memiliki sertifikat tanda tangan yang aktif.")).to_be_visible()
        lpage.get_by_role("link", name="Atur kunci tanda tangan").click()
        lpage.get_by_label("Kata sandi akun Anda").fill(PASSWORD)
        lpage.get_by_label("Passphrase tanda tangan baru").fill(SIGNING_PASSPHRASE)
        lpage.get_by_label("Ulangi passphrase").fill(SIGNING_PASSPHRASE)
        lpage.get_by_role("button", name="Terbitkan sertifikat").click()
        expect(lpage.locator(".flash-success")).to_contain_text("Sertifikat tanda tangan sudah diterbitkan")
        expect(lpage.get_by_role("heading", name="Ganti passphrase")).to_be_visible()

        lpage.get_by_role("link", name="Tanda tangan", exact=True).click()
        row = lpage.locator(".queue-item", has_text=tracking)
        expect(row).to_contain_text("RINA WULANDARI")
        row.get_by_role("link", name="Periksa surat").click()
        expect(lpage.get_by_role("heading", name=re.compile(tracking))).to_be_visible()
        expect(lpage.get_by_text("Lurah Jagalan").first).to_be_visible()
        lurah.check_screen(shots, "05-signing-page")
        sign = lpage.locator("form[action$='/tanda-tangan']")
        sign.get_by_label("Passphrase tanda tangan").fill("bukan-passphrase-nya")
        sign.get_by_role("button", name="Tanda tangani").click()
        expect(lpage.locator("form[action$='/tanda-tangan']")).to_contain_text("Passphrase tanda tangan salah.")
        assert query(live_app, select(Letter.id)) == [], "a wrong passphrase signed nothing"
        sign.get_by_label("Passphrase tanda tangan").fill(SIGNING_PASSPHRASE)
        sign.get_by_role("button", name="Tanda tangani").click()
        expect(lpage.locator(".flash-success")).to_contain_text(f"Surat {tracking} ditandatangani dengan nomor")
        (letter_id, number, code, sha), = query(live_app, select(Letter.id, Letter.number, Letter.verify_code,
                                                                 Letter.pdf_sha256))
        expect(lpage.locator(".flash-success")).to_contain_text(f"ditandatangani dengan nomor {number}.")

        # ------------------------------------------------------------ 1 (end). she downloads the signed PDF
        page.goto(detail_url)
        expect(page.locator("#status-label")).to_have_text("Selesai — surat terbit")
        expect(timeline.first.locator("strong")).to_have_text("Selesai — surat terbit")
        expect(timeline).to_have_count(7)  # menunggu pengantar, diajukan, diperiksa, perbaikan, diperiksa, ttd, selesai
        expect(timeline.nth(3).locator("strong")).to_have_text("Perlu perbaikan")
        expect(timeline.nth(3)).to_contain_text(FIX_REASON)
        expect(timeline.nth(5)).to_contain_text("Pengguna pakrt (Ketua RT 001/001)")
        resident.check_screen(shots, "06-timeline-done")
        pdf, filename = download(page, page.get_by_role("link", name="Unduh surat (PDF)"))
        assert pdf.startswith(b"%PDF-") and filename == f"surat-{number.replace('/', '-')}.pdf"
        assert hashlib.sha256(pdf).hexdigest() == sha, "the download is the stored letter"
        with live_app.app_context():
            result = letter_signing.validate_pdf(pdf)
        assert result.intact and result.valid and result.trusted, result.message
        saved = tmp_path / "surat.pdf"
        saved.write_bytes(pdf)
        pdfsig = subprocess.run(["pdfsig", str(saved)], capture_output=True, text=True, timeout=60).stdout
        assert "Signature is Valid." in pdfsig, pdfsig  # pdfsig exits 0 on a mismatch too: read its words

        # ------------------------------------------------------------ 3. the public scans the QR code
        (url,) = qr_payloads(pdf)
        assert url == f"{base_url}/v/{code}"
        ppage = public.page
        ppage.goto(url)
        expect(ppage.locator("#verdict")).to_have_text("SAH")
        expect(ppage.locator("main")).to_contain_text(number)
        expect(ppage.locator("main")).to_contain_text("DRS. BAMBANG SUTRISNO")
        public.check_screen(shots, "07-verify-sah")
        ppage.get_by_label("Unggah berkas PDF surat yang Anda terima").set_input_files(str(saved))
        ppage.get_by_role("button", name="Periksa", exact=True).click()
        check = ppage.locator("#check-result")
        expect(check).to_contain_text("Berkas ini sama persis dengan surat yang diterbitkan.")
        expect(check).to_contain_text("Tanda tangan elektronik sah.")
        expect(check).to_contain_text(sha)
        public.check_screen(shots, "08-verify-upload-same")
        # a copy with one byte changed inside the signed content is neither the letter nor validly signed
        changed = bytearray(pdf)
        at = pdf.index(b"stream", 100) + 40
        changed[at] ^= 0x01
        (tmp_path / "ubah.pdf").write_bytes(bytes(changed))
        ppage.get_by_label("Unggah berkas PDF surat yang Anda terima").set_input_files(str(tmp_path / "ubah.pdf"))
        ppage.get_by_role("button", name="Periksa", exact=True).click()
        expect(check).to_contain_text("Berkas ini TIDAK sama dengan surat yang diterbitkan")
        expect(check).to_contain_text("Tanda tangan elektronik tidak sah.")

        # ------------------------------------------------------------ the lurah revokes it from its register page
        lpage.goto(f"/penandatangan/permohonan/{tracking}")
        lpage.get_by_role("link", name="Buka di register surat").click()
        expect(lpage).to_have_url(re.compile(rf"/petugas/surat/{letter_id}$"))
        expect(lpage.locator("#letter-status")).to_contain_text("Sah")
        lpage.get_by_label("Alasan pencabutan").fill(REVOKE_REASON)
        lpage.once("dialog", lambda dialog: dialog.accept())  # "Cabut surat …? Tindakan ini tidak dapat diurungkan."
        lpage.get_by_role("button", name="Cabut surat").click()
        expect(lpage.locator(".flash-success")).to_contain_text(f"Surat {number} dicabut.")
        expect(lpage.locator("#letter-status")).to_contain_text(REVOKE_REASON)

        ppage.goto(url)
        expect(ppage.locator("#verdict")).to_have_text("DICABUT")
        expect(ppage.locator("main")).to_contain_text(REVOKE_REASON)
        expect(ppage.get_by_text("SAH", exact=True)).to_have_count(0)
        public.check_screen(shots, "09-verify-dicabut")

        # ------------------------------------------------------------ she is told, and her page says so too
        page.get_by_role("link", name=re.compile("Notifikasi")).click()
        expect(page.get_by_text(re.compile(rf"Surat {re.escape(number)} .*DICABUT"))).to_be_visible()
        expect(page.locator("main")).to_contain_text(REVOKE_REASON)
        page.goto(detail_url)
        expect(page.locator("#status-label")).to_have_text("Surat dicabut — tidak berlaku lagi")
        expect(page.locator("#letter-revoked")).to_contain_text(f"Surat nomor {number} dicabut oleh kelurahan pada")
        expect(page.locator("#letter-revoked")).to_contain_text(REVOKE_REASON)
        expect(page.get_by_role("link", name="Unduh surat (PDF)")).to_have_count(0)
        resident.check_screen(shots, "10-request-letter-revoked")
        stale = page.request.get(f"{detail_url}/surat")  # a link kept from before: no PDF, the reason
        assert stale.status == 410 and not stale.body().startswith(b"%PDF-")
        assert REVOKE_REASON in stale.text()
        page.get_by_role("link", name="← Semua permohonan").click()
        expect(page.locator("#requests li", has_text=tracking)).to_contain_text("Surat dicabut — tidak berlaku lagi")

        refused = [e for e in lurah.errors if "status of 422" in e]
        assert len(refused) == 1, "the wrong passphrase is answered 422, and only that"
        errors = [e for a in actors for e in a.errors if e not in refused]
        assert errors == [], "\n".join(errors)
    finally:
        for actor in actors:
            actor.context.close()


def test_the_lurah_signs_a_batch_and_watches_it_finish(browser, browser_context_args, live_app, base_url, shots,
                                                      tmp_path):
    with live_app.app_context():
        lurah = signing_desk(live_app, tmp_path, base_url)
        letter_certs.issue_certificate(lurah, letter_certs.official_for(lurah), SIGNING_PASSPHRASE)
        make_service("domisili", needs_rt=False)
        f = Factory()
        clerk = f.staff(Role.STAFF, "loket1")
        trackings = []
        for i in range(5):
            warga = f.warga(name=f"WARGA BATCH {i}")
            request = submit(warga, key=f"batch-{i}")
            lifecycle.transition(request, "claim", actor=clerk)
            lifecycle.transition(request, "forward_to_signing", actor=clerk)
            trackings.append(request.tracking_number)
        db.session.commit()
        db.session.remove()
    (official,) = _actors(browser, browser_context_args, "lurah")
    try:
        page = official.page
        official.log_in("lurah")
        page.get_by_role("link", name="Tanda tangan", exact=True).click()
        expect(page.get_by_text("5 surat menunggu tanda tangan.")).to_be_visible()
        for tracking in trackings:
            page.locator(".queue-item", has_text=tracking).get_by_role("checkbox").check()
        page.get_by_label("Passphrase tanda tangan").fill("bukan-passphrase-nya")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Tanda tangani yang dipilih").click()
        expect(page.locator("#batch-form")).to_contain_text("Passphrase tanda tangan salah.")
        assert query(live_app, select(Letter.id)) == [], "a wrong passphrase signed nothing"
        expect(page.locator(".queue-item input:checked")).to_have_count(5)  # the choice is kept

        page.get_by_label("Passphrase tanda tangan").fill(SIGNING_PASSPHRASE)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Tanda tangani yang dipilih").click()
        expect(page).to_have_url(re.compile(r"/penandatangan/tanda-tangan/\d+$"))
        # the page follows the batch by itself (htmx polling) until every letter has its result
        expect(page.locator("#batch-summary")).to_have_text("5 dari 5 surat ditandatangani.", timeout=60_000)
        results = page.locator(".sign-results li")
        expect(results).to_have_count(5)
        numbers = dict(query(live_app, select(LetterRequest.tracking_number, Letter.number)
                             .join(Letter, Letter.request_id == LetterRequest.id)))
        assert sorted(numbers) == sorted(trackings)
        for tracking in trackings:
            expect(results.filter(has_text=tracking)).to_contain_text(f"Nomor {numbers[tracking]}")
        official.check_screen(shots, "11-batch-signed")
        page.get_by_role("link", name="Kembali ke antrean").click()
        expect(page.get_by_text("Belum ada surat yang menunggu tanda tangan Anda.")).to_be_visible()
        refused = [e for e in official.errors if "status of 422" in e]
        assert len(refused) == 1, "the wrong passphrase is answered 422, and only that"
        errors = [e for e in official.errors if e not in refused]
        assert errors == [], "\n".join(errors)
    finally:
        official.context.close()


def test_a_resident_cannot_open_another_residents_request_by_url(browser, browser_context_args, live_app, shots):
    with live_app.app_context():
        make_service("domisili", needs_rt=False)
        f = Factory()
        siti = f.warga(name="SITI AMINAH", female=True)
        budi = f.warga(name="BUDI SANTOSO", rt="002")
        clerk = f.staff(Role.STAFF, "loket1")
        req = submit(siti, key="k-siti")
        kk = attachments.store(jpeg_bytes(), requirement_code="kk", owner=siti, request=req)
        db.session.commit()
        make_letter(req, clerk)
        siti_nik, budi_nik, tracking, file_name = siti.resident.nik, budi.resident.nik, req.tracking_number, \
            kk.stored_name
        db.session.remove()
    urls = [f"/warga/permohonan/{tracking}", f"/warga/permohonan/{tracking}/surat", f"/berkas/{file_name}"]
    owner, other = actors = _actors(browser, browser_context_args, "pemilik", "warga lain")
    try:
        # the owner reaches all three (so a 404 below is about who asks, not about a wrong address)
        owner.log_in(siti_nik)
        for url in urls:
            response = owner.page.request.get(url)
            assert response.status == 200, url
        assert owner.page.request.get(urls[1]).body().startswith(b"%PDF-")

        other.log_in(budi_nik)
        for url in urls:
            response = other.page.goto(url)
            assert response.status == 404, url
            expect(other.page.get_by_role("heading", name=re.compile("tidak ditemukan", re.I))).to_be_visible()
            expect(other.page.locator("body")).not_to_contain_text(tracking)
            expect(other.page.locator("body")).not_to_contain_text("SITI")
        other.check_screen(shots, "10-other-resident-404")
        errors = [e for a in actors for e in a.errors]
        assert errors == [], "\n".join(errors)
    finally:
        for actor in actors:
            actor.context.close()
