"""The catalogue in English: the admin edits the English texts next to the Indonesian ones, English readers see
them (the Indonesian where none is set), a request keeps the texts of its version, letters stay Indonesian."""

from __future__ import annotations

import flask
import flask_babel
from flask_babel import force_locale
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.catalogue import ServiceVersion
from sempelmas.services.letters import render as letter_render
from sempelmas.services.requests import catalogue, catalogue_english, catalogue_standard_en
from sempelmas.services.requests.catalogue_standard import STANDARD, add_english, seed_standard
from tests.request_factory import make_profile, submit


def _seeded():
    seed_standard()
    db.session.commit()


def _in(client, lang: str) -> None:
    """Choose the language as a reader does (the switch's cookie); the fixture's app context spans requests, so
    the language cached in ``g`` is dropped too."""
    client.set_cookie("lang", lang)
    for name in ("lang", "_translations"):
        flask.g.pop(name, None)
    flask_babel.refresh()


def _form(service, **overrides):
    data = {
        "code": service.code, "name": service.name, "description": service.description,
        "name_en": service.name_en, "description_en": service.description_en,
        "who_may_request": service.who_may_request, "needs_rt_endorsement": "y",
        "paper_pengantar_when_no_rt_account": "y", "service_time_value": str(service.service_time_value),
        "service_time_unit": service.service_time_unit, "classification_code": service.classification_code,
        "letter_template": service.letter_template, "validity_days": "", "sort_order": "1", "enabled": "y",
        "requirements": catalogue.requirement_lines(service.requirements),
        "fields": catalogue.field_lines(service.fields),
        "requirements_en": catalogue_english.requirement_english_lines(service.requirements),
        "fields_en": catalogue_english.field_english_lines(service.fields),
    }
    data.update(overrides)
    return data


def _version_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ServiceVersion))


# ------------------------------------------------------------------ the admin

def test_admin_edits_the_english_texts_next_to_the_indonesian_ones(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.ADMIN, "adm"))
    page = client.get("/admin/layanan/domisili").get_data(as_text=True)
    assert 'name="name_en"' in page and "Certificate of Domicile" in page
    assert "kk | Copy of the family card (KK)" in page
    assert "keperluan | Purpose | What the letter will be used for" in page
    svc = catalogue.get_service("domisili")
    resp = client.post("/admin/layanan/domisili", data=_form(
        svc, name_en="Domicile Letter", description_en="Says where you live.",
        requirements_en="kk | Family card (KK)\nktp | Identity card (KTP)",
        fields_en="keperluan | What for | For example a bank account"))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    svc = catalogue.get_service("domisili")
    assert (svc.name_en, svc.description_en, svc.version) == ("Domicile Letter", "Says where you live.", 2)
    assert [r.label_en for r in svc.requirements] == ["Family card (KK)", "Identity card (KTP)"]
    assert (svc.fields[0].label_en, svc.fields[0].help_text_en) == ("What for", "For example a bank account")
    # the version a request keeps carries them
    snap = catalogue.current_version(svc).snapshot
    assert snap["name_en"] == "Domicile Letter" and snap["requirements"][0]["label_en"] == "Family card (KK)"
    assert snap["fields"][0]["help_text_en"] == "For example a bank account"
    # the Indonesian texts are untouched
    assert svc.name == "Surat Keterangan Domisili" and svc.requirements[0].label == "Fotokopi Kartu Keluarga"


def test_clearing_an_english_text_brings_back_the_indonesian_one(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.ADMIN, "adm"))
    svc = catalogue.get_service("domisili")
    assert client.post("/admin/layanan/domisili", data=_form(svc, name_en="", requirements_en="",
                                                             fields_en="")).status_code == 303
    db.session.expire_all()
    svc = catalogue.get_service("domisili")
    assert svc.name_en == "" and svc.requirements[0].label_en is None and svc.fields[0].label_en is None
    _in(client, "en")
    html = client.get("/layanan/domisili").get_data(as_text=True)
    assert "<h1>Surat Keterangan Domisili</h1>" in html and "Fotokopi Kartu Keluarga" in html


