"""Journey: staff on a phone filter the queue without a page reload, open a request, claim it, and a
colleague with the stale screen gets the conflict message and the fresh state."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from tests.conftest import PASSWORD, Factory
from tests.request_factory import make_service, submit

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def log_in(page: Page, identifier: str) -> None:
    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(identifier)
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/petugas/$"))


def test_filter_open_claim_and_conflict(page: Page, live_app, shots, browser):
    with live_app.app_context():
        make_service("domisili", needs_rt=False)
        factory = Factory()
        factory.staff(Role.STAFF, "loket1")
        factory.staff(Role.STAFF, "loket2")
        siti = factory.warga(name="SITI AMINAH", female=True, rt="001", rw="001")
        budi = factory.warga(name="BUDI SANTOSO", rt="003", rw="002")
        now = datetime.now(UTC)
        late = submit(budi, now=now - timedelta(days=10)).tracking_number
        fresh = submit(siti, now=now - timedelta(minutes=5)).tracking_number
        db.session.commit()
        db.session.remove()
    page_errors: list[str] = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))

    log_in(page, "loket1")
    page.get_by_role("link", name=re.compile("Antrean permohonan")).click()
    expect(page.get_by_role("heading", name="Antrean permohonan")).to_be_visible()
    rows = page.locator(".queue-item")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(late)
    expect(rows.first).to_contain_text("Terlambat")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shots(page, "staff-queue-phone")

    # a filter swaps the results only: the marker set on this document survives, the URL follows
    page.evaluate("window.__same_page = true")
    page.get_by_label("Cari nomor permohonan, NIK (16 angka) atau nama").fill("siti")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(fresh)
    expect(page).to_have_url(re.compile(r"q=siti"))
    assert page.evaluate("window.__same_page") is True

    page.get_by_role("link", name=fresh).click()
    expect(page.get_by_role("heading", name=re.compile(fresh))).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)

    # a colleague opens the same request before the claim
    other = browser.new_page(base_url=page.url.split("/petugas")[0], viewport={"width": 360, "height": 740})
    log_in(other, "loket2")
    other.goto(f"/petugas/permohonan/{fresh}")

    page.evaluate("window.__same_page = true")
    page.get_by_role("button", name="Saya tangani").click()
    expect(page.get_by_text("Permohonan ini sekarang Anda tangani.")).to_be_visible()
    expect(page.get_by_text("Status: Sedang diperiksa")).to_be_visible()
    expect(page.locator("#queue-counts")).to_contain_text("1 Sedang diperiksa")  # the out-of-band counts
    assert page.evaluate("window.__same_page") is True
    shots(page, "staff-review-claimed-phone")

    other.get_by_role("button", name="Saya tangani").click()
    expect(other.get_by_text("baru saja diubah oleh pengguna lain")).to_be_visible()
    expect(other.get_by_text("Status: Sedang diperiksa")).to_be_visible()
    expect(other.get_by_text("ditangani oleh Pengguna loket1")).to_be_visible()
    other.close()
    assert page_errors == []
