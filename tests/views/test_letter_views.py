"""Staff letter preview; the admin's letter-template editor; numbering and paper settings in the admin forms."""

from __future__ import annotations

import subprocess

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.catalogue import Service
from sempelmas.models.letters import LetterTemplate
from sempelmas.models.profile import KelurahanProfile
from sempelmas.services.kelurahan.demo import seed_profile
from sempelmas.services.letters import templates as letter_templates
from sempelmas.services.requests.catalogue_standard import seed_standard
from tests.request_factory import make_profile, submit
from tests.views.test_admin_views import PROFILE


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "view.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return " ".join(out.split())


def test_staff_previews_the_letter_marked_pratinjau_as_pdf_and_html(client, factory, login_as, tmp_path):
    make_profile()
    seed_standard()
    letter_request = submit(factory.warga(name="RINA WULANDARI"), service="domisili",
                            answers={"keperluan": "Membuka rekening bank"})
    db.session.commit()
    login_as(factory.staff(Role.STAFF))
    review = client.get(f"/petugas/permohonan/{letter_request.tracking_number}").get_data(as_text=True)
    assert f"/petugas/permohonan/{letter_request.tracking_number}/pratinjau" in review

    resp = client.get(f"/petugas/permohonan/{letter_request.tracking_number}/pratinjau")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Cache-Control"] == "no-store"
    text = pdf_text(resp.data, tmp_path)
    assert "PRATINJAU" in text and "RINA WULANDARI" in text and "Membuka rekening bank" in text
    assert "Nomor: (diberikan saat ditandatangani)" in text

    html = client.get(f"/petugas/permohonan/{letter_request.tracking_number}/pratinjau?format=html")
    assert html.mimetype == "text/html" and "PRATINJAU" in html.get_data(as_text=True)
    assert "style-src 'unsafe-inline'" in html.headers["Content-Security-Policy"]
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "letter.preview")).all()


def test_preview_of_an_unknown_request_is_404(client, factory, login_as):
    login_as(factory.staff(Role.STAFF))
    assert client.get("/petugas/permohonan/JGL-2026-999999/pratinjau").status_code == 404


def test_a_broken_edited_template_sends_staff_back_with_the_reason(client, factory, login_as):
    make_profile()
    seed_standard()
    letter_request = submit(factory.warga(), service="domisili")
    db.session.add(LetterTemplate(name="domisili", source='{% extends "letters/_base.html" %}'
                                                         '{% block body %}{{ tidak_ada }}{% endblock %}'))
    db.session.commit()
    login_as(factory.staff(Role.STAFF))
    resp = client.get(f"/petugas/permohonan/{letter_request.tracking_number}/pratinjau")
    assert resp.status_code == 303
    page = client.get(resp.location).get_data(as_text=True)
    assert "Pratinjau surat tidak dapat dibuat" in page and "tidak_ada" in page


# ------------------------------------------------------------------ admin: templates

def admin(client, factory, login_as):
    user = factory.staff(Role.ADMIN, "adm")
    login_as(user)
    return user


def test_admin_lists_the_letter_templates(client, factory, login_as):
    seed_profile()
    seed_standard()
    db.session.commit()
    admin(client, factory, login_as)
    html = client.get("/admin/templat-surat").get_data(as_text=True)
    for name in ("_base", "domisili", "pengantar_nikah_n1"):
        assert f"/admin/templat-surat/{name}" in html
    assert "Surat Keterangan Domisili" in html


