"""Letters rendered for real requests of every standard service: a real PDF, checked with poppler and zxing."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from sempelmas.extensions import db
from sempelmas.models.letters import LetterTemplate
from sempelmas.models.profile import Official
from sempelmas.models.requests import Endorsement
from sempelmas.services.letters import kop as kop_surat
from sempelmas.services.letters import pdf as letter_pdf
from sempelmas.services.letters import render as letter_render
from sempelmas.services.letters import template_check, templates
from sempelmas.services.letters.pdf import LetterRenderError
from sempelmas.services.letters.template_check import DEMO_ANSWERS
from sempelmas.services.requests.catalogue_standard import STANDARD, seed_standard
from tests.conftest import jpeg_bytes
from tests.request_factory import make_profile, submit

SIGNED = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 WIB
VERIFY_URL = "https://layanan.jagalan.test/v/Kq3xP9sLm2Vt7RwZ4nYb"
MM = 72 / 25.4


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout
    return " ".join(text.split())  # justified lines and wraps: compare words, not layout


def qr_codes(pdf: bytes, tmp_path) -> list[str]:
    import zxingcpp
    from PIL import Image

    path = tmp_path / "qr.pdf"
    path.write_bytes(pdf)
    png = subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(path)], capture_output=True,
                         check=True).stdout
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.fixture
def kelurahan(app, factory):
    profile = make_profile()
    profile.letter_unit_code = "417.604.3"
    profile.postcode, profile.phone = "61321", "(0321) 321000"
    profile.email, profile.website = "kel.jagalan@mojokertokota.go.id", "https://jagalan.mojokertokota.go.id"
    profile.logo, profile.logo_mime = jpeg_bytes(size=(900, 1100), color=(20, 90, 160)), "image/jpeg"
    lurah = Official(name="Drs. BAMBANG SUTRISNO, M.Si.", position="lurah", position_title="Lurah Jagalan",
                     rank="Penata Tingkat I (III/d)", nip="197501012000031001", sort_order=1)
    sekretaris = Official(name="ENDAH PRATIWI, S.Sos.", position="sekretaris", position_title="Sekretaris Kelurahan",
                          rank="Penata (III/c)", nip="198203152006042003", sort_order=2)
    db.session.add_all([lurah, sekretaris])
    seed_standard()
    resident = factory.resident(name="SITI RAHAYU", female=True, birth=date(1992, 8, 12), rt="003", rw="002")
    resident.religion, resident.occupation, resident.marital_status = "ISLAM", "WIRASWASTA", "BELUM KAWIN"
    warga = factory.warga(resident=resident)
    db.session.commit()
    return {"profile": profile, "lurah": lurah, "sekretaris": sekretaris, "warga": warga}


def request_for(kelurahan, code: str):
    spec = next(s for s in STANDARD if s["code"] == code)
    names = [line.split("|")[0].strip() for line in spec["fields"].strip().splitlines()]
    answers = {n: DEMO_ANSWERS[n] for n in names}
    for key in ("tanggal_lahir", "tanggal_meninggal", "tanggal_nikah"):
        if key in answers:
            answers[key] = date.fromisoformat(answers[key]).strftime("%d/%m/%Y")
    letter_request = submit(kelurahan["warga"], service=code, answers=answers)
    db.session.commit()
    return letter_request


TITLES = {
    "domisili": "SURAT KETERANGAN DOMISILI", "keterangan": "SURAT KETERANGAN TIDAK MAMPU",
    "pengantar_skck": "SURAT PENGANTAR", "kelahiran": "SURAT KETERANGAN KELAHIRAN",
    "usaha": "SURAT KETERANGAN USAHA", "kematian": "SURAT KETERANGAN KEMATIAN",
    "pengantar_akta_kelahiran": "SURAT PENGANTAR", "pindah_keluar": "SURAT KETERANGAN PINDAH",
    "belum_menikah": "SURAT KETERANGAN BELUM PERNAH MENIKAH", "pengantar_nikah": "SURAT PENGANTAR PERKAWINAN",
}
BODY_WORDS = {
    "domisili": "berdomisili", "keterangan": "tidak mampu", "pengantar_skck": "Catatan Kepolisian",
    "kelahiran": "ANISA PUTRI RAHAYU", "usaha": "Warung Makan Bu Siti", "kematian": "SUPARMAN",
    "pengantar_akta_kelahiran": "Akta Kelahiran", "pindah_keluar": "Sawahan", "belum_menikah": "belum pernah menikah",
    "pengantar_nikah": "DEWI LESTARI",
}


def test_every_standard_service_has_a_title_and_body_check():
    assert set(TITLES) == {s["code"] for s in STANDARD} == set(BODY_WORDS)


@pytest.mark.parametrize("code", list(TITLES))
def test_every_standard_letter_renders_to_a_one_page_pdf_with_kop_number_resident_and_signature(
        kelurahan, code, tmp_path):
    letter_request = request_for(kelurahan, code)
    pdf = letter_render.render_pdf(letter_request, number="470/007/417.604.3/2026", signed_at=SIGNED,
                                   official=kelurahan["lurah"], verify_url=VERIFY_URL)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = pdf_text(pdf, tmp_path)
    for line in ("PEMERINTAH KOTA MOJOKERTO", "KECAMATAN KRANGGAN", "KELURAHAN JAGALAN", "Jl. Pemuda 2",
                 "Kode Pos 61321", "kel.jagalan@mojokertokota.go.id", TITLES[code], "Nomor: 470/007/417.604.3/2026",
                 "Mojokerto, 27 November 2026", "LURAH JAGALAN", "Drs. BAMBANG SUTRISNO, M.Si.",
                 "Penata Tingkat I (III/d)", "NIP. 19750101 200003 1 001", BODY_WORDS[code], "Pasal 5 ayat (1)",
                 VERIFY_URL):
        assert line in text, (code, line)
    if code not in ("kelahiran", "kematian"):  # letters about someone else name the reporter elsewhere
        assert "SITI RAHAYU" in text
    assert "PRATINJAU" not in text
    print(f"{code}: {len(pdf) / 1024:.1f} KB")
    assert len(pdf) < 90 * 1024  # signed ≤ 120 KB leaves room for the signature and certificate chain


def test_the_person_table_shows_the_register_data(kelurahan, tmp_path):
    text = pdf_text(letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                             official=kelurahan["lurah"], verify_url=None), tmp_path)
    nik = kelurahan["warga"].resident.nik
    for value in (nik, "Mojokerto, 12 Agustus 1992", "Perempuan", "Islam", "Wiraswasta", "Belum Kawin",
                  "RT 003 / RW 002", "Persyaratan melamar pekerjaan"):
        assert value in text, value


def test_fonts_are_embedded_subsets(kelurahan, tmp_path):
    pdf = letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                   official=kelurahan["lurah"], verify_url=None)
    path = tmp_path / "f.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "+DejaVuSerif " in fonts and "+DejaVuSerif-Bold" in fonts


def test_the_qr_code_carries_the_verify_url(kelurahan, tmp_path):
    letter_request = request_for(kelurahan, "domisili")
    signed = letter_render.render_pdf(letter_request, number="470/001/417.604.3/2026", signed_at=SIGNED,
                                      official=kelurahan["lurah"], verify_url=VERIFY_URL)
    assert qr_codes(signed, tmp_path) == [VERIFY_URL]
    unsigned = letter_render.render_pdf(letter_request, number="470/001/417.604.3/2026", signed_at=SIGNED,
                                        official=kelurahan["lurah"], verify_url=None)
    assert qr_codes(unsigned, tmp_path) == []


def test_a_preview_is_marked_has_no_number_and_no_qr(kelurahan, tmp_path):
    pdf = letter_render.render_pdf(request_for(kelurahan, "domisili"), number=None, signed_at=None, official=None,
                                   verify_url=VERIFY_URL)
    text = pdf_text(pdf, tmp_path)
    assert "PRATINJAU" in text and "Nomor: (diberikan saat ditandatangani)" in text
    assert "Drs. BAMBANG SUTRISNO" in text  # the lurah's block, as it will be signed
    assert qr_codes(pdf, tmp_path) == []
    assert VERIFY_URL not in text


def test_f4_paper_when_the_profile_says_so(kelurahan):
    kelurahan["profile"].paper_size = "F4"
    db.session.commit()
    pdf = letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                   official=kelurahan["lurah"], verify_url=None)
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert round(float(box.width) / MM) == 215 and round(float(box.height) / MM) == 330
    kelurahan["profile"].paper_size = "A4"
    db.session.commit()
    box = PdfReader(io.BytesIO(letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1",
                                                        signed_at=SIGNED, official=kelurahan["lurah"],
                                                        verify_url=None))).pages[0].mediabox
    assert round(float(box.width) / MM) == 210 and round(float(box.height) / MM) == 297


@pytest.mark.parametrize(("capacity", "lines"), [
    ("a.n.", ["a.n. LURAH JAGALAN", "Sekretaris Kelurahan", "ENDAH PRATIWI, S.Sos.", "NIP. 19820315 200604 2 003"]),
    ("Plh.", ["Plh. LURAH JAGALAN", "ENDAH PRATIWI, S.Sos."]),
    ("Plt.", ["Plt. LURAH JAGALAN", "ENDAH PRATIWI, S.Sos."]),
])
def test_signature_block_follows_the_capacity(kelurahan, tmp_path, capacity, lines):
    pdf = letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                   official=kelurahan["sekretaris"], capacity=capacity, verify_url=None)
    text = pdf_text(pdf, tmp_path)
    for line in lines:
        assert line in text


def test_the_rt_endorsement_in_force_is_cited(kelurahan, tmp_path, factory):
    letter_request = request_for(kelurahan, "domisili")
    rt_head = factory.staff("ketua_rt", rt="003", rw="002")
    db.session.add(Endorsement(request_id=letter_request.id, level="rt", rt="003", rw="002", year=2026, seq=7,
                               number="007/RT.003/RW.002/XI/2026", endorser_id=rt_head.id,
                               at=datetime(2026, 11, 26, 2, 0)))
    db.session.commit()
    db.session.refresh(letter_request)
    text = pdf_text(letter_render.render_pdf(letter_request, number="1", signed_at=SIGNED,
                                             official=kelurahan["lurah"], verify_url=None), tmp_path)
    assert "Ketua RT 003/RW 002 Nomor 007/RT.003/RW.002/XI/2026 tanggal 26 November 2026" in text


def test_a_paper_pengantar_is_cited_when_the_rt_had_no_account(kelurahan, tmp_path):
    letter_request = request_for(kelurahan, "domisili")
    assert letter_request.needs_paper_pengantar  # no RT head account in 003/002
    text = pdf_text(letter_render.render_pdf(letter_request, number="1", signed_at=SIGNED,
                                             official=kelurahan["lurah"], verify_url=None), tmp_path)
    assert "Surat Pengantar RT/RW tertulis" in text


def test_validity_is_printed_from_the_service_snapshot(kelurahan, tmp_path):
    from sempelmas.services.requests import catalogue

    service = catalogue.get_service("domisili")
    service.validity_days = 30
    catalogue.save_service(service, {"validity_days": 30}, [{"code": r.code, "label": r.label}
                                                             for r in service.requirements],
                           [{"name": f.name, "label": f.label, "kind": f.kind, "max_length": f.max_length}
                            for f in service.fields])
    db.session.commit()
    text = pdf_text(letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                             official=kelurahan["lurah"], verify_url=None), tmp_path)
    assert "berlaku sampai dengan tanggal 27 Desember 2026" in text


def test_the_logo_is_downscaled_so_the_letter_stays_small(kelurahan):
    pdf = letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                   official=kelurahan["lurah"], verify_url=VERIFY_URL)
    images = [img for img in PdfReader(io.BytesIO(pdf)).pages[0].images]
    assert images and max(img.image.size[1] for img in images) <= kop_surat.LOGO_MAX_PX


# ------------------------------------------------------------------ admin edits

def test_an_edited_template_overrides_the_file(kelurahan, tmp_path):
    source = templates.default_source("domisili").replace("SURAT KETERANGAN DOMISILI", "SURAT KETERANGAN TINGGAL")
    template_check.save_template("domisili", source)
    db.session.commit()
    text = pdf_text(letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                             official=kelurahan["lurah"], verify_url=None), tmp_path)
    assert "SURAT KETERANGAN TINGGAL" in text
    assert template_check.reset_template("domisili")
    db.session.commit()
    text = pdf_text(letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                             official=kelurahan["lurah"], verify_url=None), tmp_path)
    assert "SURAT KETERANGAN DOMISILI" in text


@pytest.mark.parametrize(("broken", "line", "words"), [
    ("{% block body %}\n<p>{{ person.name }</p>\n{% endblock %}", 2, "unexpected"),
    ("{% block body %}\n<p>ok</p>\n{% if x %}\n{% endblock %}", 4, "endif"),
    ("{% block body %}\n<p>ok</p>\n<p>{{ warga.nama }}</p>\n{% endblock %}", 3, "warga"),
    ("{% block body %}\n<p>{{ person.name|tidak_ada }}</p>\n{% endblock %}", 2, "tidak_ada"),
])
def test_a_broken_template_is_refused_with_its_line_and_never_saved(kelurahan, broken, line, words):
    source = '{% extends "letters/_base.html" %}\n' + broken
    problem = template_check.check_template("domisili", source)
    assert problem is not None and f"Baris {line + 1}" in problem and words in problem, problem
    with pytest.raises(LetterRenderError):
        template_check.save_template("domisili", source)
    assert db.session.query(LetterTemplate).count() == 0


def test_a_good_template_passes_the_check(kelurahan):
    assert template_check.check_template("domisili", templates.default_source("domisili")) is None
    assert template_check.check_template("_base", templates.default_source("_base")) is None


def test_a_broken_base_is_refused_through_a_letter_that_uses_it(kelurahan):
    source = templates.default_source("_base").replace("{{ kop.village }}", "{{ kop.desa }}")
    problem = template_check.check_template("_base", source)
    assert problem is not None and "desa" in problem


def test_a_rendering_error_never_gives_half_a_letter(kelurahan):
    # a row that bypassed the check (e.g. written by hand in the database)
    db.session.add(LetterTemplate(name="domisili", source='{% extends "letters/_base.html" %}{% block body %}'
                                                         '<p>{{ 1 // 0 }}</p>{% endblock %}'))
    db.session.commit()
    with pytest.raises(LetterRenderError) as info:
        letter_render.render_pdf(request_for(kelurahan, "domisili"), number="1", signed_at=SIGNED,
                                 official=kelurahan["lurah"], verify_url=None)
    assert "domisili" in info.value.message


def test_warm_up_needs_neither_app_nor_database():
    letter_pdf.warm_up()
    assert letter_pdf._fonts_ready
