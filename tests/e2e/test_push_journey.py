"""Journey: push notifications on a resident's phone (issue 15), as far as headless Chromium goes.

What Chromium cannot do here: a Playwright context is incognito, where Chromium has no Push API (subscribe
fails: that failure is tested as the resident sees it), and a normal profile's subscribe waits for Google's push
service, which this machine cannot reach. So the second phone has one piece of the browser replaced: its
PushManager hands out a subscription made by the test (a real P-256 key pair and auth secret, the endpoint a push
service of ours on 127.0.0.1). Everything else is real: the button, the permission, the JSON post with its CSRF
token, the lurah's signing and revoking, the notifier's delivery (VAPID-signed, aes128gcm-encrypted, decrypted
by the test with the phone's keys), the service worker showing what was decrypted, and the tap opening the
request (a synthetic notificationclick: focusing a window needs a real tap on a real notification).
"""

from __future__ import annotations

import json
import re

from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.profile import Official
from sempelmas.models.push import PushSubscription
from sempelmas.services.letters import certificates as letter_certs
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import issuing
from sempelmas.services.operations import delivery
from sempelmas.services.requests import lifecycle
from tests.conftest import Factory
from tests.e2e.helpers import Actor, signing_desk
from tests.push_endpoint import Browser, start_endpoint
from tests.request_factory import make_service, submit
from tests.signing_setup import LURAH_PASS

OFFER = "Beri tahu saya di HP ini saat status berubah"
WORKER_READY = "navigator.serviceWorker.ready.then(() => true)"
NOTIFICATIONS = """navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n =>
  ({title: n.title, body: n.body, tag: n.tag, url: n.data && n.data.url})))"""
#: the one piece replaced: PushManager gives the test's subscription instead of asking Google's push service
FAKE_PUSH_MANAGER = """(sub) => {
  const KEY = "test-push-subscribed";
  const made = () => ({ endpoint: sub.endpoint, expirationTime: null, toJSON: () => sub,
    unsubscribe: async () => { sessionStorage.removeItem(KEY); return true; } });
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    if (!options.userVisibleOnly || key.length !== 65 || key[0] !== 4) throw new Error("bad options");
    sessionStorage.setItem(KEY, "1");
    return made();
  };
  PushManager.prototype.getSubscription = async function () {
    return sessionStorage.getItem(KEY) ? made() : null;
  };
}"""


def setup(app, tmp_path, base_url) -> dict:
    with app.app_context():
        app.config.update(PUSH_DIR=str(tmp_path / "push"), PUSH_ALLOW_LOCAL_ENDPOINTS=True,
                          VAPID_SUBJECT="mailto:layanan@jagalan.go.id")
        lurah = signing_desk(app, tmp_path, base_url)
        official = db.session.scalar(select(Official).where(Official.user_id == lurah.id))
        letter_certs.issue_certificate(lurah, official, LURAH_PASS)
        issuing_staff = Factory().staff("petugas", "loket1")
        make_service("domisili", needs_rt=False)
        warga = Factory().warga(name="SITI AMINAH", female=True)
        request = submit(warga, key="push-1")
        for action in ("claim", "forward_to_signing"):
            lifecycle.transition(request, action, actor=issuing_staff)
        db.session.commit()
        out = {"nik": warga.resident.nik, "name": warga.full_name, "tn": request.tracking_number,
               "lurah": lurah.id, "request": request.id}
        db.session.remove()
    return out


def deliver(app) -> dict:
    """One round of the notify worker's code."""
    with app.app_context():
        try:
            return delivery.deliver_due()
        finally:
            db.session.remove()


def show_in_worker(context: BrowserContext, payload: dict) -> None:
    """Hand what the push service received, decrypted, to the phone's service worker as its push event."""
    (worker,) = context.service_workers
    worker.evaluate("""async (data) => {
      self.dispatchEvent(new PushEvent("push", {data}));
      const tag = JSON.parse(data).tag;
      for (let i = 0; i < 100; i++) {  // showNotification is asynchronous
        if ((await self.registration.getNotifications({tag})).length) return;
        await new Promise(done => setTimeout(done, 50));
      }
      throw new Error("no notification shown");
    }""", json.dumps(payload))


