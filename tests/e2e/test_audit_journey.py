"""Journey: the admin, on a phone, filters the audit log without a page reload, follows an object's trail
and checks the hash chain."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.accountability import audit
from tests.conftest import PASSWORD, Factory
from tests.e2e.test_account_journey import NO_SIDEWAYS_SCROLL, log_in


def test_admin_filters_the_audit_log_and_checks_the_chain(page: Page, live_app, shots):
    page_errors: list[str] = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    with live_app.app_context():
        f = Factory()
        admin = f.staff(Role.ADMIN, "adminjejak")
        staff = f.staff(Role.STAFF, "petugasjejak")
        audit.record("letter.revoke", actor=staff, object_type="letters", object_id=41, number="470/041/2026",
                     reason="Salah tanggal lahir")
        audit.record("request.view", actor=staff, object_type="letter_requests", object_id=9)
        db.session.commit()
        username = admin.username
        db.session.remove()

    log_in(page, username, PASSWORD)
    page.goto("/admin/audit")
    expect(page.get_by_role("heading", name="Log audit", exact=True)).to_be_visible()
    expect(page.get_by_text("Surat dicabut")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shots(page, "audit-log")

    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Tindakan (awalan kode, mis. letter.)").fill("letter.")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page).to_have_url(re.compile(r"aksi=letter\."))
    expect(page.locator("#results code", has_text="request.view")).to_have_count(0)
    expect(page.locator("#results").get_by_text("Salah tanggal lahir")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true")  # swapped by htmx, not reloaded

    page.locator("#results").get_by_role("link", name="letters 41").click()
    expect(page).to_have_url(re.compile(r"jenis=letters&objek=41"))
    expect(page.locator("#results tbody tr")).to_have_count(1)

    page.get_by_role("button", name="Periksa rantai sekarang").click()
    expect(page.get_by_role("status")).to_contain_text("Rantai utuh")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shots(page, "audit-chain-checked")
    assert page_errors == []