def test_bad_english_lines_are_refused_per_line_and_nothing_is_saved(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.ADMIN, "adm"))
    svc = catalogue.get_service("usaha")
    before = _version_count()
    resp = client.post("/admin/layanan/usaha", data=_form(
        svc, name_en="Business", requirements_en="kk | Family card\nsim | Driving licence\nktp",
        fields_en="nama_usaha | Business name\nnama_usaha | Again\numur | Age | " + "x" * 301))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Baris 2: kode sim tidak ada di daftar persyaratan." in html
    assert "Baris 3: tulis kode | nama dokumen dalam bahasa Inggris." in html
    assert "Baris 2: nama nama_usaha sudah dipakai di baris lain." in html
    assert "Baris 3: nama umur tidak ada di daftar isian." in html
    db.session.expire_all()
    assert catalogue.get_service("usaha").name_en == "Certificate of Business" and _version_count() == before
    long_help = client.post("/admin/layanan/usaha", data=_form(svc, fields_en="bidang_usaha | Line | " + "x" * 301))
    assert long_help.status_code == 422
    assert "teks terlalu panjang (paling banyak 300 karakter)" in long_help.get_data(as_text=True)


def test_only_the_admin_edits_the_catalogue(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.STAFF, "petugas"))
    svc = catalogue.get_service("domisili")
    assert client.post("/admin/layanan/domisili", data=_form(svc, name_en="Hacked")).status_code == 403
    db.session.expire_all()
    assert catalogue.get_service("domisili").name_en == "Certificate of Domicile"


# ------------------------------------------------------------------ readers

def test_public_pages_show_the_english_texts_to_english_readers(client):
    _seeded()
    html = client.get("/layanan/kematian").get_data(as_text=True)
    assert "Surat Keterangan Kematian" in html and "Death Certificate Letter" not in html
    _in(client, "en")
    listing = client.get("/layanan").get_data(as_text=True)
    assert "Certificate of Domicile" in listing and "Surat Keterangan Domisili" not in listing
    html = client.get("/layanan/kematian").get_data(as_text=True)
    assert "<h1>Death Certificate Letter</h1>" in html and "Surat Keterangan Kematian" not in html
    assert "Death letter from the hospital or doctor" in html and "Reporting person&#39;s NIK" in html
    assert "E.g. illness, accident" in html and "Contoh: sakit" not in html


def test_a_service_without_english_is_shown_in_indonesian_to_english_readers(client):
    make_profile()
    data = {"code": "ahli_waris", "name": "Surat Keterangan Ahli Waris", "description": "Untuk urusan waris.",
            "service_time_value": 1, "service_time_unit": "hari_kerja", "classification_code": "470",
            "letter_template": "ahli_waris", "enabled": True}
    reqs, _e = catalogue.parse_requirement_lines("kk | Fotokopi KK | ya | ya\nakta | Akta kematian pewaris")
    fields, _e = catalogue.parse_field_lines("pewaris | Nama pewaris | text | ya | | | Sesuai akta kematian")
    catalogue_english.add_requirement_english(reqs, "kk | Family card (KK)")
    catalogue.save_service(None, data, reqs, fields)
    db.session.commit()
    _in(client, "en")
    html = client.get("/layanan/ahli_waris").get_data(as_text=True)
    assert "<h1>Surat Keterangan Ahli Waris</h1>" in html and "Untuk urusan waris." in html
    assert "Family card (KK)" in html and "Akta kematian pewaris" in html  # one translated, one not
    assert "Nama pewaris" in html and "Sesuai akta kematian" in html
    assert "1 working day" in html and "hari kerja" not in html


def test_the_resident_sees_the_service_list_and_form_in_english(client, factory, login_as):
    make_profile()
    _seeded()
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    login_as(factory.warga(name="SITI AMINAH", female=True))
    _in(client, "en")
    listing = client.get("/warga/layanan").get_data(as_text=True)
    assert "Certificate of Domicile" in listing and "10 minutes" in listing and "1 working day" in listing
    assert "Surat Keterangan Domisili" not in listing and "hari kerja" not in listing
    form = client.get("/warga/ajukan/usaha").get_data(as_text=True)
    assert "<h1>Certificate of Business</h1>" in form
    assert '<label for="f_nama_usaha">Business name</label>' in form and "E.g. food stall, tailor" in form
    assert '<label for="berkas_npwp">Copy of the tax number card (NPWP)</label>' in form
    assert "Nama usaha" not in form and "Fotokopi NPWP" not in form
    _in(client, "id")
    form = client.get("/warga/ajukan/usaha").get_data(as_text=True)
    assert '<label for="f_nama_usaha">Nama usaha</label>' in form and "Business name" not in form