def tap(context: BrowserContext) -> None:
    (worker,) = context.service_workers
    worker.evaluate("""async () => {
      const [n] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent("notificationclick", {notification: n}));
    }""")


def test_the_offer_is_shown_only_where_it_helps_and_says_when_the_phone_cannot(
        context: BrowserContext, live_app, base_url, tmp_path, shots):
    s = setup(live_app, tmp_path, base_url)
    context.grant_permissions(["notifications"])
    phone = Actor(context, "warga", prefix="push")
    phone.log_in(s["nik"])
    assert phone.page.evaluate(WORKER_READY)
    expect(phone.page.get_by_role("button", name=OFFER)).to_have_count(0)  # not on first load, not at home
    page = phone.page
    page.goto(f"/warga/permohonan/{s['tn']}")
    button = page.get_by_role("button", name=OFFER)
    expect(button).to_be_visible()  # Chromium says it has Push: the offer shows
    phone.check_screen(shots, "offer")
    # a Playwright context is incognito: Chromium refuses the subscription there, and the page says so
    button.click()
    expect(page.locator("#push-offer [data-push-state]")).to_have_text(
        "Notifikasi belum dapat diaktifkan di HP ini. Coba lagi nanti.")
    phone.errors[:] = [e for e in phone.errors if "incognito" not in e]  # Chromium's own console note
    with live_app.app_context():
        assert db.session.scalars(select(PushSubscription)).all() == []
        db.session.remove()
    assert phone.errors == []


def test_a_phone_that_refused_notifications_is_not_asked(browser, browser_context_args, live_app, base_url,
                                                         tmp_path):
    s = setup(live_app, tmp_path, base_url)
    context = browser.new_context(**browser_context_args)
    phone = Actor(context, "warga", prefix="push")
    phone.log_in(s["nik"])
    page = phone.page
    page.goto(f"/warga/permohonan/{s['tn']}")
    assert page.evaluate(WORKER_READY)
    # the resident taps and says no (headless Chromium answers the prompt "denied" when not granted)
    page.get_by_role("button", name=OFFER).click()
    expect(page.locator("#push-offer [data-push-state]")).to_contain_text("Izin notifikasi ditolak")
    assert page.evaluate("Notification.permission") == "denied"
    page.reload()  # asked no more on this phone
    assert page.evaluate(WORKER_READY)
    page.wait_for_timeout(300)
    expect(page.get_by_role("button", name=OFFER)).to_be_hidden()
    page.goto("/notifikasi/")  # where the resident learns why
    expect(page.locator("#push-here [data-push-state]")).to_contain_text("Izin notifikasi ditolak")
    expect(page.get_by_role("button", name="Aktifkan di HP ini")).to_be_hidden()
    context.close()


def test_without_javascript_no_button_and_the_devices_list_still_turns_one_off(
        browser, browser_context_args, live_app, base_url, tmp_path, shots):
    s = setup(live_app, tmp_path, base_url)
    with live_app.app_context():
        from sempelmas.models.accounts import User
        from sempelmas.services.operations import push
        user = db.session.scalar(select(User).where(User.full_name == s["name"]))
        push.subscribe(user, Browser("https://fcm.googleapis.com/fcm/send/uji").subscription,
                       label="Chrome di Android")
        db.session.commit()
        db.session.remove()
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    phone = Actor(context, "warga", prefix="push-nojs")
    phone.log_in(s["nik"])
    page = phone.page
    page.goto(f"/warga/permohonan/{s['tn']}")
    expect(page.get_by_role("button", name=OFFER)).to_be_hidden()
    page.goto("/notifikasi/")
    expect(page.locator("#push-unsupported")).to_be_visible()
    expect(page.locator("#push-here")).to_be_hidden()
    expect(page.locator("#push-devices")).to_contain_text("Chrome di Android")
    phone.check_screen(shots, "devices")
    page.locator("#push-devices").get_by_role("button", name="Matikan").click()
    expect(page.get_by_text("Notifikasi dimatikan untuk Chrome di Android.")).to_be_visible()
    expect(page.locator("#push-no-devices")).to_be_visible()
    context.close()


