"""Journey: the lurah on a phone opens the dashboard from the menu, switches the period without a page reload,
goes to the reports and downloads the monthly recap as XLSX; a visitor opens the transparency page from the
footer."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.requests import RequestStatus
from tests.conftest import PASSWORD, Factory
from tests.request_factory import make_profile, make_service, submit

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_lurah_reads_the_dashboard_and_downloads_the_recap(page: Page, live_app, shots, browser, base_url):
    with live_app.app_context():
        make_profile()
        make_service("domisili", needs_rt=False)
        factory = Factory()
        factory.staff(Role.SIGNER, "lurah1")
        siti = factory.warga(name="SITI AMINAH", rt="001", rw="001")
        now = datetime.now(UTC)
        for hours in (2, 5):
            r = submit(siti, now=now - timedelta(hours=hours + 1))
            r.status, r.closed_at = RequestStatus.DONE, r.submitted_at + timedelta(hours=hours)
        late = submit(siti, now=now - timedelta(days=12)).tracking_number
        db.session.commit()
        db.session.remove()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill("lurah1")
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("link", name="Dasbor").click()
    expect(page.get_by_role("heading", name="Dasbor layanan")).to_be_visible()
    stats = page.locator("#stats")
    expect(stats).to_contain_text("selesai (surat terbit)")
    expect(stats.locator("svg.chart").first).to_be_visible()
    expect(stats).to_contain_text(late)  # the overdue list
    assert page.evaluate(FITS)
    shots(page, "dashboard-phone")

    # the period switch swaps the numbers only: the marker on this document survives, the URL follows
    page.evaluate("window.__same_page = true")
    page.get_by_label("Periode", exact=True).select_option("tahun-ini")
    page.get_by_role("button", name="Tampilkan").click()
    expect(stats).to_contain_text(f"Tahun {datetime.now(UTC).year}")
    expect(page).to_have_url(re.compile(r"periode=tahun-ini"))
    assert page.evaluate("window.__same_page") is True

    page.get_by_role("link", name="Laporan dan unduhan (XLSX, CSV, PDF)").click()
    expect(page.get_by_role("heading", name="Laporan layanan")).to_be_visible()
    assert page.evaluate(FITS)
    shots(page, "reports-phone")
    with page.expect_download() as info:
        page.locator("a[href*='/petugas/laporan/rekap.xlsx']").click()
    ws = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    dom = next(r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] == "Surat domisili")
    assert dom[1] == 3 and dom[2] == 2
    assert not errors, errors

    visitor = browser.new_page(base_url=base_url, viewport={"width": 360, "height": 740})
    visitor.goto("/")
    visitor.get_by_role("link", name="Transparansi layanan").click()
    expect(visitor.get_by_role("heading", name="Transparansi layanan", exact=True)).to_be_visible()
    complain = visitor.get_by_role("region", name="Pengaduan").get_by_role("link", name="Sampaikan pengaduan")
    expect(complain).to_have_attribute("href", "/pengaduan")
    expect(visitor.locator("summary").first).to_contain_text("Gratis")
    assert visitor.evaluate(FITS)
    shots(visitor, "transparency-phone")
    visitor.close()
