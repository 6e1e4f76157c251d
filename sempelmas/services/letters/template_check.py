"""Trying letter templates with demo data, and the admin's edits (checked by a trial render, audited)."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from jinja2 import TemplateSyntaxError
from sqlalchemy import select

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.letters import LetterTemplate
from sempelmas.models.profile import KelurahanProfile, Official
from sempelmas.services.letters.letter_context import build_context
from sempelmas.services.letters.pdf import PAPER, LetterRenderError, html_to_pdf
from sempelmas.services.letters.templates import (
    LETTER_DIR,
    CandidateLoader,
    error_message,
    letter_env,
    new_env,
    render_template_html,
)

DEMO_ANSWERS = {
    "keperluan": "Persyaratan melamar pekerjaan", "jenis_keterangan": "Tidak mampu (SKTM)",
    "pernyataan": "Yang bersangkutan benar berasal dari keluarga kurang mampu dan memerlukan keringanan biaya "
                  "pendidikan anaknya.",
    "nama_anak": "ANISA PUTRI RAHAYU", "jenis_kelamin_anak": "Perempuan",
    "tempat_lahir": "RSUD Dr. Wahidin Sudiro Husodo, Kota Mojokerto", "tanggal_lahir": "2026-01-14",
    "jam_lahir": "08:35", "anak_ke": 2, "nama_ayah": "BUDI SANTOSO", "nik_ayah": "3576031705900001",
    "nama_ibu": "SITI AMINAH", "nik_ibu": "3576035208920002",
    "nama_usaha": "Warung Makan Bu Siti", "alamat_usaha": "Jl. Pemuda No. 12, RT 002/RW 001, Jagalan",
    "bidang_usaha": "Warung makan", "npwp": "12.345.678.9-602.000",
    "nama_almarhum": "SUPARMAN", "nik_almarhum": "3576030101450003", "tanggal_meninggal": "2026-11-20",
    "jam_meninggal": "04:10", "tempat_meninggal": "Rumah, Jl. Pemuda No. 12 Mojokerto",
    "sebab_meninggal": "Sakit", "nama_pelapor": "BUDI SANTOSO", "nik_pelapor": "3576031705900001",
    "hubungan_pelapor": "Anak kandung",
    "alamat_tujuan": "Jl. Diponegoro No. 5, RT 004/RW 002", "kelurahan_tujuan": "Sawahan",
    "kecamatan_tujuan": "Sawahan", "kota_tujuan": "Kota Surabaya", "provinsi_tujuan": "Jawa Timur",
    "alasan_pindah": "Pekerjaan", "anggota_pindah": "SITI AMINAH 3576035208920002\nANISA PUTRI RAHAYU "
                                                   "3576035401260004",
    "status_perkawinan": "Jejaka", "nama_calon": "DEWI LESTARI", "nik_calon": "3576035005950005",
    "alamat_calon": "Jl. Gajah Mada No. 8, Mojokerto", "tanggal_nikah": "2026-12-20",
    "tempat_nikah": "KUA Kecamatan Kranggan",
}
DEMO_BY_KIND = {"text": "Contoh isian", "long_text": "Contoh isian panjang.", "date": "2026-11-27", "time": "09:00",
                "number": 1, "choice": None, "nik": "3576031705900001"}


def _demo_snapshot(name: str) -> dict:
    """The service whose letter uses template ``name`` (the catalogue's, else the standard one), as a snapshot."""
    from sempelmas.models.catalogue import Service
    from sempelmas.services.requests import catalogue
    from sempelmas.services.requests.catalogue_standard import STANDARD

    service = db.session.scalar(select(Service).where(Service.letter_template == name).limit(1))
    if service is not None:
        return catalogue.snapshot(service)
    spec = next((s for s in STANDARD if s["letter_template"] == name), None)
    if spec is None:
        spec = STANDARD[0]
    fields, _errors = catalogue.parse_field_lines(spec["fields"])
    return {"code": spec["code"], "name": spec["name"], "classification_code": spec["classification_code"],
            "letter_template": name, "validity_days": 30, "fields": fields}


def demo_context(name: str, *, paper_size: str | None = None) -> dict:
    """Sample data for template ``name``: the real profile and officials, a made-up resident and answers."""
    from sempelmas.services.kelurahan import profile as profile_service

    profile = profile_service.profile_row() or _demo_profile()
    snapshot = _demo_snapshot(name)
    answers = {}
    for f in snapshot.get("fields", []):
        value = DEMO_ANSWERS.get(f["name"], DEMO_BY_KIND.get(f["kind"]))
        if f["kind"] == "choice" and value not in (f.get("choices") or []):
            value = (f.get("choices") or [None])[0]
        answers[f["name"]] = value
    officials = profile_service.officials()
    official = next((o for o in officials if o.position == "lurah"), officials[0] if officials else None) \
        or _demo_official()
    resident = SimpleNamespace(full_name="BUDI SANTOSO", nik="3576031705900001", kk_number="3576031201150007",
                               birth_place="MOJOKERTO", birth_date=date(1990, 5, 17), gender="L",
                               religion="ISLAM", occupation="KARYAWAN SWASTA", marital_status="KAWIN",
                               citizenship="WNI", address="Jl. Pemuda No. 12", rt="002", rw="001")
    endorsement = SimpleNamespace(level="rt", rt="002", rw="001", number="007/RT.002/RW.001/XI/2026",
                                  at=datetime(2026, 11, 26, 2, 0))
    unit = getattr(profile, "letter_unit_code", None) or "417.604.3"
    context = build_context(
        profile=profile, resident=resident, snapshot=snapshot, answers=answers, endorsements=[endorsement],
        paper_pengantar=False, number=f"{snapshot.get('classification_code') or '470'}/007/{unit}/2026",
        signed_at=datetime(2026, 11, 27, 3, 0), official=official, capacity="",
        verify_url="https://contoh.desa.id/v/CONTOHKODEQR", officials=officials, preview=True,
        tracking_number="SPM-2026-000007")
    if paper_size:
        context["paper"] = PAPER.get(paper_size, PAPER["A4"])
    return context


def _demo_profile() -> KelurahanProfile:
    return KelurahanProfile(village_kind="kelurahan", province_name="Jawa Timur", regency_kind="kota",
                            regency_name="Mojokerto", district_name="Kranggan", village_name="Jagalan",
                            region_code="35.76.03.1004", address="Jl. Pemuda No. 2", postcode="61321",
                            phone="(0321) 321000", email="kel.jagalan@mojokertokota.go.id",
                            website="https://jagalan.mojokertokota.go.id", timezone="WIB", paper_size="A4",
                            letter_unit_code="417.604.3")


def _demo_official() -> Official:
    return Official(name="Drs. CONTOH NAMA, M.Si.", position="lurah", position_title="Lurah Jagalan",
                    rank="Penata Tingkat I (III/d)", nip="197501012000031001")


def render_demo(name: str, *, source: str | None = None, as_pdf: bool = True) -> bytes | str:
    """Template ``name`` (or a candidate ``source`` for it) rendered with demo data, as PDF or HTML."""
    env = new_env(CandidateLoader(name, source), cache=False) if source is not None else letter_env()
    target = name if not name.startswith("_") else _child_for(name)
    html = render_template_html(target, demo_context(target), env=env)
    return html_to_pdf(html) if as_pdf else html


def _child_for(name: str) -> str:
    """A shared part (``_base``) is tried out through a letter that uses it."""
    return "domisili" if (LETTER_DIR / "domisili.html").is_file() else next(
        (p.stem for p in sorted(LETTER_DIR.glob("*.html")) if not p.stem.startswith("_")), name)


def check_template(name: str, source: str) -> str | None:
    """None when ``source`` may be saved as template ``name``, else the reason with the line number.

    Refused: a Jinja syntax error, and any error of a trial render with demo data (an unknown
    variable, a failing filter, a broken PDF conversion).
    """
    env = new_env(CandidateLoader(name, source), cache=False)
    try:
        env.parse(source)
    except TemplateSyntaxError as e:
        return str(_("Baris %(line)d: %(error)s", line=e.lineno, error=error_message(e)))
    try:
        render_demo(name, source=source)
    except LetterRenderError as e:
        if e.line:
            return str(_("Baris %(line)d: %(error)s", line=e.line, error=e.message))
        return e.message
    return None


def save_template(name: str, source: str, *, actor=None) -> LetterTemplate:
    """Store the admin's edit of template ``name`` after check_template accepted it (raises otherwise).

    Audited with the name and the size; flushes, never commits.
    """
    from sempelmas.models.base import utcnow
    from sempelmas.services.accountability import audit

    problem = check_template(name, source)
    if problem:
        raise LetterRenderError(problem)
    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.name == name))
    if row is None:
        row = LetterTemplate(name=name, source=source)
        db.session.add(row)
    row.source = source
    row.updated_at = utcnow()
    row.updated_by_id = getattr(actor, "id", actor)
    db.session.flush()
    audit.record("letter_template.save", row, actor=actor, name=name, length=len(source))
    return row


def reset_template(name: str, *, actor=None) -> bool:
    """Delete the admin's edit so the file is used again; audited. False when there was none."""
    from sempelmas.services.accountability import audit

    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.name == name))
    if row is None:
        return False
    audit.record("letter_template.reset", row, actor=actor, name=name)
    db.session.delete(row)
    db.session.flush()
    return True
