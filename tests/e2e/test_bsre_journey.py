"""A certified signature through BSrE, on phones (360 × 740), against the fake Esign Client Service on 127.0.0.1.

1. The admin moves the lurah to BSrE on the officials page (offered because ESIGN_URL is set) and checks the
   certificate's status: the page shows the gateway's answer.
2. The lurah's queue offers no batch (no checkboxes, the reason why); the letter page asks for the BSrE passphrase
   or a TOTP. A wrong passphrase is answered in the form with the gateway's reason, and nothing is half-saved (no
   Letter, the request still awaiting, no number taken); a TOTP signs it.
3. The signed letter's page offers a replacement (a BSrE official has no kelurahan-CA certificate). The signed
   PDF's footer names BSrE-BSSN; its QR code opens the verification page: SAH, a certified signature
   from BSrE.
4. With the gateway down, signing the next letter is answered "cannot be reached", and its number is not used.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.letters import Letter, LetterCounter
from sempelmas.models.profile import Official
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.services.requests import lifecycle
from tests import esign_fake
from tests.bsre_setup import configure_bsre
from tests.conftest import Factory
from tests.e2e.helpers import Actor, download, query, signing_desk
from tests.request_factory import make_service, submit
from tests.signing_setup import page_text, qr_payloads

LURAH = "DRS. BAMBANG SUTRISNO"


def _actor(browser, browser_context_args, name):
    return Actor(browser.new_context(**browser_context_args), name, prefix="bsre-journey")


def _state(app, tracking):
    """(the request's status, its letters, the numbers taken so far) as the database has them."""
    ((status,),) = query(app, select(LetterRequest.status).where(LetterRequest.tracking_number == tracking))
    letters = query(app, select(Letter.number).join(LetterRequest, Letter.request_id == LetterRequest.id)
                    .where(LetterRequest.tracking_number == tracking))
    taken = sum(last for (last,) in query(app, select(LetterCounter.last).where(
        ~LetterCounter.scope.startswith("pengantar"))))
    return status, letters, taken


def test_the_admin_moves_the_lurah_to_bsre_who_signs_a_certified_letter(browser, browser_context_args, live_app,
                                                                       base_url, shots, tmp_path, esign_gateway):
    with live_app.app_context():
        signing_desk(live_app, tmp_path, base_url)
        configure_bsre(live_app, tmp_path, esign_gateway)
        make_service("domisili", needs_rt=False)
        f = Factory()
        f.staff(Role.ADMIN, "admin")
        clerk = f.staff(Role.STAFF, "loket1")
        trackings = []
        for i, name in enumerate(("SITI AMINAH", "BUDI SANTOSO")):
            request = submit(f.warga(name=name), key=f"bsre-{i}")
            lifecycle.transition(request, "claim", actor=clerk)
            lifecycle.transition(request, "forward_to_signing", actor=clerk)
            trackings.append(request.tracking_number)
        db.session.commit()
        db.session.remove()
    first, second = trackings
    admin, lurah, public = actors = [_actor(browser, browser_context_args, n) for n in ("admin", "lurah", "publik")]
    try:
        # ------------------------------------------------------------ 1. the admin moves the lurah to BSrE
        apage = admin.page
        admin.log_in("admin")
        apage.get_by_role("link", name="Admin", exact=True).click()
        apage.get_by_role("link", name="Pejabat penandatangan").click()
        apage.get_by_role("link", name=LURAH).click()
        expect(apage.get_by_role("heading", name=f"Ubah {LURAH}")).to_be_visible()
        expect(apage.get_by_role("button", name="Cek status sertifikat BSrE")).to_have_count(0)  # not BSrE yet
        apage.get_by_label("Tanda tangan elektronik melalui").select_option(label="BSrE – BSSN (tersertifikasi)")
        apage.get_by_label("NIK pemegang sertifikat BSrE").fill(esign_fake.NIK)
        apage.get_by_role("button", name="Simpan").click()
        expect(apage.locator(".flash-success")).to_contain_text("Data pejabat tersimpan.")
        expect(apage.locator("tr", has_text=LURAH)).to_contain_text("BSrE – BSSN (tersertifikasi)")
        ((backend, nik),) = query(live_app, select(Official.signing_backend, Official.bsre_nik))
        assert (backend, nik) == ("bsre", esign_fake.NIK)

        apage.get_by_role("link", name=LURAH).click()
        apage.get_by_role("button", name="Cek status sertifikat BSrE").click()
        status = apage.get_by_role("status")
        expect(status).to_contain_text("Sertifikat BSrE aktif")
        expect(status).to_contain_text("Pengguna dapat melakukan tanda tangan")  # the gateway's own words
        admin.check_screen(shots, "01-admin-bsre-status")

        # ------------------------------------------------------------ 2. the lurah: no batch, a TOTP field
        lpage = lurah.page
        lurah.log_in("lurah")
        lpage.get_by_role("link", name="Tanda tangan", exact=True).click()
        expect(lpage.get_by_text("2 surat menunggu tanda tangan.")).to_be_visible()
        expect(lpage.locator("#no-batch")).to_contain_text("Tanda tangan massal tidak tersedia")
        expect(lpage.get_by_role("checkbox")).to_have_count(0)
        expect(lpage.get_by_role("button", name="Tanda tangani yang dipilih")).to_have_count(0)
        expect(lpage.get_by_text("Anda belum memiliki sertifikat tanda tangan")).to_have_count(0)  # no local key
        lurah.check_screen(shots, "02-queue-no-batch")

        lpage.locator(".queue-item", has_text=first).get_by_role("link", name="Periksa surat").click()
        expect(lpage.get_by_role("heading", name=re.compile(first))).to_be_visible()
        sign = lpage.locator("form[action$='/tanda-tangan']")
        expect(sign.get_by_label("Kode TOTP BSrE")).to_be_visible()
        expect(sign).to_contain_text("dikirim ke BSrE untuk surat ini saja")
        lurah.check_screen(shots, "03-letter-totp")
        sign.get_by_label("Passphrase tanda tangan").fill("bukan-passphrase-nya")
        sign.get_by_role("button", name="Tanda tangani").click()
        expect(lpage.locator(".flash-error")).to_have_text(
            "Passphrase sertifikat elektronik BSrE salah. Surat belum ditandatangani. Nomor surat tidak terpakai.")
        expect(sign).to_contain_text("Passphrase sertifikat elektronik BSrE salah.")  # at the field too
        lurah.check_screen(shots, "04-wrong-passphrase")
        expect(lpage.locator(".qstatus")).to_contain_text("Menunggu tanda tangan")
        assert _state(live_app, first) == (RequestStatus.AWAITING_SIGNATURE, [], 0), "a wrong passphrase saved nothing"
        assert "bukan-passphrase-nya" not in lpage.content(), "the passphrase is not written back into the page"

        sign.get_by_label("Kode TOTP BSrE").fill(esign_gateway.totp_now())
        sign.get_by_role("button", name="Tanda tangani").click()
        expect(lpage.locator(".flash-success")).to_contain_text(f"Surat {first} ditandatangani dengan nomor")
        ((letter_id, number, code, backend),) = query(live_app, select(Letter.id, Letter.number, Letter.verify_code,
                                                                       Letter.signing_backend))
        assert backend == "bsre"
        expect(lpage.locator(".flash-success")).to_contain_text(f"ditandatangani dengan nomor {number}.")
        sent = [r for r in esign_gateway.requests if r.path.endswith("/sign/pdf")]
        assert [bool(r.fields.get("totp")) for r in sent] == [False, True], "the passphrase first, then the TOTP"

        # ------------------------------------------------------------ 3. the signed PDF and its QR code
        lpage.goto(f"/penandatangan/permohonan/{first}")
        lpage.locator("summary", has_text="Terbitkan surat pengganti").click()  # BSrE signs a replacement too
        expect(lpage.locator("form[action$='/ganti']").get_by_label("Kode TOTP BSrE")).to_be_visible()
        lpage.get_by_role("link", name="Buka di register surat").click()
        expect(lpage).to_have_url(re.compile(rf"/petugas/surat/{letter_id}$"))
        pdf, filename = download(lpage, lpage.get_by_role("link", name="Unduh PDF bertanda tangan"))
        assert pdf.startswith(b"%PDF-") and filename.endswith(".pdf")
        text = page_text(pdf)
        assert "sertifikat elektronik yang diterbitkan BSrE-BSSN" in text, text
        (url,) = qr_payloads(pdf)
        assert url == f"{base_url}/v/{code}"
        ppage = public.page
        ppage.goto(url)
        expect(ppage.locator("#verdict")).to_have_text("SAH")
        expect(ppage.locator("main")).to_contain_text(number)
        expect(ppage.locator("main")).to_contain_text(LURAH)
        expect(ppage.locator("#signature-kind")).to_have_text(
            "Tanda tangan elektronik tersertifikasi — sertifikat dari BSrE-BSSN "
            "(Balai Sertifikasi Elektronik, Badan Siber dan Sandi Negara)")
        expect(ppage.locator("#ca-link")).to_have_count(0)  # the kelurahan CA does not vouch for a BSrE letter
        public.check_screen(shots, "05-verify-certified")

        # ------------------------------------------------------------ 4. the gateway is down
        esign_gateway.stop()
        lpage.goto("/penandatangan/")
        lpage.locator(".queue-item", has_text=second).get_by_role("link", name="Periksa surat").click()
        sign.get_by_label("Passphrase tanda tangan").fill(esign_fake.PASSPHRASE)
        sign.get_by_role("button", name="Tanda tangani").click()
        expect(lpage.locator(".flash-error")).to_have_text(re.compile(
            r"^Esign Client Service tidak dapat dihubungi \(http://127\.0\.0\.1:\d+\)\. Surat belum ditandatangani; "
            r"periksa bahwa layanan BSrE di server kelurahan berjalan\. Nomor surat tidak terpakai\.$"))
        expect(lpage.locator(".qstatus")).to_contain_text("Menunggu tanda tangan")
        lurah.check_screen(shots, "06-gateway-down")
        assert _state(live_app, second) == (RequestStatus.AWAITING_SIGNATURE, [], 1), "no letter, no number taken"
        assert esign_fake.PASSPHRASE not in lpage.content()

        refused = [e for e in lurah.errors if re.search(r"status of (422|503)", e)]
        assert len(refused) == 2, "the wrong passphrase (422) and the gateway down (503), and only those"
        errors = [e for a in actors for e in a.errors if e not in refused]
        assert errors == [], "\n".join(errors)
    finally:
        for actor in actors:
            actor.context.close()
