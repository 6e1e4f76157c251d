"""The production-mode journey (issue 17): an empty PostgreSQL database, SEMPELMAS_ENV=production, a PUBLIC_URL that
is not this machine, the app behind a TLS reverse proxy that passes the forwarded host; from ``create-admin``
through the "Siap melayani" checklist to a signed letter whose QR code decodes to that address and whose page says
SAH. Install and network: tests/golive/install.py and proxy.py. Every page is reached as a person reaches it: by the
site's name, through the proxy, over TLS (tests/golive/web_client.py)."""

from __future__ import annotations

import email
import io
import os
import re
import shutil
import time
from datetime import date

import pytest
from aiosmtpd.controller import Controller

from sempelmas.services.kelurahan.demo import make_nik
from tests.conftest import jpeg_bytes
from tests.deploy import pg
from tests.golive.install import HOST, PUBLIC_URL, Install
from tests.golive.proxy import free_port
from tests.golive.web_client import PHONE_AGENT, Visitor, checklist, options
from tests.signing_setup import qr_payloads

#: its own scratch database, apart from a concurrent run's (created and dropped by the test)
DATABASE = f"sempelmas_journey_{os.getpid()}"
ADMIN, ADMIN_PASSWORD = "admin.jagalan", "sandi-admin-jagalan-2026"
LURAH_PASSWORD = "sandi-lurah-jagalan-2026"
PASSPHRASE = "ttd-lurah-jagalan-2026"
RINA_PASSWORD = "sandi-rina-2026"
RINA_EMAIL = "rina.wulandari@mail.jagalan.go.id"
STAFF_PASSWORD = "sandi-loket-2026"
RT_PASSWORD = "sandi-ketua-rt-2026"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BIRTH = date(1988, 8, 17)
NIK, KK = make_nik(BIRTH, True, 58), "3576031705100058"
#: the register as the kelurahan keeps it: two RTs of RW 001; the resident of the letter is the first row
REGISTER = [
    (NIK, KK, "RINA WULANDARI", "Mojokerto", BIRTH, "P", "Jl. Pemuda Gg. Melati No. 3", "001", "001"),
    (make_nik(date(1985, 3, 2), False, 12), KK, "AGUS SETIAWAN", "Mojokerto", date(1985, 3, 2), "L",
     "Jl. Pemuda Gg. Melati No. 3", "001", "001"),
    (make_nik(date(1990, 1, 9), False, 31), "3576031705100077", "BUDI SANTOSO", "Surabaya", date(1990, 1, 9), "L",
     "Jl. Gajah Mada 14", "002", "001"),
    (make_nik(date(1993, 6, 21), True, 44), "3576031705100077", "SRI LESTARI", "Mojokerto", date(1993, 6, 21), "P",
     "Jl. Gajah Mada 14", "002", "001"),
]
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
    # its own database whatever TEST_DATABASE_URL names; skipped (with the reason) where no server answers, but
    # never in a run that was given a PostgreSQL database (.ci/run's second stage): there it must run
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") and not pg.server_available():
        pytest.fail("TEST_DATABASE_URL names PostgreSQL but no server answers on the local socket")
    pg.need_server()
    for tool in ("redis-server", "pdftoppm"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed (apt-get install -y redis-server poppler-utils; .ci/run does)")
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


_addresses = iter(range(21, 250))


def visitor(site: Install, **kw) -> Visitor:
    """A person with a browser, at an address of their own (127.0.0.21, .22, …)."""
    return Visitor(PUBLIC_URL, site.connect.url, site.tls.ca_file, address=f"127.0.0.{next(_addresses)}", **kw)


def register_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["NIK", "KK", "Nama", "Tempat Lahir", "Tanggal Lahir", "Jenis Kelamin", "Alamat", "RT", "RW",
                  "Agama", "Status Perkawinan", "Pekerjaan", "Kewarganegaraan"])
    for row in REGISTER:
        sheet.append([*row, "Islam", "Belum Kawin", "Karyawan Swasta", "WNI"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


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


def test_production_install_from_create_admin_to_a_signed_letter(install, smtp):
    site = install
    # ------------------------------------------------------------------ the install, as README "Production"
    site.flask("db", "upgrade")
    made = site.flask("create-admin", "--username", ADMIN, "--name", "Admin Kelurahan Jagalan",
                      "--password", ADMIN_PASSWORD)
    assert f"Admin '{ADMIN}' dibuat." in made.stdout
    site.flask("seed-catalogue")
    # as sempelmas-web.service: gunicorn starts only once doctor finds nothing at fault
    before = site.flask("doctor", "--quiet", "--before-start", check=False)
    assert before.returncode == 0, before.stdout + before.stderr
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
    # served over HTTPS: Secure cookies and HSTS
    assert all(c.secure for c in admin.session.cookies), [(c.name, c.secure) for c in admin.session.cookies]
    assert "max-age=" in admin.get("/admin/siap").headers["Strict-Transport-Security"]
    # who is asking (X-Forwarded-For, read through ProxyFix): the session is recorded with the admin's own address,
    # not the proxy's (else every resident would share one address: one login lockout, one rate limit for all)
    admin.get("/akun/sandi")
    assert f"· {admin.address}" in admin.text, admin.text[:1500]

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

    # ------------------------------------------------------------------ the population register, imported
    admin.get("/admin/impor")
    admin.submit("/admin/impor", files={"file": ("penduduk-jagalan.xlsx", register_xlsx(), XLSX)})
    preview = admin.url
    assert re.search(r"/admin/impor/\d+$", preview), admin.url
    wait_for("the preview job", lambda: "Terapkan impor" in admin.get(preview).text, site=site)
    assert "Baru: 4" in admin.text, admin.text
    admin.submit(re.compile(r"/terapkan$"))
    wait_for("the import applied", lambda: "Impor selesai." in admin.get(admin.url).text, site=site)
    assert steps(admin)["penduduk"] == "Selesai"
    # the register names two RTs, and neither has a head yet
    assert "Belum punya akun ketua: RT 001/RW 001, RT 002/RW 001." in steps_text(admin, "rtrw"), admin.text

    # ------------------------------------------------------------------ the RT heads' accounts
    for rt in ("001", "002"):
        admin.get("/admin/akun")
        admin.submit("/admin/akun", {"username": f"rt{rt}.rw001", "full_name": f"Ketua RT {rt}",
                                     "password": RT_PASSWORD, "roles": "rt", "rt": rt, "rw": "001"})
    assert steps(admin)["rtrw"] == "Selesai", admin.text

    # ------------------------------------------------------------------ the catalogue, reviewed
    assert "Tinjau katalog" in steps_text(admin, "katalog"), admin.text
    admin.get("/admin/layanan")
    assert "Surat Keterangan Domisili domisili 470" in admin.text, admin.text[:1500]
    admin.get("/admin/siap")
    admin.submit("/admin/siap/katalog")
    assert "Tinjauan katalog dicatat." in admin.text and steps(admin)["katalog"] == "Selesai"

    # ------------------------------------------------------------------ notifications: a test message delivered
    admin.get("/admin/siap")
    admin.submit("/admin/siap/pesan-uji", {"email": "lurah@jagalan.go.id"})
    assert "Pesan uji masuk antrean" in admin.text, admin.text
    wait_for("the test e-mail at the SMTP server", lambda: smtp.messages, site=site)
    assert smtp.messages[0]["To"] == "lurah@jagalan.go.id"
    assert "notifikasi kelurahan berfungsi" in smtp.messages[0].get_payload(decode=True).decode()
    assert wait_for("the step done", lambda: steps(admin)["notifikasi"] == "Selesai")

    # ------------------------------------------------------------------ backups, and a restore tried aside
    assert "Belum ada arsip cadangan" in steps_text(admin, "cadangan")
    made = site.flask("backup", "create")
    (archive,) = (site.instance / "backups").glob("*.tar*")
    tried = site.flask("backup", "restore", str(archive), "--dry-run")
    assert "Uji pemulihan berhasil" in tried.stdout, made.stdout + tried.stdout
    assert steps(admin)["cadangan"] == "Selesai", admin.text

    # ------------------------------------------------------------------ the Surat uji, its QR opened from a phone
    lurah.get("/admin/surat-uji")
    lurah.submit("/admin/surat-uji", {"passphrase": PASSPHRASE})
    assert "Surat uji UJI/001/417.604.3/" in lurah.text, lurah.text[:1500]
    pdf_link = re.search(r'href="(/admin/surat-uji/\d+\.pdf)"', lurah.html).group(1)
    (test_qr,) = qr_payloads(lurah.get(pdf_link).content)
    assert re.fullmatch(re.escape(PUBLIC_URL) + r"/v/[A-Za-z0-9_-]+", test_qr), test_qr
    assert steps(admin)["surat_uji"] == "Belum"
    phone = visitor(site, agent=PHONE_AGENT)
    phone.get(test_qr)
    assert phone.status == 200 and 'id="verdict">UJI</p>' in phone.html, phone.text[:1500]

    # ------------------------------------------------------------------ every step done; the banner gone
    assert set(steps(admin).values()) == {"Selesai"}, admin.text
    assert "10 dari 10 langkah selesai" in admin.text
    admin.get("/admin/profil")
    assert "belum siap melayani" not in admin.text
    again = visitor(site)
    log_in(again, ADMIN, ADMIN_PASSWORD)
    assert again.url == f"{PUBLIC_URL}/admin/", again.url  # ready: the admin's own home again

    # ================================================================== a real letter
    # ------------------------------------------------------------------ a resident in the register registers
    rina = visitor(site, agent=PHONE_AGENT)
    rina.get("/daftar")
    rina.submit("/daftar", {"nik": NIK, "kk_number": KK, "full_name": "Rina Wulandari",
                            "birth_date": BIRTH.isoformat(), "phone": "0813 2222 5858", "password": RINA_PASSWORD,
                            "password2": RINA_PASSWORD, "email": RINA_EMAIL, "consent": "y"},
                files={"ktp_photo": ("ktp.jpg", jpeg_bytes(size=(1200, 800)), "image/jpeg")})
    # the register knows her: she is not asked her birth place, address or RT (issue 15)
    assert "menunggu verifikasi" in rina.text, rina.text[:2000]

    # ------------------------------------------------------------------ staff verify her against the register
    admin.get("/admin/akun")
    admin.submit("/admin/akun", {"username": "loket1", "full_name": "Petugas Loket", "password": STAFF_PASSWORD,
                                 "roles": "petugas"})
    staff = visitor(site)
    log_in(staff, "loket1", STAFF_PASSWORD)
    staff.get("/petugas/akun")
    staff.get(re.search(r'href="(/petugas/akun/\d+)"', staff.html).group(1))
    assert "Cocok dengan data penduduk" in staff.text, staff.text[:2000]
    staff.submit(re.compile(r"/verifikasi$"))
    assert "Akun Rina Wulandari sudah diverifikasi." in staff.text, staff.text[:2000]

    # ------------------------------------------------------------------ she asks for a domisili letter
    rina.get("/warga/")  # signed in since she registered
    assert "sudah terverifikasi" in rina.text, rina.text[:1500]
    rina.get("/warga/ajukan/domisili")
    request_form = re.compile(r"/warga/ajukan/domisili")
    rina.submit(request_form, {"f_keperluan": "Melamar pekerjaan di PT Sumber Rejeki, Mojokerto"},
                files={"berkas_kk": ("kk.jpg", jpeg_bytes(size=(1600, 1200), exif_gps=True), "image/jpeg")})
    assert "Kirim permohonan" in rina.text, rina.text[:2000]
    rina.submit(request_form, {"langkah": "kirim"})  # the "Kirim permohonan" button
    tracking = re.search(r"Permohonan terkirim dengan nomor (JGL-\d{4}-\d{6})", rina.text)
    assert tracking, rina.text[:2000]
    tracking = tracking.group(1)
    assert "Menunggu pengantar RT/RW" in rina.text
    request_page = rina.url

    # ------------------------------------------------------------------ her RT head endorses it
    rt = visitor(site, agent=PHONE_AGENT)
    log_in(rt, "rt001.rw001", RT_PASSWORD)
    rt.get(f"/rt/permohonan/{tracking}")
    assert "RINA WULANDARI" in rt.text, rt.text[:2000]
    rt.submit(f"/rt/permohonan/{tracking}/pengantar")
    assert "permohonan diteruskan ke petugas" in rt.text, rt.text[:2000]

    # ------------------------------------------------------------------ staff take it and forward it to signing
    staff.get(f"/petugas/permohonan/{tracking}")
    staff.submit(f"/petugas/permohonan/{tracking}/tangani")
    assert "Status: Sedang diperiksa" in staff.text, staff.text[:2000]
    staff.submit(f"/petugas/permohonan/{tracking}/teruskan")
    assert "Status: Menunggu tanda tangan" in staff.text, staff.text[:2000]

    # ------------------------------------------------------------------ the lurah signs with the passphrase
    lurah.get(f"/penandatangan/permohonan/{tracking}")
    assert "Menandatangani sebagai Lurah Jagalan — DRS. BAMBANG SUTRISNO" in lurah.text, lurah.text[:2000]
    lurah.submit(f"/penandatangan/permohonan/{tracking}/tanda-tangan", {"passphrase": PASSPHRASE})
    signed = re.search(rf"Surat {tracking} ditandatangani dengan nomor ([^ ]+)\.", lurah.text)
    assert signed, lurah.text[:2000]
    number = signed.group(1)

    # ------------------------------------------------------------------ she downloads it; its QR; its page: SAH
    rina.get(request_page)
    shown = re.search(r'href="(https://[^"]+/v/[^"]+)"', rina.html).group(1)
    pdf = rina.get(f"/warga/permohonan/{tracking}/surat")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf", pdf.headers
    (qr,) = qr_payloads(pdf.content)
    assert re.fullmatch(re.escape(PUBLIC_URL) + r"/v/[A-Za-z0-9_-]+", qr), qr
    assert qr == shown
    anyone = visitor(site, agent=PHONE_AGENT)  # whoever scans the letter: not signed in
    anyone.get(qr)
    assert anyone.status == 200 and anyone.url == qr
    assert 'id="verdict">SAH</p>' in anyone.html, anyone.text[:2000]
    assert number in anyone.text and "tidak dicabut" in anyone.text

    # the e-mail telling her the letter is ready (sent by `flask background`, another process) links to the
    # public address too
    def mail_to_rina():
        return [m for m in smtp.messages if m["To"] == RINA_EMAIL
                and f"Nomor surat: {number}" in m.get_payload(decode=True).decode()]
    (ready,) = wait_for("the e-mail of her signed letter", mail_to_rina, site=site)[-1:]
    body = ready.get_payload(decode=True).decode()
    assert f"{PUBLIC_URL}/warga/permohonan/{tracking}" in body, body
    assert "127.0.0.1" not in body and "localhost" not in body, body

    # every request reached the app through the reverse proxy, by the public name
    assert {host for _m, host, _p in site.reverse.requests} == {HOST}
