"""Journeys on a weak signal, at 360 px: a request written without a signal is kept on the phone through a reload
and sent once when the signal is back (or discarded); a session that ended meanwhile keeps it until the person
signs in; the public service pages read offline once visited; the installed app opens on the resident's home.

No signal is two things here: Chromium's network emulation (``context.set_offline``: ``navigator.onLine`` false,
the page's own requests fail) and the server dropping every connection (``Signal``), because the emulation
does not reach the service worker's own fetches (microsoft/playwright#2311) and a worker that could still reach
the server would make "kept until the signal is back" untestable."""

from __future__ import annotations

import re
import socket
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.requests import LetterRequest, RequestAttachment
from tests.conftest import PASSWORD, Factory
from tests.e2e.helpers import FITS_360, photo, query
from tests.e2e.test_pwa import CACHED_URLS, SHELL_URL, WORKER_ACTIVE
from tests.request_factory import make_service, submit

KEPT = "() => self.SemPelMasOutbox.list()"
KEPT_FILES = """async () => (await self.SemPelMasOutbox.list()).map(rec =>
  rec.fields.filter(f => f.length > 2).map(f => [f[0], f[1] instanceof Blob, f[1].size, f[2]]))"""


class Signal:
    """The phone's signal: off = network emulation offline and the server dropping every connection."""

    def __init__(self, context: BrowserContext, app):
        self.context, self.dropping = context, False
        inner = app.wsgi_app

        def wsgi(environ, start_response):
            if self.dropping:
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)  # the phone gets no answer at all
                raise ConnectionAbortedError("no signal")  # the server's side of it: a client gone, quietly
            return inner(environ, start_response)

        self.app, self.inner = app, inner
        app.wsgi_app = wsgi

    def restore(self) -> None:
        self.app.wsgi_app = self.inner

    def off(self, emulate: bool = True) -> None:
        self.dropping = True
        if emulate:
            self.context.set_offline(True)

    def on(self) -> None:
        self.dropping = False
        self.context.set_offline(False)


@pytest.fixture
def signal(context: BrowserContext, live_app):
    made = Signal(context, live_app)
    yield made
    made.restore()


def resident_and_service(app) -> str:
    with app.app_context():
        make_service("domisili", needs_rt=True)
        f = Factory()
        nik = f.warga(name="SITI AMINAH", female=True, rt="001", rw="001").resident.nik
        f.staff(Role.RT_HEAD, "pakrt", rt="001", rw="001")
        db.session.commit()
        db.session.remove()
    return nik


def log_in(page: Page, nik: str) -> None:
    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(nik)
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def under_worker(page: Page) -> None:
    page.goto("/warga/")
    page.evaluate(WORKER_ACTIVE)
    page.reload()


def fill_form(page: Page, tmp_path, purpose: str) -> None:
    page.goto("/warga/ajukan/domisili")
    expect(page.get_by_role("heading", name="Surat domisili")).to_be_visible()
    page.get_by_label("Keperluan").fill(purpose)
    page.get_by_label("Fotokopi KK", exact=True).set_input_files(photo(tmp_path / "kk.jpg", (200, 180, 150)))


def requests_in_db(app) -> list[tuple]:
    return query(app, select(LetterRequest.tracking_number, LetterRequest.answers))


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    return errors


