"""Figure (issue 15): a new resident's path from opening the app to a submitted domisili request, in Chromium at
360 × 740: ≤ 25 taps and ≤ 12 typed fields.

The script builds a throw-away instance (temp SQLite, ``flask db upgrade``, ``seed-demo``, ``seed-catalogue``,
``pki-init``), serves it with gunicorn on 127.0.0.1 and walks the path as a person does, counting what they do:

* a typed field: each box the person types into (``fill``);
* taps: a link or button pressed (one), a list opened and an option chosen (two), a check box (one), a photo
  picked (two: open the camera or gallery, take or choose).

Two people, each new to the app: one the kelurahan's population register knows (NIK, KK number and birth date
match an imported entry with religion, marital status and occupation: the usual case once a kelurahan imported its
register), and one it does not know (a self-registered entry: the form asks what the letter needs). Between
registering and asking, the office verifies the account (not counted: the resident waits). The path:

1. open the app (``/``), tap "Daftar", fill the registration as the form asks (the fields the register
   already knows are not asked), pick the KTP photo, consent, tap "Daftar";
2. (the office verifies the account);
3. open the app again at the manifest's ``start_url`` (signed in: the resident's home), tap "Ajukan surat",
   tap the domisili service, fill "Keperluan", pick the KK photo (the KTP from the registration is reused),
   answer what the letter needs and the register lacks, tap "Periksa sebelum dikirim", tap "Kirim permohonan".

    .venv/bin/python bench/bench_first_request.py [--keep] [--headed]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from bench_http import ROOT, Server, run, start_gunicorn, stop, wait_ready  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TAPS_MAX, TYPED_MAX = 25, 12
PASSWORD = "sandi-warga-2026"
#: (who, NIK, KK, name, birth date, gender, in the register)
PEOPLE = [
    ("known to the register", "3576034403920077", "3576031203150077", "RINA MARLINA", "1992-04-04", "P", True),
    ("not in the register", "3576035507950088", "3576031203150088", "DEWI ANGGRAINI", "1995-07-15", "P", False),
]
REGISTER_ENTRY = textwrap.dedent("""
    import sys
    from datetime import date
    from app import app
    from sempelmas.extensions import db
    from sempelmas.models.residents import Resident
    nik, kk, name, birth = sys.argv[1:5]
    with app.app_context():
        db.session.add(Resident(nik=nik, kk_number=kk, full_name=name, birth_place="MOJOKERTO",
                                birth_date=date.fromisoformat(birth), gender="P", address="JL. MERPATI 7", rt="001",
                                rw="001", religion="ISLAM", marital_status="KAWIN", occupation="WIRASWASTA",
                                source="impor"))
        db.session.commit()
""")
VERIFY = textwrap.dedent("""
    import sys
    from sqlalchemy import select
    from app import app
    from sempelmas.extensions import db
    from sempelmas.models.accounts import Registration, User
    from sempelmas.services.people import account_verification
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.username == "petugas"))
        user = db.session.scalar(select(User).join(Registration, Registration.user_id == User.id)
                                 .where(Registration.nik == sys.argv[1]))
        account_verification.verify_account(staff, user)
        db.session.commit()
