"""The production-mode journey (issue 17): an empty PostgreSQL database, SEMPELMAS_ENV=production, a PUBLIC_URL that
is not this machine, the app behind a TLS reverse proxy that passes the forwarded host; from ``create-admin``
through the "Siap melayani" checklist to a signed letter whose QR code decodes to that address and whose page says
SAH. Install and network: tests/golive/install.py and proxy.py. Every page is reached as a person reaches it: by the
site's name, through the proxy, over TLS (tests/golive/web_client.py)."""

from __future__ import annotations

import email
import re
import time

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import jpeg_bytes
from tests.deploy import pg
from tests.golive.install import HOST, PUBLIC_URL, Install
from tests.golive.proxy import free_port
from tests.golive.web_client import PHONE_AGENT, Visitor, checklist, options

DATABASE = "sempelmas_journey"
ADMIN, ADMIN_PASSWORD = "admin.jagalan", "sandi-admin-jagalan-2026"
LURAH_PASSWORD = "sandi-lurah-jagalan-2026"
PASSPHRASE = "ttd-lurah-jagalan-2026"
PROFILE = {"village_name": "Jagalan", "district_name": "Kranggan", "regency_name": "Mojokerto",
           "province_name": "Jawa Timur", "region_code": "35.76.03.1004", "address": "Jl. Pemuda No. 2, Jagalan",
           "postcode": "61316", "phone": "(0321) 321000", "letter_unit_code": "417.604.3", "tracking_prefix": "JGL"}


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def install(tmp_path, smtp):
    pg.need_server()
    pg.create(DATABASE)
    site = Install(tmp_path, DATABASE, smtp.port)
    try:
        site.start_redis()
        yield site
    finally:
        site.stop()
        pg.drop(DATABASE)


def wait_for(what: str, check, seconds: float = 30, site: Install | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds} s" + (f"\n{site.logs_tail()}" if site else ""))


def visitor(site: Install, **kw) -> Visitor:
    return Visitor(PUBLIC_URL, site.connect.url, site.tls.ca_file, **kw)


def steps(admin: Visitor) -> dict[str, str]:
    """Open the checklist; {step: "Selesai" | "Belum"}."""
    admin.get("/admin/siap")
    return {k: badge for k, (badge, _text) in checklist(admin.html).items()}


def steps_text(admin: Visitor, key: str) -> str:
    admin.get("/admin/siap")
    return checklist(admin.html)[key][1]


def option_value(person: Visitor, select: str, label: str) -> str:
    (value,) = [v for v, text in options(person.html, select) if label in text]
    return value


def log_in(person: Visitor, identifier: str, password: str) -> None:
    person.get("/login")
    person.submit("/login", {"identifier": identifier, "password": password})
    assert "/login" not in person.url, person.text[:600]


def test_production_install_from_create_admin_to_a_signed_letter(install, smtp, tmp_path):
    site = install
    # ------------------------------------------------------------------ the install, as README "Production"
    site.flask("db", "upgrade")
    made = site.flask("create-admin", "--username", ADMIN, "--name", "Admin Kelurahan Jagalan",
                      "--password", ADMIN_PASSWORD)
    assert f"Admin '{ADMIN}' dibuat." in made.stdout
    site.flask("seed-catalogue")
    site.start_web()
    site.start_background()

    admin = visitor(site)
    log_in(admin, ADMIN, ADMIN_PASSWORD)
    # the admin's first screen in a new production install is the checklist; of its steps only the public
    # address is done: the app fetched <PUBLIC_URL>/healthz itself, by name, through the proxy and TLS (as a phone
    # would), and found its own token there
    assert admin.url == f"{PUBLIC_URL}/admin/siap", admin.url
    assert "Siap melayani" in admin.text and "1 dari 10 langkah selesai" in admin.text, admin.text[:800]
    first = checklist(admin.html)
    assert [k for k, (badge, _t) in first.items() if badge == "Selesai"] == ["alamat"], first
    assert f"{HOST}:443" in site.connect.tunnels
    assert ("GET", HOST, "/healthz") in site.reverse.requests

    # ------------------------------------------------------------------ profile and logo (kop preview)
    admin.get("/admin/profil")
    admin.submit("/admin/profil", PROFILE, files={"logo": ("logo-jagalan.jpg", jpeg_bytes(), "image/jpeg")})
    assert admin.status == 200, admin.text[:800]
    assert steps(admin)["profil"] == "Selesai", admin.text
    assert "KELURAHAN JAGALAN" in admin.text and 'src="data:image/jpeg;base64,' in admin.html  # the kop preview

    # ------------------------------------------------------------------ the CA, made and backed up
    assert "CA belum dibuat" in admin.text
    assert "CA dibuat: CN=CA Kelurahan Jagalan" in site.flask("pki-init").stdout
    admin.get("/admin/siap")
    backup_pem = admin.get("/admin/siap/cadangan-ca").content
    assert b"ENCRYPTED PRIVATE KEY" in backup_pem
    admin.get("/admin/siap")
    admin.submit("/admin/siap/cadangan-ca", files={"berkas": ("ca-jagalan.pem", backup_pem, "application/x-pem-file")})
    assert "Cadangan CA dikonfirmasi." in admin.text and steps(admin)["ca"] == "Selesai"

    # ------------------------------------------------------------------ officials, a signer and the signer's key
    admin.get("/admin/akun")
    admin.submit("/admin/akun", {"username": "lurah", "full_name": "Drs. Bambang Sutrisno",
                                 "password": LURAH_PASSWORD, "roles": "penandatangan"})
    admin.get("/admin/pejabat")
    lurah_option = option_value(admin, "user_id", "lurah")
    admin.submit("/admin/pejabat", {"name": "DRS. BAMBANG SUTRISNO", "position": "lurah",
                                    "position_title": "Lurah Jagalan", "rank": "Penata Tingkat I (III/d)",
                                    "nip": "197501012000031001", "user_id": lurah_option})
    assert "Kunci tanda tangan belum dibuat" in steps_text(admin, "pejabat"), admin.text
    lurah = visitor(site)
    log_in(lurah, "lurah", LURAH_PASSWORD)
    lurah.get("/penandatangan/kunci")
    lurah.submit("/penandatangan/kunci", {"account_password": LURAH_PASSWORD, "passphrase": PASSPHRASE,
                                          "passphrase2": PASSPHRASE})
    assert "Sertifikat tanda tangan sudah diterbitkan" in lurah.text, lurah.text[:800]
    assert steps(admin)["pejabat"] == "Selesai", admin.text