def test_a_request_keeps_the_english_texts_of_its_version(client, factory, login_as):
    """The request page reads the snapshot it was submitted with: a later edit of the English does not change it,
    and a version saved before the English existed shows Indonesian."""
    make_profile()
    _seeded()
    warga = factory.warga()
    old = submit(warga, answers={"keperluan": "Buka rekening"})
    svc = catalogue.get_service("domisili")
    catalogue.save_service(svc, {"name_en": "Domicile (new wording)"},
                           [{"code": "kk", "label": "Fotokopi KK", "label_en": "Family card, new"}],
                           [{"name": "keperluan", "label": "Keperluan", "label_en": "Reason", "kind": "text"}])
    db.session.commit()
    new = submit(warga, answers={"keperluan": "Melamar kerja"})
    login_as(warga)
    _in(client, "en")
    old_page = client.get(f"/warga/permohonan/{old.tracking_number}").get_data(as_text=True)
    assert "<h1>Certificate of Domicile</h1>" in old_page and "Purpose" in old_page
    assert "Domicile (new wording)" not in old_page
    new_page = client.get(f"/warga/permohonan/{new.tracking_number}").get_data(as_text=True)
    assert "<h1>Domicile (new wording)</h1>" in new_page and "<dt>Reason</dt>" in new_page
    listing = client.get("/warga/permohonan").get_data(as_text=True)
    assert "Certificate of Domicile" in listing and "Domicile (new wording)" in listing
    # a snapshot from before the English texts existed (no *_en keys): Indonesian
    version = old.service_version
    version.snapshot = {k: v for k, v in version.snapshot.items() if not k.endswith("_en")} | {
        "fields": [{k: v for k, v in f.items() if not k.endswith("_en")} for f in version.snapshot["fields"]]}
    db.session.commit()
    _in(client, "en")
    old_page = client.get(f"/warga/permohonan/{old.tracking_number}").get_data(as_text=True)
    assert "<h1>Surat Keterangan Domisili</h1>" in old_page and "<dt>Keperluan</dt>" in old_page


def test_letters_stay_indonesian_for_an_english_reader(app, factory):
    make_profile()
    _seeded()
    req = submit(factory.warga(), answers={"keperluan": "Buka rekening"})
    with force_locale("en"):
        html = letter_render.render_html(req, number=None, signed_at=None, official=None, verify_url=None)
    assert "SURAT KETERANGAN DOMISILI" in html.upper() and "Certificate of Domicile" not in html
    assert "Purpose" not in html


# ------------------------------------------------------------------ the standard catalogue

def test_every_standard_service_requirement_and_field_has_english():
    for spec in STANDARD:
        assert catalogue_standard_en.SERVICES[spec["code"]][0], spec["code"]
        requirements, _e = catalogue.parse_requirement_lines(spec["requirements"])
        fields, _e = catalogue.parse_field_lines(spec["fields"])
        requirements, fields = catalogue_standard_en.with_english(requirements, fields)
        assert all(r["label_en"] for r in requirements), spec["code"]
        assert all(f["label_en"] for f in fields), spec["code"]
        assert all(bool(f["help_text_en"]) == bool(f["help_text"]) for f in fields), spec["code"]
        assert all(len(f.get("choices_en") or []) == len(f["choices"]) for f in fields), spec["code"]


