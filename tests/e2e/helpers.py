"""What the browser journeys share: one person's phone (``Actor``), camera photos, database look-ups from the
test thread, the registration form, the signing desk of the live app, and the PDF a page downloads."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from playwright.sync_api import BrowserContext, Locator, Page, expect

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.profile import Official
from sempelmas.services.letters import ca as letter_ca
from tests.conftest import PASSWORD, Factory, jpeg_bytes
from tests.signing_setup import configure

FITS_360 = "document.documentElement.scrollWidth <= 360"
TIME = re.compile(r"\d{1,2} \w+ \d{4} \d{2}\.\d{2} WIB")


class Actor:
    """One person's phone: a browser context with a page, and the script errors seen on it."""

    def __init__(self, context: BrowserContext, name: str, *, fake_clock: bool = False,
                 prefix: str = "request-journey"):
        self.context, self.name, self.prefix = context, name, prefix
        self.page = context.new_page()
        if fake_clock:  # lets the test move the page's clock on, to fire htmx polling at once
            self.page.clock.install()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda err: self.errors.append(f"{name}: {err}"))
        # a 404 is expected where the test asks for what is not the actor's (and the missing favicon); a
        # poll still in flight when the person moves to another page is aborted by the browser, which htmx
        # logs as the pair htmx:afterRequest + htmx:sendAbort (a failed answer also logs htmx:responseError)
        self.page.on("console", lambda msg: self.errors.append(f"{name} console: {msg.text}")
                     if msg.type == "error" and "status of 404" not in msg.text
                     and not msg.text.startswith(("htmx:sendAbort", "htmx:afterRequest")) else None)

    def log_in(self, identifier: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/login")
        page.get_by_label("NIK, nomor HP, atau nama pengguna").fill(identifier)
        page.get_by_label("Kata sandi", exact=True).fill(password)
        page.get_by_role("button", name="Masuk").click()
        expect(page).not_to_have_url(re.compile(r"/login"))

    def check_screen(self, shots, name: str) -> None:
        assert self.page.evaluate(FITS_360), f"{name} scrolls sideways at 360 px"
        shots(self.page, f"{self.prefix}-{name}")


def photo(path: Path, color) -> str:
    """A camera photo: a real JPEG, larger than kept (2400 px), carrying GPS coordinates in its EXIF."""
    path.write_bytes(jpeg_bytes(size=(2400, 1800), color=color, exif_gps=True))
    return str(path)


def query(app, statement):
    with app.app_context():
        try:
            return db.session.execute(statement).all()
        finally:
            db.session.remove()


def fill_registration(page: Page, *, nik: str, kk: str, name: str, birth: date, gender: str, address: str,
                      rt: str, rw: str, phone: str, ktp: str, password: str) -> None:
    """Fill in /daftar (the page must be open) as a resident does, consent included; does not send it."""
    page.get_by_label("NIK", exact=True).fill(nik)
    expect(page.locator("#nik-check")).to_contain_text("Format NIK benar")
    page.get_by_label("Nomor KK").fill(kk)
    page.get_by_label("Nama lengkap (sesuai KTP)").fill(name)
    page.get_by_label("Tanggal lahir").fill(birth.isoformat())
    page.get_by_label("Tanggal lahir").blur()
    # the register is asked (issue 15): a person it knows is not asked the rest
    expect(page.locator("#register-found, #register-missing")).to_be_visible()
    expect(page.locator("#register-extra.htmx-settling")).to_have_count(0)  # the fields wired up (~20 ms)
    if page.locator("#register-missing").count():
        page.get_by_label("Tempat lahir").fill("Mojokerto")
        page.get_by_label("Jenis kelamin").select_option(gender)
        page.get_by_label("Alamat (jalan, gang, nomor)").fill(address)
        page.get_by_label("RT", exact=True).fill(rt)
        page.get_by_label("RW", exact=True).fill(rw)
    page.get_by_label("Nomor HP").fill(phone)
    page.get_by_label("Foto KTP").set_input_files(ktp)
    page.get_by_label("Kata sandi", exact=True).fill(password)
    # typed once: with JavaScript the repeat box is hidden and filled from this one (a "show" tick instead)
    page.get_by_label(re.compile("Saya setuju data pribadi saya diproses")).check()


def signing_desk(app, tmp_path: Path, public_url: str, *, username: str = "lurah") -> User:
    """The kelurahan CA in the live app's (per-test) PKI folder, letters whose QR codes point at the live
    server, and a lurah account linked to its official's row, without a certificate yet (made on first
    passphrase, at /penandatangan/kunci). Call inside the app context; returns the lurah's account."""
    configure(app, tmp_path)  # PKI_DIR, CA passphrase, cheap scrypt; make_app restores the config afterwards
    app.config["PUBLIC_URL"] = public_url
    letter_ca.init_ca()
    lurah = Factory().staff(Role.SIGNER, username)
    db.session.add(Official(name="DRS. BAMBANG SUTRISNO", position="lurah", position_title="Lurah Jagalan",
                            rank="Penata Tingkat I (III/d)", nip="197501012000031001", user_id=lurah.id,
                            sort_order=1))
    db.session.commit()
    return lurah


def download(page: Page, link: Locator) -> tuple[bytes, str]:
    """Click ``link`` and return the bytes and the suggested file name of the download it starts."""
    with page.expect_download() as info:
        link.click()
    dl = info.value
    path = dl.path()
    assert dl.failure() is None, dl.failure()
    return Path(path).read_bytes(), dl.suggested_filename
