"""Journey: a resident's request changes status; the bell in the header shows it on a phone, without a reload."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.requests import LetterRequest
from sempelmas.services.requests.lifecycle import transition
from tests.conftest import PASSWORD, Factory
from tests.e2e.test_account_journey import NO_SIDEWAYS_SCROLL, log_in
from tests.request_factory import make_service, submit


def test_bell_counts_lists_and_refreshes_on_event(page: Page, live_app, shots):
    page_errors: list[str] = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    with live_app.app_context():
        make_service()
        f = Factory()
        resident = f.warga(name="DEWI LESTARI", female=True)
        rt = f.staff(Role.RT_HEAD, "rtbell", rt="001", rw="001")
        req = submit(resident)
        db.session.commit()
        nik, req_id, rt_id, tracking = resident.resident.nik, req.id, rt.id, req.tracking_number
        db.session.remove()

    log_in(page, nik, PASSWORD)
    expect(page).to_have_url(re.compile(r"/warga/$"))
    bell = page.locator("#bell-count")
    expect(bell).to_contain_text("1")  # loaded by htmx after the page
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shots(page, "bell-resident-home")

    # a status change elsewhere; the page asks again when told (custom event), without a reload
    with live_app.app_context():
        transition(db.session.get(LetterRequest, req_id), "return_to_resident",
                   actor=db.session.get(User, rt_id), note="KK belum dilampirkan")
        db.session.commit()
        db.session.remove()
    page.evaluate("document.body.dispatchEvent(new CustomEvent('notifications-changed'))")
    expect(bell).to_contain_text("2")

    page.get_by_role("link", name=re.compile("Notifikasi")).click()
    expect(page).to_have_url(re.compile(r"/notifikasi/$"))
    expect(page.get_by_text("Alasan: KK belum dilampirkan")).to_be_visible()
    expect(page.get_by_text(tracking).first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shots(page, "bell-list")

    page.get_by_role("button", name="Tandai semua sudah dibaca").click()
    expect(page.get_by_text("2 notifikasi ditandai sudah dibaca.")).to_be_visible()
    expect(page.locator("#bell-count .bell-count")).to_have_count(0)
    assert page_errors == []