""")


@dataclass
class Effort:
    who: str
    taps: int = 0
    typed: int = 0
    steps: list[str] = field(default_factory=list)

    def tap(self, locator, what: str, n: int = 1) -> None:
        locator.click()
        self._count(what, taps=n)

    def type(self, locator, text: str, what: str) -> None:
        locator.fill(text)
        self._count(what, typed=1)

    def choose(self, locator, value: str, what: str) -> None:
        locator.select_option(value)
        self._count(what, taps=2)

    def pick_photo(self, locator, path: Path, what: str) -> None:
        locator.set_input_files(str(path))
        self._count(what, taps=2)

    def tick(self, locator, what: str) -> None:
        locator.check()
        self._count(what, taps=1)

    def _count(self, what: str, *, taps: int = 0, typed: int = 0) -> None:
        self.taps += taps
        self.typed += typed
        self.steps.append(f"{'type' if typed else f'tap×{taps}'}: {what}")


def jpeg(path: Path, color) -> Path:
    from PIL import Image

    Image.new("RGB", (900, 600), color).save(path, "JPEG", quality=80)
    return path


def journey(page, base: str, person: tuple, workdir: Path, env: dict, phone: str) -> Effort:
    from playwright.sync_api import expect

    who, nik, kk, name, birth, gender, _known = person
    e = Effort(who)
    # 1. registration
    page.goto(base + "/")
    e.tap(page.get_by_role("navigation").get_by_role("link", name="Daftar"), "Daftar (menu)")
    e.type(page.get_by_label("NIK", exact=True), nik, "NIK")
    e.type(page.get_by_label("Nomor KK"), kk, "Nomor KK")
    e.type(page.get_by_label("Nama lengkap (sesuai KTP)"), name, "Nama lengkap")
    e.type(page.get_by_label("Tanggal lahir"), birth, "Tanggal lahir")
    page.get_by_label("Tanggal lahir").blur()
    expect(page.locator("#register-found, #register-missing")).to_be_visible()
    expect(page.locator("#register-extra.htmx-settling")).to_have_count(0)
    if page.locator("#register-missing").count():
        e.type(page.get_by_label("Tempat lahir"), "Mojokerto", "Tempat lahir")
        e.choose(page.get_by_label("Jenis kelamin"), gender, "Jenis kelamin")
        e.type(page.get_by_label("Alamat (jalan, gang, nomor)"), "Jl. Merpati 9", "Alamat")
        e.type(page.get_by_label("RT", exact=True), "001", "RT")
        e.type(page.get_by_label("RW", exact=True), "001", "RW")
    e.type(page.get_by_label("Nomor HP"), phone, "Nomor HP")
    e.pick_photo(page.get_by_label("Foto KTP"), jpeg(workdir / f"ktp-{nik}.jpg", (210, 200, 190)), "Foto KTP")
    e.type(page.get_by_label("Kata sandi", exact=True), PASSWORD, "Kata sandi")
    if page.get_by_label("Ulangi kata sandi").is_visible():  # hidden with JavaScript: typed once, shown on request
        e.type(page.get_by_label("Ulangi kata sandi"), PASSWORD, "Ulangi kata sandi")
    e.tick(page.get_by_label(re.compile("Saya setuju data pribadi saya diproses")), "persetujuan")
    e.tap(page.get_by_role("button", name="Daftar", exact=True), "Daftar (kirim)")
    expect(page.locator("#account-status")).to_be_visible()

    # 2. the office verifies the account (the resident only waits)
    run([sys.executable, "-c", VERIFY, nik], env, "verifying the account")

    # 3. the app opened again, at its start page
    manifest = json.loads(page.request.get(base + "/manifest.webmanifest").text())
    page.goto(base + manifest["start_url"])
    e.tap(page.get_by_role("link", name="Ajukan surat"), "Ajukan surat")
    e.tap(page.get_by_role("link", name=re.compile("Surat Keterangan Domisili")), "Domisili")
    e.type(page.get_by_label("Keperluan"), "Membuka rekening bank", "Keperluan")
    kk_photo = jpeg(workdir / f"kk-{nik}.jpg", (200, 180, 150))
    e.pick_photo(page.get_by_label("Fotokopi Kartu Keluarga", exact=True), kk_photo, "Fotokopi KK")
    ktp = page.get_by_label("Fotokopi KTP-el pemohon", exact=True)
    if ktp.count() and not page.locator("#ktp-on-file").count():  # not reused from the registration
        e.pick_photo(ktp, workdir / f"ktp-{nik}.jpg", "Fotokopi KTP")
    if page.get_by_label("Agama").count():
        e.choose(page.get_by_label("Agama"), "Islam", "Agama")
    if page.get_by_label("Status perkawinan").count():
        e.choose(page.get_by_label("Status perkawinan"), "Kawin", "Status perkawinan")
    if page.get_by_label("Pekerjaan").count():
        e.type(page.get_by_label("Pekerjaan"), "Karyawan swasta", "Pekerjaan")
    e.tap(page.get_by_role("button", name="Periksa sebelum dikirim"), "Periksa sebelum dikirim")
    e.tap(page.get_by_role("button", name="Kirim permohonan"), "Kirim permohonan")
    expect(page.locator(".flash-success")).to_contain_text("Permohonan terkirim dengan nomor")
    return e


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("--headed", action="store_true")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print("Debian chromium is needed: apt-get install -y chromium", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="figures-first-request-"))
    server: Server | None = None
    failed = False
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
        env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=f"sqlite:///{workdir / 'app.db'}",
                   SEMPELMAS_ENV="development", PKI_DIR=str(workdir / "pki"), PYTHONPATH=str(ROOT),
                   )
        flask = [sys.executable, "-m", "flask", "--app", "app"]
        for cmd in (["db", "upgrade"], ["seed-demo"], ["seed-catalogue"], ["pki-init"]):
            run(flask + cmd, env, "flask " + " ".join(cmd))
        for _who, nik, kk, name, birth, _g, known in PEOPLE:
            if known:
                run([sys.executable, "-c", REGISTER_ENTRY, nik, kk, name, birth], env, "the register entry")
        server = start_gunicorn("app", "app:app", ROOT, env, workdir)
        wait_ready(server, "/login")
        results = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=not args.headed,
                                        args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            for i, person in enumerate(PEOPLE):
                context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                              is_mobile=True, has_touch=True, locale="id-ID")
                page = context.new_page()
                results.append(journey(page, server.base, person, workdir, env, phone=f"08123456{i:04d}"))
                context.close()
            browser.close()
        print(f"Chromium at 360 × 740 on {server.base} (gunicorn); limits: ≤ {TAPS_MAX} taps, "
              f"≤ {TYPED_MAX} typed fields\n")
        for e in results:
            ok = e.taps <= TAPS_MAX and e.typed <= TYPED_MAX
            failed |= not ok
            print(f"{'PASS' if ok else 'FAIL'}  {e.who}: {e.taps} taps, {e.typed} typed fields")
            for step in e.steps:
                print(f"        {step}")
        print("\nRESULT:", "FAIL" if failed else "PASS")
        return 1 if failed else 0
    finally:
        if server:
            stop(server)
        if args.keep:
            print(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