def test_signing_and_revoking_reach_the_phone_and_the_tap_opens_the_request(
        context: BrowserContext, live_app, base_url, tmp_path, shots):
    s = setup(live_app, tmp_path, base_url)
    endpoint = start_endpoint()
    try:
        phone_keys = Browser(endpoint.url("hp-siti"))
        context.grant_permissions(["notifications"])
        phone = Actor(context, "warga", prefix="push")
        phone.page.add_init_script(f"({FAKE_PUSH_MANAGER})({json.dumps(phone_keys.subscription)})")
        phone.log_in(s["nik"])
        page: Page = phone.page
        page.goto(f"/warga/permohonan/{s['tn']}")
        page.get_by_role("button", name=OFFER).click()
        expect(page.locator("#push-offer [data-push-state]")).to_have_text(
            "Notifikasi di HP ini aktif. Anda dapat mematikannya di halaman Notifikasi.")
        expect(page.get_by_role("button", name=OFFER)).to_be_hidden()
        phone.check_screen(shots, "offer-on")
        with live_app.app_context():
            (sub,) = db.session.scalars(select(PushSubscription)).all()
            assert sub.endpoint == phone_keys.endpoint and sub.session_id
            db.session.remove()
        page.reload()  # the server knows this phone: no offer again
        assert page.evaluate(WORKER_READY)
        page.wait_for_timeout(300)
        expect(page.get_by_role("button", name=OFFER)).to_be_hidden()

        # the lurah signs; the notifier delivers; the phone shows it; a tap opens the request
        with live_app.app_context():
            from sempelmas.models.accounts import User
            from sempelmas.models.requests import LetterRequest
            lurah = db.session.get(User, s["lurah"])
            letter = issuing.issue_letter(db.session.get(LetterRequest, s["request"]), lurah, LURAH_PASS)
            db.session.commit()
            letter_id, number = letter.id, letter.number
            db.session.remove()
        assert deliver(live_app)["sent"] >= 1
        payloads = [phone_keys.decrypt(r) for r in endpoint.received]
        signed = next(p for p in payloads if p["tag"] == f"sempelmas-request-{s['tn']}")
        assert signed["url"] == f"{base_url}/warga/permohonan/{s['tn']}" and signed["tn"] == s["tn"]
        assert "SITI" not in json.dumps(payloads).upper() and s["nik"] not in json.dumps(payloads)
        page.goto("/warga/")
        show_in_worker(context, signed)
        shown = page.evaluate(NOTIFICATIONS)
        assert shown == [{"title": "SemPelMas", "body": signed["body"], "tag": signed["tag"], "url": signed["url"]}]
        tap(context)
        expect(page).to_have_url(re.compile(rf"/warga/permohonan/{s['tn']}$"))
        assert page.evaluate(NOTIFICATIONS) == []  # the tap closed it

        # the letter is revoked: told the same way
        endpoint.received.clear()
        with live_app.app_context():
            from sempelmas.models.letters import Letter
            letters.revoke(db.session.get(Letter, letter_id), db.session.get(User, s["lurah"]),
                           "Alamat pada surat keliru")
            db.session.commit()
            db.session.remove()
        assert deliver(live_app)["sent"] == 1
        (revoked,) = [phone_keys.decrypt(r) for r in endpoint.received]
        assert revoked["body"] == f"Surat {number} dicabut" and "keliru" not in json.dumps(revoked)
        page.goto("/notifikasi/")
        show_in_worker(context, revoked)
        tap(context)
        expect(page).to_have_url(re.compile(rf"/warga/permohonan/{s['tn']}$"))

        # turned off on the notifications page
        page.goto("/notifikasi/")
        expect(page.locator("#push-here [data-push-state]")).to_have_text("Notifikasi di HP ini aktif.")
        phone.check_screen(shots, "settings-on")
        page.get_by_role("button", name="Matikan di HP ini").click()
        expect(page.locator("#push-here [data-push-state]")).to_have_text("Notifikasi di HP ini tidak aktif.")
        with live_app.app_context():
            assert db.session.scalars(select(PushSubscription)).all() == []
            db.session.remove()
        assert phone.errors == []
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()
