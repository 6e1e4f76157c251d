"""Rendering a one-page letter with its QR code (the render share of "issue one letter").

In-process, a temporary SQLite database with the demo-like profile (with a logo), the two officials,
the standard catalogue and one resident's domisili request. One run = ``letter_render.render_pdf``
with a number and a verify URL: template (admin-edit check included), data, QR code, xhtml2pdf.
The first render of a process (fonts, template compilation) is reported apart, then ``--runs``
measured runs; the steps of one run are timed separately too. A bare xhtml2pdf document of one
paragraph, measured in the same run, shows what the machine gives at the moment.

    .venv/bin/python bench/bench_render.py [--runs 20] [--keep]

Targets (issue 4): issue one letter (render + QR + sign + store) median ≤ 150 ms, so the render
should stay ≤ 100 ms median; a signed one-page letter ≤ 120 KB, so the unsigned one ≤ 90 KB.
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw  # noqa: E402

RENDER_TARGET_MS = 100
SIZE_TARGET_KB = 90


def emblem_png() -> bytes:
    """A 1200×1400 coloured shield, like a regency emblem scanned at high resolution."""
    img = Image.new("RGB", (1200, 1400), "white")
    draw = ImageDraw.Draw(img)
    draw.polygon([(100, 100), (1100, 100), (1100, 800), (600, 1300), (100, 800)], fill=(0, 90, 170),
                 outline=(230, 180, 0), width=30)
    for i in range(8):
        draw.ellipse([300 + i * 40, 300 + i * 30, 900 - i * 40, 900 - i * 30], outline=(230, 180, 0), width=12)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def ms(seconds: float) -> float:
    return seconds * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the PDF")
    args = parser.parse_args()

    from sempelmas import create_app
    from sempelmas.extensions import db
    from sempelmas.models.accounts import AccountStatus, Registration, Role, RoleGrant, User
    from sempelmas.models.profile import KelurahanProfile, Official
    from sempelmas.models.residents import Resident
    from sempelmas.services.files.uploads import reencode_image
    from sempelmas.services.letters import letter_context
    from sempelmas.services.letters import pdf as letter_pdf
    from sempelmas.services.letters import render as letter_render
    from sempelmas.services.letters import templates as letter_templates
    from sempelmas.services.requests import submission as requests
    from sempelmas.services.requests.catalogue_standard import seed_standard

    tmp = Path(tempfile.mkdtemp(prefix="bench-render-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'b.db'}",
                      "INSTANCE_PATH": str(tmp), "UPLOAD_DIR": str(tmp / "uploads"), "PROFILE_CACHE_SECONDS": 0})
    try:
        with app.app_context():
            db.create_all()  # a throwaway database for the benchmark only
            profile = KelurahanProfile(
                province_name="Jawa Timur", regency_name="Mojokerto", district_name="Kranggan", village_name="Jagalan",
                region_code="35.76.03.1004", address="Jl. Pemuda No. 2", postcode="61321", phone="(0321) 321000",
                email="kel.jagalan@mojokertokota.go.id", website="https://jagalan.mojokertokota.go.id",
                letter_unit_code="417.604.3", tracking_prefix="JGL", office_hours="Senin-Jumat 07:30-15:30")
            profile.logo, profile.logo_mime = reencode_image(emblem_png()), "image/jpeg"
            lurah = Official(name="Drs. BAMBANG SUTRISNO, M.Si.", position="lurah", position_title="Lurah Jagalan",
                             rank="Penata Tingkat I (III/d)", nip="197501012000031001")
            db.session.add_all([profile, lurah])
            seed_standard()
            resident = Resident(nik="3576034208920002", kk_number="3576031201150007", full_name="SITI RAHAYU",
                                birth_place="MOJOKERTO", birth_date=date(1992, 8, 2), gender="P",
                                address="Jl. Pemuda No. 12", rt="003", rw="002", religion="ISLAM",
                                occupation="WIRASWASTA", marital_status="KAWIN", citizenship="WNI")
            user = User(full_name="Siti Rahayu", status=AccountStatus.VERIFIED, password_hash="x", resident=resident)
            user.roles.append(RoleGrant(role=Role.RESIDENT))
            user.registration = Registration(
                nik=resident.nik, kk_number=resident.kk_number, full_name=resident.full_name,
                birth_place=resident.birth_place, birth_date=resident.birth_date, gender=resident.gender,
                address=resident.address, rt=resident.rt, rw=resident.rw, nik_warnings=[])
            db.session.add(user)
            db.session.flush()
            letter_request = requests.submit("domisili", user, resident, {"keperluan": "Membuka rekening bank"},
                                             idempotency_key=None)
            db.session.commit()

            signed_at = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
            url = "http://127.0.0.1:5000/v/Kq3xP9sLm2Vt7RwZ4nYb"

            def render() -> bytes:
                return letter_render.render_pdf(letter_request, number="470/007/417.604.3/2026", signed_at=signed_at,
                                                official=lurah, verify_url=url)

            t0 = time.perf_counter()
            pdf = render()
            first = time.perf_counter() - t0

            times, cpu = [], []
            for _ in range(args.runs):
                t0, c0 = time.perf_counter(), time.process_time()
                pdf = render()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)

            # the steps of one run, each repeated the same number of times
            steps = {"data (profile, request, endorsements)": [], "QR code": [], "template → HTML": [],
                     "HTML → PDF (xhtml2pdf)": []}
            for _ in range(args.runs):
                t0 = time.perf_counter()
                context = letter_context.request_context(letter_request, number="470/007/417.604.3/2026",
                                                        signed_at=signed_at, official=lurah, verify_url=None)
                t1 = time.perf_counter()
                context["qr"] = letter_pdf.data_uri(letter_pdf.qr_png(url))
                t2 = time.perf_counter()
                html = letter_templates.render_template_html("domisili", context)
                t3 = time.perf_counter()
                letter_pdf.html_to_pdf(html)
                t4 = time.perf_counter()
                for name, value in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    steps[name].append(value)

            bare_html = ("<html><body><p>Surat keterangan ini dibuat untuk dipergunakan sebagaimana mestinya."
                         "</p></body></html>")
            bare = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                letter_pdf.html_to_pdf(bare_html)
                bare.append(time.perf_counter() - t0)

            from pypdf import PdfReader

            pages = len(PdfReader(io.BytesIO(pdf)).pages)
            out = tmp / "letter.pdf"
            out.write_bytes(pdf)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    median = statistics.median(times)
    p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
    size_kb = len(pdf) / 1024
    print(f"one-page letter with QR ({pages} page), {args.runs} runs")
    print(f"  first render in the process: {ms(first):7.1f} ms (fonts, template compilation)")
    print(f"  render_pdf median:           {ms(median):7.1f} ms   p95 {ms(p95):.1f} ms   "
          f"min {ms(min(times)):.1f} ms")
    print(f"  render_pdf CPU time median:  {ms(statistics.median(cpu)):7.1f} ms   (this process only: what the "
          f"figure is without the other load on the shared machine)")
    for name, values in steps.items():
        share = statistics.median(values) / sum(statistics.median(v) for v in steps.values())
        print(f"    {name:<38} {ms(statistics.median(values)):7.1f} ms  {share:5.0%}")
    print(f"  bare one-paragraph xhtml2pdf: {ms(statistics.median(bare)):6.1f} ms median (machine load reference)")
    print(f"  PDF size: {size_kb:.1f} KB (unsigned){'  kept: ' + str(out) if args.keep else ''}")
    ok = ms(median) <= RENDER_TARGET_MS and size_kb <= SIZE_TARGET_KB and pages == 1
    print(f"targets: render median ≤ {RENDER_TARGET_MS} ms, unsigned PDF ≤ {SIZE_TARGET_KB} KB, one page")
    print(f"RESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
