"""A resident who reads English, on a 360 px phone, from the language switch to a request the office is working on:
the home, the service list, the form, the review, the request's page, the bell and the account page carry no
Indonesian besides names and data (the catalogue's English, notices written in the reader's language although the
office works in Indonesian)."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.requests import LetterRequest
from sempelmas.services.requests import endorsements
from sempelmas.services.requests.catalogue_standard import seed_standard
from tests.conftest import Factory
from tests.e2e.helpers import FITS_360, Actor, photo

NIK = "3576034101900017"
#: words of the app's Indonesian that an English screen must not show (names and typed data aside)
INDONESIAN = re.compile(
    r"\b(dan|yang|untuk|dengan|tidak|belum|sudah|permohonan|surat|menunggu|diajukan|diperiksa|petugas|anda|"
    r"beranda|keluar|masuk|ajukan|perbaiki|lihat|unduh|dari|pada|ini|akan|atau|dapat|harus|hari|kerja|menit|"
    r"kirim|batalkan|simpan|notifikasi|akun|pengaduan|layanan|halo|alamat|tanggal|nomor|nama|keperluan|"
    r"fotokopi|dokumen|riwayat|perbaikan|selesai|tanya|bantuan|kebijakan|privasi|transparansi|keluarga|saya|baru|"
    r"sandi|perangkat|sesi|gratis|waktu|berlaku|kantor|pengantar|diterima|status permohonan)\b", re.IGNORECASE)


def indonesian_left(page, *data: str) -> list[str]:
    """The Indonesian words on the page once the names and data given are taken out."""
    text = page.locator("body").inner_text()
    for value in data:
        text = text.replace(value, " ")
    return sorted({m.group(0) for m in INDONESIAN.finditer(text)})


def test_a_resident_who_reads_english_sees_no_indonesian_from_the_form_to_the_bell(
        live_app, browser, browser_context_args, shots, tmp_path):
    with live_app.app_context():
        seed_standard()
        f = Factory()
        f.staff(Role.RT_HEAD, "pakrt", rt="001", rw="001")
        f.staff(Role.STAFF, "loket1")
        f.warga(nik=NIK, name="SITI AMINAH", female=True, ktp=True)
        db.session.commit()
        db.session.remove()
    resident = Actor(browser.new_context(**browser_context_args), "warga", prefix="english-journey")
    page = resident.page
    # names and data: the person, the place (the profile), what she types, the numbers
    data = ("Siti Aminah", "SITI AMINAH", "Jagalan", "Mojokerto", "Magersari", "Kelurahan", "Kecamatan",
            "Opening a bank account", "SemPelMas", NIK, "Bahasa Indonesia")
    try:
        resident.log_in(NIK)
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        assert indonesian_left(page, *data) == []

        page.get_by_role("link", name="Request a letter").click()
        assert indonesian_left(page, *data) == []
        page.get_by_role("link", name=re.compile("Certificate of Domicile")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of Domicile")
        assert indonesian_left(page, *data) == []
        page.get_by_label("Purpose").fill("Opening a bank account")
        page.get_by_label("Copy of the family card (KK)", exact=True).set_input_files(
            photo(tmp_path / "kk.jpg", (200, 180, 150)))
        page.get_by_role("button", name="Review before sending").click()
        assert indonesian_left(page, *data) == []
        resident.check_screen(shots, "review")
        page.get_by_role("button", name="Send request").click()
        sent = page.locator(".flash-success")
        expect(sent).to_contain_text("Request sent with number")
        tracking = re.search(r"[A-Z]+-\d{4}-\d{6}", sent.inner_text()).group(0)
        data = (*data, tracking)
        assert indonesian_left(page, *data) == [], "the request's page"
        assert page.evaluate(FITS_360)

        # the RT head, who works in Indonesian, gives the pengantar: the resident is told in English
        with live_app.app_context():
            req = db.session.scalar(select(LetterRequest).where(LetterRequest.tracking_number == tracking))
            endorsements.endorse(req, db.session.scalar(select(User).where(User.username == "pakrt")))
            db.session.commit()
            db.session.remove()
        page.goto("/notifikasi/")
        expect(page.locator("main")).to_contain_text(f"request {tracking}")
        assert indonesian_left(page, *data) == [], "the bell"
        resident.check_screen(shots, "bell")
        for path in ("/warga/", "/warga/permohonan", f"/warga/permohonan/{tracking}", "/akun/sandi"):
            page.goto(path)
            assert indonesian_left(page, *data) == [], path
        assert not resident.errors, resident.errors
    finally:
        resident.context.close()
