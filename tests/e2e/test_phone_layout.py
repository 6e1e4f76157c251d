"""Every page each role can open, on a 360 × 740 phone: no sideways scrolling, tap targets at least 44 px
tall, a label on every input, one ``lang``, the landmarks and headings in order, AA contrast for text.

The pages are the GET rows of ``tests/views/test_access.py`` PAGES (so a new page there is checked here
too), plus the public pages and the resident's own request pages, filled with the demo data.

Also: every aria-describedby/labelledby names an element that exists, and every hx-get/hx-post link has
an href, form an action, control a form around it (the page works with JavaScript off).

The tap-target rule: buttons, inputs, selects, textareas and *standalone* links must be at least 44 px tall.
A link is standalone unless it sits in running text, i.e. its block (p, li, td, dd, dt, label, caption)
has other words around it (WCAG 2.5.5/2.5.8 exempt inline links). Checkboxes and radios count the label
wrapped around them or pointing at them. Visually hidden things (the skip link before it gets focus,
``.sr-only``) are left out: they are not tapped.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role, User
from sempelmas.models.complaints import Complaint
from sempelmas.models.jobs import Job
from sempelmas.models.letters import Letter
from sempelmas.models.profile import Official
from sempelmas.models.questions import MessageSide, RequestMessage
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.models.residents import Resident
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery
from sempelmas.services.integration import clients as api_clients
from sempelmas.services.kelurahan import demo
from sempelmas.services.kelurahan.demo import DEMO_LETTER_CODES, DEMO_RESIDENT_NIK, DEMO_RESIDENT_PASSWORD
from sempelmas.services.operations import jobs, webhooks
from sempelmas.services.requests import lifecycle, questions
from tests.conftest import Factory
from tests.views.test_access import PAGES

# (role, identifier, password) of the demo accounts (README)
LOGINS = [
    (Role.RESIDENT, DEMO_RESIDENT_NIK, DEMO_RESIDENT_PASSWORD),
    (Role.RT_HEAD, "rt01", "rt01-demo"),
    (Role.STAFF, "petugas", "petugas-demo"),
    (Role.SIGNER, "lurah", "lurah-demo"),
    (Role.ADMIN, "admin", "admin-demo"),
    (Role.ASSISTANT, "pendamping", "pendamping-demo"),
]
# not screens of the app: the letter previews (the A4 page as printed, PDF or HTML), downloads, KTP photos,
# the bell's and the questions' count fragments
NOT_SCREENS = ("/pratinjau", "/unduh", "/ktp", "/notifikasi/jumlah", "/pertanyaan/jumlah", "/foto", ".xlsx", ".csv")
PUBLIC = ["/", "/layanan", "/layanan/domisili", "/login", "/daftar", "/lupa-sandi", "/privasi",
          f"/v/{DEMO_LETTER_CODES[0]}", "/pengaduan", "/pengaduan/{public_complaint}", "/transparansi"]
RESIDENT_OWN = ["/warga/permohonan/{own}", "/warga/permohonan/{fix}", "/warga/permohonan/{fix}/perbaikan",
                "/warga/permohonan/{done}", "/warga/permohonan/{survey}", "/warga/permohonan/{survey}/survei",
                "/warga/pengaduan/{own_complaint}"]

AUDIT = """() => {
  const out = [];
  const vw = window.innerWidth;
  if (document.documentElement.scrollWidth > vw)
    out.push(`scrolls sideways: ${document.documentElement.scrollWidth} px wide > ${vw}`);
  if (!document.documentElement.lang) out.push("no lang on <html>");
  if (!document.querySelector("main")) out.push("no <main> landmark");
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    else if (el.name) s += `[name=${el.name}]`;
    else if (el.type && el.tagName === "INPUT") s += `[type=${el.type}]`;
    const t = (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 30);
    return t ? `${s} "${t}"` : s;
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || r.right <= 0 || r.bottom <= 0 && window.scrollY === 0 && r.top < -500)
      return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== "hidden" && cs.display !== "none" && el.checkVisibility();
  };
  // a table wider than the screen scrolls inside its box: stack it (table.stack) instead
  for (const t of document.querySelectorAll("table")) {
    if (shown(t) && t.getBoundingClientRect().width > vw)
      out.push(`table wider than the screen: ${Math.round(t.getBoundingClientRect().width)} px`);
  }
  // wide things poking out of the screen (the reason for sideways scrolling)
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 && shown(el) && getComputedStyle(el).position !== "fixed") {
      let inside = false;  // an element scrolled inside an overflow container is fine
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === "auto" || o === "scroll" || o === "hidden") { inside = true; break; }
      }
      if (!inside && !(el.parentElement && el.parentElement.getBoundingClientRect().right > vw + 1))
        out.push(`too wide: ${name(el)} right edge at ${Math.round(r.right)} px`);
    }
  }
  // a word in a table cell (or a stacked table's label) is never cut in two ("Dica but"); identifiers, codes and
  // hashes (snake_case, JSON, numbers) longer than a phone's line may wrap anywhere
  const cut = new Set();
  for (const cell of document.querySelectorAll("td, th")) {
    const head = cell.closest("thead");  // a stacked table keeps its header for screen readers only, 1 px wide
    if (!shown(cell) || (head && head.getBoundingClientRect().width <= 1)) continue;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      // a word: letters only between spaces, with its punctuation ("(Dicabut),")
      for (const m of n.textContent.matchAll(/(?<!\\S)[("']?([A-Za-z\\u00C0-\\u024F]{2,})[)"'.,;:!?]*(?!\\S)/g)) {
        const start = m.index + m[0].indexOf(m[1]);
        const range = document.createRange();
        range.setStart(n, start);
        range.setEnd(n, start + m[1].length);
        const rects = [...range.getClientRects()].filter((r) => r.width > 0);
        if (new Set(rects.map((r) => Math.round(r.top))).size > 1) cut.add(m[1]);
      }
    }
    const label = cell.getAttribute("data-label");
    const before = getComputedStyle(cell, "::before");
    if (label && before.content !== "none" && before.display !== "none") {
      // the label's box is not in the DOM: measure its longest word in the label's font against its width
      const probe = document.createElement("span");
      probe.style.cssText = `position:absolute;visibility:hidden;white-space:nowrap;font:${before.font}`;
      document.body.append(probe);
      for (const word of label.split(/\\s+/)) {
        probe.textContent = word;
        if (probe.getBoundingClientRect().width > parseFloat(before.width) + 0.5) cut.add(word);
      }
      probe.remove();
    }
  }
  for (const word of cut) out.push(`word cut in two in a table: "${word}"`);
  const TEXT_BLOCKS = "p, li, td, th, dd, dt, label, caption, figcaption, h1, h2, h3, h4";
  const standalone = (a) => {
    if (a.closest("nav, .actions, .tiles, .pager, .counts")) return true;
    const block = a.parentElement.closest(TEXT_BLOCKS);
    if (!block) return true;
    return block.innerText.replace(/\\s+/g, "") === a.innerText.replace(/\\s+/g, "");
  };
  const tapHeight = (el) => {
    let h = el.getBoundingClientRect().height;
    if (el.type === "checkbox" || el.type === "radio") {
      for (const l of el.labels || []) h = Math.max(h, l.getBoundingClientRect().height);
    }
    return h;
  };
  const targets = document.querySelectorAll(
    "button, input:not([type=hidden]), select, textarea, a[href], summary");
  for (const el of targets) {
    if (!shown(el)) continue;
    if (el.tagName === "A" && !standalone(el)) continue;
    const h = tapHeight(el);
    if (h < 44) out.push(`tap target ${name(el)} is ${Math.round(h)} px tall`);
  }
  const fields = "input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea";
  for (const el of document.querySelectorAll(fields)) {
    if ((el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby"))
      continue;
    out.push(`no label: ${name(el)}`);
  }
  // descriptions point at something, and htmx only enhances: links keep an href, forms an action
  for (const el of document.querySelectorAll("[aria-describedby], [aria-labelledby]")) {
    const ids = `${el.getAttribute("aria-describedby") || ""} ${el.getAttribute("aria-labelledby") || ""}`;
    for (const id of ids.split(/\\s+/).filter(Boolean))
      if (!document.getElementById(id)) out.push(`${name(el)} refers to a missing #${id}`);
  }
  for (const el of document.querySelectorAll("[hx-get], [hx-post]")) {
    if (el.tagName === "A" && !el.getAttribute("href")) out.push(`htmx link without href: ${name(el)}`);
    if (el.tagName === "FORM" && !el.getAttribute("action")) out.push(`htmx form without action: ${name(el)}`);
    if (["INPUT", "SELECT", "TEXTAREA", "BUTTON"].includes(el.tagName) && !el.form)
      out.push(`htmx control outside a form: ${name(el)}`);
  }
  // headings: one h1, no level skipped on the way down
  const hs = [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].filter(shown);
  const h1s = hs.filter((h) => h.tagName === "H1").length;
  if (h1s !== 1) out.push(`${h1s} h1 headings`);
  let level = 0;
  for (const h of hs) {
    const l = Number(h.tagName[1]);
    if (l > level + 1) out.push(`heading ${h.tagName} "${h.innerText.slice(0, 30)}" follows h${level}`);
    level = l;
  }
  // contrast (WCAG AA) of every bit of visible text against the first opaque background behind it
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let p = el; p; p = p.parentElement) {
      const c = rgb(getComputedStyle(p).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      if (getComputedStyle(p).backgroundImage !== "none") return null;
    }
    return [255, 255, 255];
  };
  const seen = new Set();
  for (const el of document.body.querySelectorAll("*")) {
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    if (!shown(el)) continue;
    const cs = getComputedStyle(el);
    const bg = background(el);
    if (!bg) continue;
    const fg = rgb(cs.color);
    const alpha = fg.length === 4 ? fg[3] * Number(cs.opacity) : Number(cs.opacity);
    const mixed = fg.slice(0, 3).map((v, i) => v * alpha + bg[i] * (1 - alpha));
    const [a, b] = [lum(mixed), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) {
      const key = `${cs.color} on rgb(${bg}) ${name(el)}`;
      if (!seen.has(key)) { seen.add(key); out.push(`contrast ${ratio.toFixed(2)} < ${need}: ${key}`); }
    }
  }
  return out;
}"""


@pytest.fixture
def live_app(make_app):
    """The demo (its accounts, requests at every step, signed letters) plus a resident waiting for
    verification and an import job, so every page in PAGES has something to show."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        assert demo.seed()
        Factory().warga(status=AccountStatus.PENDING, rt="001", rw="001", ktp=True, name="SRI WAHYUNINGSIH")
        jobs.enqueue("register_preview", {"path": "/nonexistent.csv", "filename": "warga.csv"})
        # the demo has no request in review: the staff review page shows all its forms only then
        submitted = db.session.scalar(select(LetterRequest).where(LetterRequest.status == RequestStatus.SUBMITTED))
        staff = db.session.scalar(select(User).where(User.username == "petugas"))
        lifecycle.transition(submitted, "claim", actor=staff)
        # a question on it, so the staff's thread and its "perlu perbaikan" page have one to show
        questions.post(submitted, submitted.applicant, "Apakah fotokopi KK harus dilegalisir?",
                       side=MessageSide.RESIDENT)
        db.session.commit()
        db.session.remove()
    return app


def _objects(app) -> dict:
    with app.app_context():
        pending = db.session.scalar(select(User).where(User.status == AccountStatus.PENDING))
        reqs = db.session.scalars(select(LetterRequest).order_by(LetterRequest.id)).all()
        by_status = {}
        for r in reqs:
            by_status.setdefault(r.status, r.tracking_number)
        letter = db.session.scalar(select(Letter).order_by(Letter.id))
        objects = {
            "pending": pending.id, "resident": db.session.scalar(select(Resident.id).order_by(Resident.id)),
            "official": db.session.scalar(select(Official.id).order_by(Official.id)),
            "job": db.session.scalar(select(Job.id)),
            "service": "domisili", "letter": letter.id,
            "rt_request": by_status.get(RequestStatus.AWAITING_ENDORSEMENT, reqs[0].tracking_number),
            "tracking": by_status.get(RequestStatus.IN_REVIEW, reqs[0].tracking_number),
            "to_sign": by_status.get(RequestStatus.AWAITING_SIGNATURE, reqs[0].tracking_number),
            "own": reqs[0].tracking_number,
            "fix": by_status.get(RequestStatus.NEEDS_FIX, reqs[0].tracking_number),
            "done": by_status.get(RequestStatus.DONE, reqs[-1].tracking_number),
            # a finished request not rated yet: its page shows the survey card (services.kelurahan.demo)
            "survey": next(r.tracking_number for r in reversed(reqs) if r.status == RequestStatus.DONE),
            "complaint": db.session.scalar(select(Complaint.id).order_by(Complaint.id)),
            "public_complaint": db.session.scalar(select(Complaint.code).where(Complaint.user_id.is_(None))),
            "own_complaint": db.session.scalar(select(Complaint.code).where(Complaint.user_id.is_not(None))),
        }
        question = db.session.scalar(select(RequestMessage).order_by(RequestMessage.id))
        asked = db.session.get(LetterRequest, question.request_id).tracking_number
        objects.update(asked=asked, question=question.id, webhook=_webhook(), api_client=_api_client())
        db.session.remove()
    return objects


def _api_client() -> int:
    """A client of the integration API (the demo has none)."""
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    client, _key = api_clients.create_client(
        api_clients.Settings("Portal Satu Data Diskominfo", ["catalogue:read", "letters:read", "letters:pii"],
                             ["203.0.113.7", "10.20.0.0/16"], "600/minute"), actor=admin)
    db.session.commit()
    return client.id


def _webhook() -> int:
    """An endpoint with a delivery and two attempts in its log (the demo has none)."""
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    endpoint, _secret = webhooks.create_endpoint("https://data.surabaya.go.id/webhook/sempelmas-jagalan",
                                                 list(webhooks.EVENT_TYPES), admin, "Portal data Diskominfo")
    webhooks.emit("complaint.created", {"complaint_id": 1, "code": "ADU-UJI", "status": "baru"})
    db.session.flush()
    delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.add_all([WebhookAttempt(delivery_id=delivery.id, endpoint_id=endpoint.id, status_code=503,
                                       error="HTTP 503", response_excerpt="Service Unavailable", duration_ms=41),
                        WebhookAttempt(delivery_id=delivery.id, endpoint_id=endpoint.id, ok=True, status_code=200,
                                       response_excerpt="ok", duration_ms=12)])
    db.session.commit()
    return endpoint.id


def _pages_for(role: str | None, objects: dict) -> list[str]:
    if role is None:
        urls = PUBLIC
    else:
        urls = [u for u, allowed in PAGES if role in allowed and not any(s in u for s in NOT_SCREENS)]
        if role == Role.RESIDENT:
            urls = urls + RESIDENT_OWN
    return [u.format(**objects) for u in dict.fromkeys(urls)]


def _log_in(page: Page, identifier: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(identifier)
    page.get_by_label("Kata sandi", exact=True).fill(password)
    page.get_by_role("button", name="Masuk").click()
    expect(page).not_to_have_url("/login")
    page.wait_for_load_state()


def test_every_page_fits_a_phone_with_tappable_labelled_controls(live_app, base_url, browser, shots):
    objects = _objects(live_app)
    failures: list[str] = []
    checked: list[str] = []
    for role, identifier, password in [(None, "", "")] + LOGINS:
        tab = browser.new_page(base_url=base_url, viewport={"width": 360, "height": 740},
                               locale="id-ID", timezone_id="Asia/Jakarta")
        try:
            if role is not None:
                _log_in(tab, identifier, password)
            for url in _pages_for(role, objects):
                resp = tab.goto(url)
                assert resp is not None
                if not resp.headers.get("content-type", "").startswith("text/html"):
                    failures.append(f"{role or 'anonim'} {url}: not an HTML page")
                    continue
                if resp.status != 200:
                    failures.append(f"{role or 'anonim'} {url}: HTTP {resp.status}")
                    continue
                tab.wait_for_load_state("networkidle")
                checked.append(f"{role or 'anonim'} {url}")
                shots(tab, f"layout-{role or 'anonim'}{url}")
                for problem in tab.evaluate(AUDIT):
                    failures.append(f"{role or 'anonim'} {url}: {problem}")
        finally:
            tab.close()
    print(f"{len(checked)} pages checked:\n" + "\n".join(checked))
    assert len(checked) >= 60
    assert not failures, f"{len(failures)} problems on a 360 px phone:\n" + "\n".join(failures)

