"""Journey (UU PDP): a resident reads the privacy notice, downloads their data as JSON, asks for a correction
with a photo; staff resolve it on their phone; the resident sees the outcome. Every screen fits 360 px."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.residents import Resident
from tests.conftest import Factory
from tests.e2e.helpers import Actor, download, photo, query


def test_download_correct_and_staff_resolve(browser, browser_context_args, live_app, shots, tmp_path):
    with live_app.app_context():
        f = Factory()
        budi = f.warga(name="BUDI SANTOSO")
        other = f.warga(name="SITI AMINAH")
        f.staff("petugas", "petugas1")
        nik, other_nik, resident_id = budi.resident.nik, other.resident.nik, budi.resident_id
        db.session.remove()
    resident = Actor(browser.new_context(**browser_context_args, accept_downloads=True), "warga",
                     prefix="data-rights")
    staff = Actor(browser.new_context(**browser_context_args), "petugas", prefix="data-rights")
    try:
        page = resident.page
        page.goto("/privasi")
        expect(page.get_by_role("heading", name="Hak Anda dan cara memakainya")).to_be_visible()
        resident.check_screen(shots, "privacy")

        resident.log_in(nik)
        page.get_by_role("link", name=re.compile("Data saya")).click()
        expect(page.get_by_role("heading", name="Data saya", exact=True)).to_be_visible()
        resident.check_screen(shots, "data-saya")
        body, name = download(page, page.get_by_role("link", name=re.compile("Unduh JSON")))
        assert name == "data-saya.json"
        data = json.loads(body)
        assert data["data_penduduk"]["nik"] == nik and other_nik not in body.decode()

        page.get_by_role("link", name=re.compile("Koreksi data")).click()
        page.get_by_label("Data yang salah").select_option("occupation")
        page.get_by_label("Data yang benar").fill("Guru")
        page.get_by_label("Keterangan").fill("Sudah menjadi guru sejak 2024")
        page.get_by_label("Foto bukti (tidak wajib)").set_input_files(photo(tmp_path / "sk.jpg", (90, 120, 160)))
        resident.check_screen(shots, "correction-form")
        page.get_by_role("button", name="Kirim permintaan koreksi").click()
        expect(page.get_by_text("Permintaan koreksi terkirim.")).to_be_visible()
        expect(page.locator("#data-request-status")).to_have_text("Diajukan — menunggu petugas")
        detail_url = page.url

        desk = staff.page
        staff.log_in("petugas1")
        desk.get_by_role("link", name=re.compile("Permintaan data pribadi")).click()
        desk.get_by_role("link", name=re.compile("Koreksi data · Pekerjaan")).click()
        expect(desk.get_by_role("link", name=re.compile("Lihat foto bukti"))).to_be_visible()
        expect(desk.get_by_label("Nilai yang ditulis ke data")).to_have_value("Guru")
        staff.check_screen(shots, "staff-task")
        desk.get_by_label("Nilai yang ditulis ke data").fill("GURU")
        desk.get_by_label("Catatan untuk warga").fill("Sesuai SK pengangkatan")
        desk.get_by_role("button", name="Simpan koreksi").click()
        expect(desk.get_by_text("Data sudah dikoreksi dan warga diberi tahu.")).to_be_visible()
        [(occupation,)] = query(live_app, select(Resident.occupation).where(Resident.id == resident_id))
        assert occupation == "GURU"

        page.goto(detail_url)
        expect(page.locator("#data-request-status")).to_have_text("Selesai")
        expect(page.locator("#applied-value")).to_have_text("GURU")
        expect(page.locator("#outcome-note")).to_have_text("Sesuai SK pengangkatan")
        resident.check_screen(shots, "outcome")
        assert not resident.errors and not staff.errors, resident.errors + staff.errors
    finally:
        resident.context.close()
        staff.context.close()