def test_a_request_written_offline_survives_a_reload_and_is_sent_once_when_the_signal_is_back(
        page: Page, context: BrowserContext, live_app, signal, shots, tmp_path):
    errors = watch_errors(page)
    nik = resident_and_service(live_app)
    tracking = f"JGL-{datetime.now(ZoneInfo('Asia/Jakarta')).year}-000001"
    log_in(page, nik)
    under_worker(page)

    fill_form(page, tmp_path, "Melamar pekerjaan")
    signal.off()
    page.get_by_role("button", name="Periksa sebelum dikirim").click()
    # not the browser's error page: the form stays, and the panel says it waits for a signal
    expect(page).to_have_url(re.compile(r"/warga/ajukan/domisili$"))
    outbox = page.locator("#outbox")
    expect(outbox).to_be_visible()
    expect(outbox.get_by_role("heading", name="Menunggu sinyal")).to_be_visible()
    expect(outbox.locator("li")).to_have_count(1)
    expect(outbox.locator("li")).to_contain_text("Surat domisili")
    expect(outbox.locator("li")).to_contain_text("Menunggu sinyal: dikirim otomatis begitu tersambung.")
    expect(outbox.get_by_role("button", name="Buang")).to_be_visible()
    assert page.evaluate(FITS_360)
    shots(page, "offline-01-waiting")
    # the photo is on the phone as a Blob, with its name
    assert page.evaluate(KEPT_FILES) == [[["berkas_kk", True, (tmp_path / "kk.jpg").stat().st_size, "kk.jpg"]]]
    assert requests_in_db(live_app) == []

    # the page is reloaded without a signal: the offline page, still listing the form
    page.reload()
    expect(page.get_by_role("heading", name="Anda sedang offline")).to_be_visible()
    expect(outbox.locator("li")).to_contain_text("Menunggu sinyal: dikirim otomatis begitu tersambung.")
    shots(page, "offline-02-reloaded")
    assert requests_in_db(live_app) == []

    # the signal is back: sent by itself, once
    signal.on()
    expect(outbox.locator("li")).to_contain_text(f"Terkirim dengan nomor {tracking}.", timeout=15_000)
    shots(page, "offline-03-sent")
    rows = requests_in_db(live_app)
    assert [r[0] for r in rows] == [tracking] and rows[0][1]["keperluan"] == "Melamar pekerjaan"
    assert query(live_app, select(RequestAttachment.requirement_code)) == [("kk",)]
    assert page.evaluate(KEPT) == []
    outbox.get_by_role("link", name="Lihat permohonan").click()
    expect(page.get_by_text(tracking, exact=True)).to_be_visible()
    # another page of the app opening later sends nothing more
    page.goto("/warga/")
    page.wait_for_load_state("networkidle")
    assert len(requests_in_db(live_app)) == 1

    # a second form kept without a signal, then discarded: nothing is sent when the signal comes back
    fill_form(page, tmp_path, "Tidak jadi")
    signal.off()
    page.get_by_role("button", name="Periksa sebelum dikirim").click()
    expect(outbox.locator("li")).to_contain_text("Menunggu sinyal")
    asked: list[str] = []

    def agree(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", agree)
    outbox.get_by_role("button", name="Buang").click()
    expect(outbox).to_be_hidden()
    assert asked and "dihapus dari ponsel ini" in asked[0]
    assert page.evaluate(KEPT) == []
    signal.on()
    page.goto("/warga/")
    page.wait_for_load_state("networkidle")
    assert len(requests_in_db(live_app)) == 1
    assert errors == []


def test_a_form_kept_when_the_session_has_ended_waits_for_the_person_to_sign_in(
        page: Page, context: BrowserContext, live_app, signal, shots, tmp_path):
    errors = watch_errors(page)
    nik = resident_and_service(live_app)
    log_in(page, nik)
    under_worker(page)
    fill_form(page, tmp_path, "Mengurus beasiswa")
    signal.off()
    page.get_by_role("button", name="Periksa sebelum dikirim").click()
    expect(page.locator("#outbox li")).to_contain_text("Menunggu sinyal")
    page.reload()  # the offline page

    context.clear_cookies()  # the session ends while the phone is away (its cookie expired)
    signal.on()
    item = page.locator("#outbox li")
    expect(item).to_contain_text("sesi Anda sudah berakhir", timeout=15_000)
    expect(item).to_contain_text("tetap tersimpan di ponsel")
    shots(page, "offline-04-sign-in")
    assert requests_in_db(live_app) == [] and len(page.evaluate(KEPT)) == 1

    item.get_by_role("link", name="Masuk").click()
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(nik)
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/warga/$"))
    expect(page.locator("#outbox li")).to_contain_text("Terkirim dengan nomor", timeout=15_000)
    rows = requests_in_db(live_app)
    assert len(rows) == 1 and rows[0][1]["keperluan"] == "Mengurus beasiswa"
    assert errors == []


def test_a_form_whose_sending_fails_on_the_way_is_kept_by_the_service_worker(
        page: Page, context: BrowserContext, live_app, signal, tmp_path):
    """The phone believes it is online (navigator.onLine), but the post never reaches the server: the service
    worker keeps the form and shows the offline page; the next time the app opens with a signal, it is sent."""
    errors = watch_errors(page)
    nik = resident_and_service(live_app)
    log_in(page, nik)
    under_worker(page)
    fill_form(page, tmp_path, "Melamar pekerjaan")
    signal.off(emulate=False)
    page.get_by_role("button", name="Periksa sebelum dikirim").click()
    expect(page.get_by_role("heading", name="Anda sedang offline")).to_be_visible()
    expect(page.locator("#outbox li")).to_contain_text("Surat domisili")
    assert page.evaluate(KEPT_FILES) == [[["berkas_kk", True, (tmp_path / "kk.jpg").stat().st_size, "kk.jpg"]]]
    assert requests_in_db(live_app) == []

    signal.on()
    page.goto("/warga/")  # the app opened again
    expect(page.locator("#outbox li")).to_contain_text("Terkirim dengan nomor", timeout=15_000)
    assert len(requests_in_db(live_app)) == 1

    # with a signal, a form goes through the worker as before: review, send, the request's page
    assert page.evaluate("!!navigator.serviceWorker.controller")
    fill_form(page, tmp_path, "Mengurus KTP")
    page.get_by_role("button", name="Periksa sebelum dikirim").click()
    expect(page.get_by_role("heading", name="Periksa permohonan")).to_be_visible()
    page.get_by_role("button", name="Kirim permohonan").click()
    expect(page.locator(".flash-success")).to_contain_text("Permohonan terkirim dengan nomor")
    assert len(requests_in_db(live_app)) == 2
    assert errors == []


def test_background_sync_sends_the_kept_form_with_no_page_of_the_app_open(
        page: Page, context: BrowserContext, live_app, signal, tmp_path):
    """Chromium has Background Sync: the worker sends the form by itself once the signal is back (its requests
    name the worker as their referrer), and the page opened later finds it sent."""
    senders: list[str] = []
    inner = live_app.wsgi_app

    def wsgi(environ, start_response):
        if environ.get("HTTP_X_SEMPELMAS_OUTBOX"):
            senders.append(environ.get("HTTP_REFERER", ""))
        return inner(environ, start_response)

    live_app.wsgi_app = wsgi
    nik = resident_and_service(live_app)
    log_in(page, nik)
    under_worker(page)
    assert page.evaluate("navigator.serviceWorker.ready.then(reg => 'sync' in reg)")
    fill_form(page, tmp_path, "Melamar pekerjaan")
    signal.off()
    page.get_by_role("button", name="Periksa sebelum dikirim").click()
    expect(page.locator("#outbox li")).to_contain_text("Menunggu sinyal")
    assert page.evaluate("navigator.serviceWorker.ready.then(reg => reg.sync.getTags())") == ["sempelmas-outbox"]
    page.goto("about:blank")  # no page of the app open: only the worker can send it
    signal.on()
    deadline = time.monotonic() + 20
    while not requests_in_db(live_app) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert len(requests_in_db(live_app)) == 1
    assert senders and all(s.endswith("/sw.js") for s in senders)
    page.goto("/warga/")
    page.wait_for_load_state("networkidle")
    assert page.evaluate(KEPT) == [] and len(requests_in_db(live_app)) == 1


def test_the_public_service_pages_read_offline_once_visited_and_nothing_personal_is_kept(
        page: Page, context: BrowserContext, live_app, signal, shots):
    nik = resident_and_service(live_app)
    log_in(page, nik)  # signed in: the kept copies must still carry nothing of hers
    under_worker(page)
    page.goto("/layanan")
    page.get_by_role("link", name=re.compile("Surat domisili")).click()
    expect(page).to_have_url(re.compile(r"/layanan/domisili$"))
    page.wait_for_function("""async () => {
      const cache = await caches.open("sempelmas-public");
      return (await cache.keys()).length === 2;
    }""")
    kept = page.evaluate(CACHED_URLS)
    assert sorted(url for url in kept if not SHELL_URL.match(url)) == ["/layanan", "/layanan/domisili"]
    copies = page.evaluate("""async () => {
      const cache = await caches.open("sempelmas-public");
      return Promise.all((await cache.keys()).map(async req => (await cache.match(req)).text()));
    }""")
    for html in copies:
        assert "SITI" not in html.upper().replace("SITUS", "") and nik not in html
        assert "Keluar" not in html and "Masuk" in html  # the anonymous page

    signal.off()
    page.goto("/layanan")
    expect(page.get_by_role("heading", name="Layanan surat")).to_be_visible()
    assert page.evaluate(FITS_360)
    shots(page, "offline-05-services")
    page.get_by_role("link", name=re.compile("Surat domisili")).click()
    expect(page.get_by_role("heading", name="Surat domisili")).to_be_visible()
    expect(page.get_by_text("Fotokopi KK")).to_be_visible()
    # the cached stylesheet still dresses it
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor") \
        == "rgb(11, 93, 59)"
    # a page never visited, and a personal page: the offline page
    page.goto("/layanan/lain")
    expect(page.get_by_role("heading", name="Anda sedang offline")).to_be_visible()
    page.goto("/warga/permohonan")
    expect(page.get_by_role("heading", name="Anda sedang offline")).to_be_visible()
    expect(page.get_by_text("SITI AMINAH")).to_have_count(0)


def test_the_installed_app_starts_on_the_residents_home_when_signed_in(page: Page, context: BrowserContext,
                                                                       live_app):
    nik = resident_and_service(live_app)
    page.goto("/")
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == []
    start = re.search(r'"start_url": "([^"]+)"', manifest["data"]).group(1)
    assert '"form_factor": "narrow"' in manifest["data"]
    page.goto(start)
    expect(page).to_have_url(re.compile(r"/$"))  # a visitor: the public page
    log_in(page, nik)
    page.goto(start)
    expect(page).to_have_url(re.compile(r"/warga/$"))
    expect(page.get_by_role("heading", name=re.compile("Halo"))).to_be_visible()


def test_without_js_withdrawing_asks_on_a_page_of_its_own(browser, browser_context_args, live_app):
    with live_app.app_context():
        make_service("domisili", needs_rt=True)
        user = Factory().warga(name="SITI AMINAH", female=True)
        nik, tracking = user.resident.nik, submit(user).tracking_number
        db.session.commit()
        db.session.remove()
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, nik)
        page.goto(f"/warga/permohonan/{tracking}")
        page.get_by_role("button", name="Batalkan permohonan").click()
        expect(page.get_by_role("heading", name="Batalkan permohonan?")).to_be_visible()
        assert page.locator("main").bounding_box()["width"] <= 360
        page.get_by_role("link", name="Tidak, kembali").click()
        expect(page).to_have_url(re.compile(f"/warga/permohonan/{tracking}$"))
        assert query(live_app, select(LetterRequest.status))[0][0] != "dibatalkan"
        page.get_by_role("button", name="Batalkan permohonan").click()
        page.get_by_role("button", name="Ya, batalkan permohonan").click()
        expect(page).to_have_url(re.compile(f"/warga/permohonan/{tracking}$"))
        expect(page.locator(".flash-success")).to_contain_text(f"Permohonan {tracking} dibatalkan.")
        assert query(live_app, select(LetterRequest.status))[0][0] == "dibatalkan"
    finally:
        context.close()
