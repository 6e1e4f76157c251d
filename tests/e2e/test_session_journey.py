"""Journey: a resident signed in on two phones (one of them "remembered") finds both on her account page, ends
the other one, then logs out everywhere after losing a phone; a cookie copied from it no longer opens anything."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from sempelmas.extensions import db
from tests.conftest import Factory
from tests.e2e.helpers import Actor

ANDROID = ("Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
           "Mobile Safari/537.36")
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.2 Mobile/15E148 Safari/604.1")


def test_account_page_lists_devices_ends_one_and_logs_out_everywhere(browser, browser_context_args, live_app, shots):
    with live_app.app_context():
        nik = Factory().warga(name="DEWI LESTARI", female=True).resident.nik
        db.session.remove()
    own = Actor(browser.new_context(**browser_context_args, user_agent=ANDROID), "android", prefix="session")
    old = Actor(browser.new_context(**browser_context_args, user_agent=IPHONE), "iphone", prefix="session")
    own.log_in(nik)
    old.page.goto("/login")
    old.page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(nik)
    old.page.get_by_label("Kata sandi", exact=True).fill("rahasia-123")
    old.page.get_by_label("Ingat saya di perangkat ini").check()
    old.page.get_by_role("button", name="Masuk").click()
    expect(old.page).to_have_url(re.compile(r"/warga/$"))
    # someone copies the iPhone's cookies to a third browser
    thief = Actor(browser.new_context(**browser_context_args), "pencuri", prefix="session")
    thief.context.add_cookies(old.context.cookies())
    thief.page.goto("/warga/")
    expect(thief.page).to_have_url(re.compile(r"/warga/$"))

    page = own.page
    page.get_by_role("link", name="Akun", exact=True).click()
    sessions = page.locator("#sesi")
    expect(sessions.get_by_text("Chrome di Android")).to_be_visible()
    expect(sessions.get_by_text("Safari di iPhone")).to_be_visible()
    expect(sessions.get_by_text("perangkat ini")).to_have_count(1)
    own.check_screen(shots, "akun")

    # ending the iPhone's session from the Android phone ends the copy too
    sessions.locator("li", has_text="Safari di iPhone").get_by_role("button", name="Akhiri sesi ini").click()
    expect(page.get_by_text("Sesi di perangkat itu sudah diakhiri.")).to_be_visible()
    expect(sessions.get_by_text("Safari di iPhone")).to_have_count(0)
    for actor in (old, thief):
        actor.page.goto("/warga/")
        expect(actor.page).to_have_url(re.compile(r"/login"))

    # log out everywhere (the page asks first)
    old.log_in(nik)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Keluar dari semua perangkat").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("Anda sudah keluar dari semua perangkat (2 sesi).")).to_be_visible()
    old.page.goto("/warga/")
    expect(old.page).to_have_url(re.compile(r"/login"))
    assert own.errors == [] and old.errors == []