def test_admin_edit_refuses_a_broken_template_with_its_line_and_keeps_the_old(client, factory, login_as):
    seed_profile()
    seed_standard()
    db.session.commit()
    admin(client, factory, login_as)
    good = letter_templates.default_source("domisili").replace("SURAT KETERANGAN DOMISILI", "SURAT KETERANGAN TINGGAL")
    assert client.post("/admin/templat-surat/domisili", data={"source": good, "action": "simpan"}).status_code == 303
    broken = good.replace("{{ purpose }}", "{{ purpose }")
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "{{ purpose }<" in text)
    resp = client.post("/admin/templat-surat/domisili", data={"source": broken, "action": "simpan"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f"Baris {line}" in html and "Templat tidak disimpan" in html
    assert "{{ purpose }&lt;" in html or "{{ purpose }</" in html or "purpose }" in html  # what was typed stays
    db.session.expire_all()
    row = db.session.scalar(select(LetterTemplate).where(LetterTemplate.name == "domisili"))
    assert row.source == good
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("letter_template.save") == 1


def test_admin_previews_a_candidate_with_demo_data_without_saving(client, factory, login_as, tmp_path):
    seed_profile()
    seed_standard()
    db.session.commit()
    admin(client, factory, login_as)
    candidate = letter_templates.default_source("usaha").replace("SURAT KETERANGAN USAHA", "KETERANGAN USAHA UJI")
    resp = client.post("/admin/templat-surat/usaha", data={"source": candidate, "action": "pratinjau"})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data, tmp_path)
    assert "KETERANGAN USAHA UJI" in text and "PRATINJAU" in text and "BUDI SANTOSO" in text
    html = client.post("/admin/templat-surat/usaha", data={"source": candidate, "action": "pratinjau_html"})
    assert html.mimetype == "text/html" and "KETERANGAN USAHA UJI" in html.get_data(as_text=True)
    assert db.session.scalar(select(LetterTemplate)) is None
    broken = client.post("/admin/templat-surat/usaha", data={"source": candidate + "{% if %}", "action": "pratinjau"})
    assert broken.status_code == 422 and "Baris" in broken.get_data(as_text=True)


def test_admin_restores_the_default_template(client, factory, login_as):
    seed_profile()
    seed_standard()
    db.session.commit()
    admin(client, factory, login_as)
    edited = letter_templates.default_source("domisili") + "\n{# catatan #}\n"
    client.post("/admin/templat-surat/domisili", data={"source": edited, "action": "simpan"})
    assert "Kembalikan ke bawaan" in client.get("/admin/templat-surat/domisili").get_data(as_text=True)
    resp = client.post("/admin/templat-surat/domisili", data={"action": "kembalikan"})
    assert resp.status_code == 303
    assert db.session.scalar(select(LetterTemplate)) is None
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "letter_template.reset")).all()


def test_an_unknown_template_is_404(client, factory, login_as):
    admin(client, factory, login_as)
    assert client.get("/admin/templat-surat/tidak_ada").status_code == 404
    assert client.get("/admin/templat-surat/..%2Fbase").status_code == 404


# ------------------------------------------------------------------ admin: numbering and paper

def test_admin_sets_number_format_scope_paper_and_verify_pdf(client, factory, login_as):
    seed_profile()
    db.session.commit()
    admin(client, factory, login_as)
    data = {**PROFILE, "number_format": "{kode}/{urut:03d}/{unit}/{bulan_romawi}/{tahun}",
            "number_scope": "klasifikasi", "paper_size": "F4", "verify_offers_pdf": "y"}
    assert client.post("/admin/profil", data=data).status_code == 303
    prof = db.session.scalar(select(KelurahanProfile))
    assert (prof.number_format, prof.number_scope, prof.paper_size, prof.verify_offers_pdf) == (
        "{kode}/{urut:03d}/{unit}/{bulan_romawi}/{tahun}", "klasifikasi", "F4", True)


def test_a_number_format_with_an_unknown_field_is_refused_in_indonesian(client, factory, login_as):
    seed_profile()
    db.session.commit()
    admin(client, factory, login_as)
    resp = client.post("/admin/profil", data={**PROFILE, "number_format": "{kode}/{nomor}/{tahun}"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Kolom {nomor} tidak dikenal" in html
    db.session.expire_all()
    assert db.session.scalar(select(KelurahanProfile)).number_format == "{kode}/{urut:03d}/{unit}/{tahun}"


def test_a_service_overrides_the_number_format(client, factory, login_as):
    seed_profile()
    seed_standard()
    db.session.commit()
    admin(client, factory, login_as)
    page = client.get("/admin/layanan/usaha").get_data(as_text=True)
    assert 'name="number_format"' in page
    service = db.session.scalar(select(Service).where(Service.code == "usaha"))
    from sempelmas.services.requests import catalogue

    form = {"code": "usaha", "name": service.name, "description": service.description or "x",
            "who_may_request": "warga", "needs_rt_endorsement": "y", "service_time_value": "30",
            "service_time_unit": "menit", "classification_code": "470", "letter_template": "usaha",
            "enabled": "y", "requirements": catalogue.requirement_lines(service.requirements),
            "fields": catalogue.field_lines(service.fields)}
    bad = client.post("/admin/layanan/usaha", data={**form, "number_format": "{kode}/{tahun}"})
    assert bad.status_code == 422 and "harus memuat {urut}" in bad.get_data(as_text=True)
    good = client.post("/admin/layanan/usaha", data={**form, "number_format": "{kode}/{urut}/{bulan_romawi}/{tahun}"})
    assert good.status_code == 303
    db.session.expire_all()
    service = db.session.scalar(select(Service).where(Service.code == "usaha"))
    assert service.number_format == "{kode}/{urut}/{bulan_romawi}/{tahun}"
    client.post("/admin/layanan/usaha", data={**form, "number_format": ""})
    db.session.expire_all()
    assert db.session.scalar(select(Service).where(Service.code == "usaha")).number_format is None
