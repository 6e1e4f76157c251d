"""Journey: the app on a resident's phone. Chromium finds it installable, the service worker takes over,
with the network off a visited app shows its offline page, and after logout the phone's caches hold the
app shell only, nothing of the resident."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from sempelmas.extensions import db
from tests.conftest import PASSWORD, Factory

WORKER_ACTIVE = """async () => {
  const reg = await navigator.serviceWorker.ready;
  const worker = reg.active;
  if (worker.state !== "activated") {
    await new Promise(done => worker.addEventListener("statechange",
      () => worker.state === "activated" && done()));
  }
  return reg.scope;
}"""
CACHED_URLS = """async () => {
  const found = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const req of await cache.keys()) found.push(new URL(req.url).pathname + new URL(req.url).search);
  }
  return found;
}"""
SHELL_URL = re.compile(r"^(/static/(css|js|vendor)/[\w.-]+(\?v=\w+)?|/pwa/icon-(maskable-)?\d+\.png\?v=\w+|/offline)$")


def log_in(page: Page, identifier: str) -> None:
    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(identifier)
    page.get_by_label("Kata sandi", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_app_is_installable_and_shows_the_offline_page_without_network(page: Page, context: BrowserContext,
                                                                        live_app, shots):
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    with live_app.app_context():
        nik = Factory().warga(name="SITI AMINAH", female=True).resident.nik
        db.session.commit()
        db.session.remove()

    page.goto("/")
    assert page.evaluate(WORKER_ACTIVE).endswith("/")  # scope: the whole app

    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [], manifest["errors"]
    assert manifest["url"].endswith("/manifest.webmanifest")
    assert '"name": "SemPelMas Kelurahan Jagalan"' in manifest["data"]
    installability = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # a Playwright context is incognito, which Chromium always reports; nothing else may be reported
    assert [e for e in installability if e["errorId"] != "in-incognito"] == []

    # the resident uses the app, then leaves the phone
    log_in(page, nik)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.goto("/warga/permohonan")
    expect(page.get_by_role("heading", name="Permohonan saya")).to_be_visible()
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(re.compile(r"/login$"))

    cached = page.evaluate(CACHED_URLS)
    paths = {url.split("?")[0] for url in cached}  # static URLs carry their content's version
    assert "/offline" in paths and "/static/css/app.css" in paths
    assert [url for url in cached if not SHELL_URL.match(url)] == []  # no page of the resident, no file

    # the network goes: another page of the app shows the offline page, not the browser's error
    context.set_offline(True)
    page.goto("/layanan")
    expect(page.get_by_role("heading", name="Anda sedang offline")).to_be_visible()
    expect(page.get_by_role("link", name="Coba lagi")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor") \
        == "rgb(11, 93, 59)"  # the cached stylesheet
    assert page.evaluate("document.documentElement.scrollWidth <= 360")
    shots(page, "pwa-offline")
    page.goto("/warga/permohonan")
    expect(page).to_have_url(re.compile(r"/warga/permohonan$"))
    expect(page.get_by_role("heading", name="Anda sedang offline")).to_be_visible()
    expect(page.get_by_text("SITI AMINAH", exact=False)).to_have_count(0)
    # "Coba lagi" asks for the same page again
    retry = page.get_by_role("link", name="Coba lagi")
    assert retry.evaluate("a => a.href") == page.url

    # back online, "Coba lagi" opens the page asked for (for a visitor: the login, then that page)
    context.set_offline(False)
    retry.click()
    expect(page).to_have_url(re.compile(r"/login\?next=/warga/permohonan$"))
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []


def test_install_offer_shows_for_residents_and_stays_dismissed(page: Page, live_app, shots):
    with live_app.app_context():
        nik = Factory().warga().resident.nik
        db.session.commit()
        db.session.remove()
    offer = """() => {
      const ev = new Event("beforeinstallprompt", {cancelable: true});
      ev.prompt = () => { window.__prompted = true; return Promise.resolve(); };
      ev.userChoice = Promise.resolve({outcome: "accepted"});
      window.dispatchEvent(ev);
      return ev.defaultPrevented;
    }"""
    page.goto("/")
    assert page.evaluate(offer) is False  # no offer for a visitor: the browser's own behaviour
    expect(page.get_by_role("button", name="Pasang aplikasi")).to_have_count(0)

    log_in(page, nik)
    page.wait_for_load_state()  # the deferred scripts have run
    prompt = page.locator("#install-prompt")
    expect(prompt).to_be_hidden()  # nothing until the browser offers installation
    assert page.evaluate(offer) is True
    expect(page.get_by_role("button", name="Pasang aplikasi")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= 360")
    shots(page, "pwa-install-offer")
    page.get_by_role("button", name="Pasang aplikasi").click()
    assert page.evaluate("window.__prompted") is True
    expect(prompt).to_be_hidden()

    page.reload()
    assert page.evaluate(offer) is True
    page.get_by_role("button", name="Nanti saja").click()
    expect(prompt).to_be_hidden()
    page.reload()
    assert page.evaluate(offer) is False  # dismissed on this phone: not offered again
    expect(prompt).to_be_hidden()