def test_seed_catalogue_gives_english_to_standard_services_seeded_before_it(app, runner):
    seed_standard()
    renamed = catalogue.get_service("usaha")
    renamed.name = "Surat Keterangan Usaha Mikro"
    for svc in catalogue.all_services():
        svc.name_en, svc.description_en = "", ""
        for item in (*svc.requirements, *svc.fields):
            item.label_en = None
    db.session.commit()
    before = _version_count()
    result = runner.invoke(args=["seed-catalogue"])
    assert result.exit_code == 0 and "9 layanan standar mendapat teks bahasa Inggris" in result.output
    db.session.expire_all()
    domisili = catalogue.get_service("domisili")
    assert domisili.name_en == "Certificate of Domicile" and domisili.version == 2
    assert domisili.requirements[0].label_en == "Copy of the family card (KK)"
    assert catalogue.current_version(domisili).snapshot["fields"][0]["label_en"] == "Purpose"
    assert catalogue.get_service("usaha").name_en == ""  # renamed by the admin: left alone
    assert _version_count() == before + 9
    assert add_english() == 0  # done once


# ------------------------------------------------------------------ choices

def test_the_admin_writes_a_choice_fields_english_choices_in_order(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.ADMIN, "adm"))
    svc = catalogue.get_service("keterangan")
    page = client.get("/admin/layanan/keterangan").get_data(as_text=True)
    assert "jenis_keterangan | Kind of certificate |  | Low income (SKTM);Loss;Other" in page
    before = _version_count()
    wrong = client.post("/admin/layanan/keterangan", data=_form(
        svc, fields_en="jenis_keterangan | Kind | | Poor;Lost\nkeperluan | Purpose | | A;B"))
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert "Baris 1: tulis 3 pilihan dalam bahasa Inggris, dipisah titik koma, urut seperti pilihan bahasa " \
           "Indonesia." in html
    assert "Baris 2: pilihan hanya untuk jenis choice." in html
    assert _version_count() == before
    ok = client.post("/admin/layanan/keterangan", data=_form(
        svc, fields_en="jenis_keterangan | Kind | | Poor;Lost something;Something else"))
    assert ok.status_code == 303
    db.session.expire_all()
    field = catalogue.get_service("keterangan").fields[0]
    assert field.choices == ["Tidak mampu (SKTM)", "Kehilangan", "Lainnya"]
    assert field.choices_en == ["Poor", "Lost something", "Something else"]


def test_an_english_reader_picks_an_english_choice_and_the_indonesian_one_is_kept(client, factory, login_as):
    make_profile()
    _seeded()
    warga = factory.warga()
    login_as(warga)
    _in(client, "en")
    form = client.get("/warga/ajukan/keterangan").get_data(as_text=True)
    assert '<option value="Kehilangan">Loss</option>' in form
    assert '<option value="Tidak mampu (SKTM)">Low income (SKTM)</option>' in form
    assert "Low income (SKTM) · Loss · Other" in client.get("/layanan/keterangan").get_data(as_text=True)
    req = submit(warga, service="keterangan", answers={"jenis_keterangan": "Kehilangan", "keperluan": "Bank",
                                                       "pernyataan": "KTP hilang di pasar"})
    assert req.answers["jenis_keterangan"] == "Kehilangan"  # what the letter prints
    page = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert '<dt>Kind of certificate</dt><dd class="answer">Loss</dd>' in page
    _in(client, "id")
    page = client.get(f"/warga/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert '<dt>Jenis keterangan</dt><dd class="answer">Kehilangan</dd>' in page


def test_staff_and_the_signer_who_read_english_see_the_forms_labels_and_documents_in_english(client, factory,
                                                                                             login_as):
    make_profile()
    _seeded()
    req = submit(factory.warga(), answers={"keperluan": "Buka rekening"})
    staff = factory.staff(Role.STAFF, "loket-en")
    db.session.commit()
    login_as(staff)
    _in(client, "en")
    page = client.get(f"/petugas/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "<dt>Purpose</dt>" in page and "<dt>Keperluan</dt>" not in page
    assert "Copy of the family card (KK)" in page and "Fotokopi Kartu Keluarga" not in page
    _in(client, "id")
    page = client.get(f"/petugas/permohonan/{req.tracking_number}").get_data(as_text=True)
    assert "<dt>Keperluan</dt>" in page and "Fotokopi Kartu Keluarga" in page
