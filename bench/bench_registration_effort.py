"""Figures: what a new resident types and taps to register (issue 15: ≤ 12 typed fields and ≤ 25 taps from opening
the app to a submitted domisili request; this is the registration part).

Counted on the pages the app renders (Flask test client, a fresh SQLite database), from the controls a person must
act on: a required text, date, phone or password box is one typed field; a required list is two taps (open, choose),
the KTP photo two (open the camera or gallery, take or choose), a required check box one, each button one, the
"Daftar sebagai warga" link one. The paths:

* before (the form up to issue 15): every field asked up front, which is the form a person the register does not
  know still gets today (the same controls: measured on that path);
* the register knows the person (NIK + KK number + birth date match): measured;
* after a typo (a phone number with a letter O): what must be done again, measured from the re-rendered page
  (a required box that came back empty, the photo if it must be picked again); before issue 15 the page came
  back without the photo and both passwords (PasswordField and FileField are never re-filled).

    .venv/bin/python bench/bench_registration_effort.py
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NIK, KK = "3576034403920077", "3576031203150077"
TYPED = {"text", "tel", "date", "password", "email", "number", None}


class Controls(HTMLParser):
    """The required controls of a page: (name, kind, value)."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and "required" in a and a.get("type") != "hidden":
            self.found.append((a.get("name", "?"), tag if tag != "input" else a.get("type") or "text",
                               a.get("value") or ""))


def effort(controls: list[tuple[str, str, str]]) -> tuple[int, int]:
    """(typed fields, taps) to fill these controls and send the form."""
    typed = sum(1 for _n, kind, _v in controls if kind in TYPED)
    taps = sum(2 if kind in ("select", "file") else 1 if kind == "checkbox" else 0 for _n, kind, _v in controls)
    return typed, taps + 1  # the Daftar button


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="register-effort-"))
    os.environ.update({"DATABASE_URL": f"sqlite:///{work / 'bench.db'}", "SECRET_KEY": "bench",
                       "SEMPELMAS_ENV": "development"})
    from flask_migrate import upgrade
    from PIL import Image

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.residents import Resident
    from sempelmas.services.kelurahan.demo import seed_profile

    app = create_app({"SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"], "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False, "REGISTER_RATE_LIMIT": "1000 per minute",
                      "REGISTER_CHECK_RATE_LIMIT": "1000 per minute", "UPLOAD_DIR": str(work / "uploads"),
                      "INSTANCE_PATH": str(work)})
    buf = io.BytesIO()
    Image.new("RGB", (640, 400), (200, 180, 150)).save(buf, "JPEG")
    photo = buf.getvalue()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_profile()
        db.session.add(Resident(nik=NIK, kk_number=KK, full_name="DEWI LESTARI", birth_place="MOJOKERTO",
                                birth_date=date(1992, 3, 4), gender="P", address="Jl. Pemuda 7", rt="002",
                                rw="001", source="impor"))
        db.session.commit()
        client = app.test_client()
        base = Controls(client.get("/daftar").get_data(as_text=True)).found

        def extra(birth: str):
            html = client.get(f"/daftar/cek-data?nik={NIK}&kk_number={KK}&birth_date={birth}",
                              headers={"HX-Request": "true"}).get_data(as_text=True)
            return Controls(html).found

        known = base + extra("1992-03-04")
        unknown = base + extra("1992-03-05")
        form = {"nik": NIK, "kk_number": KK, "full_name": "Dewi Lestari", "birth_date": "1992-03-05",
                "birth_place": "Mojokerto", "gender": "P", "address": "Jl. Pemuda 7", "rt": "2", "rw": "1",
                "phone": "0812 3456 789O", "password": "sandi-warga-2026", "password2": "sandi-warga-2026",
                "consent": "y", "ktp_photo": (io.BytesIO(photo), "ktp.jpg")}
        html = client.post("/daftar", data=form, content_type="multipart/form-data").get_data(as_text=True)
        again = [c for c in Controls(html).found if c[1] in TYPED and not c[2]]  # came back empty
        photo_again = "Foto KTP sudah diunggah" not in html

    rows = [("before: every field asked up front", *effort(unknown)),
            ("now, the register knows the person", *effort(known)),
            ("now, the register does not know the person", *effort(unknown))]
    print(f"{'registration (from the form to the account)':46} typed  taps  (+1 tap: 'Daftar sebagai warga')")
    for label, typed, taps in rows:
        print(f"  {label:44} {typed:5} {taps:5}")
    fix = 1  # the phone number typed again
    before_fix = fix + 2, 2 + 1  # both passwords typed again; the photo picked again (2 taps), the button
    now_fix = fix + len(again), (2 if photo_again else 0) + 1
    print("after a typo in the phone number (what must be done again)")
    print(f"  {'before: photo and both passwords lost':44} {before_fix[0]:5} {before_fix[1]:5}")
    print(f"  {'now: everything kept':44} {now_fix[0]:5} {now_fix[1]:5}")
    print("typed fields asked:", ", ".join(n for n, k, _v in known if k in TYPED), "| register unknown adds:",
          ", ".join(n for n, k, _v in unknown if (n, k, _v) not in known))


if __name__ == "__main__":
    main()
