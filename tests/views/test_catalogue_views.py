from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.catalogue import ServiceVersion
from sempelmas.services.requests import catalogue
from sempelmas.services.requests.catalogue_standard import seed_standard


def _seeded():
    seed_standard()
    db.session.commit()


def _form(service, **overrides):
    data = {
        "code": service.code, "name": service.name, "description": service.description,
        "who_may_request": service.who_may_request, "needs_rt_endorsement": "y",
        "paper_pengantar_when_no_rt_account": "y", "service_time_value": str(service.service_time_value),
        "service_time_unit": service.service_time_unit, "classification_code": service.classification_code,
        "letter_template": service.letter_template, "validity_days": "", "sort_order": "1", "enabled": "y",
        "requirements": catalogue.requirement_lines(service.requirements),
        "fields": catalogue.field_lines(service.fields),
    }
    data.update(overrides)
    return data


def test_landing_page_links_to_the_catalogue(client):
    assert 'href="/layanan"' in client.get("/").get_data(as_text=True)


def test_public_list_shows_enabled_services_free_of_charge(client):
    _seeded()
    html = client.get("/layanan").get_data(as_text=True)
    assert "Gratis" in html and "Surat Keterangan Domisili" in html and "Surat Pengantar Nikah (N1)" in html
    assert 'href="/layanan/pindah_keluar"' in html


def test_public_detail_shows_requirements_fields_time_and_cost(client):
    _seeded()
    resp = client.get("/layanan/kematian")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Gratis" in html and "1 jam" in html
    assert "Surat kematian dari rumah sakit/dokter" in html and "boleh dibawa ke kantor, tanpa unggah" in html
    assert "Surat pengantar RT/RW" in html and "NIK pelapor" in html and "Ajukan" in html
    assert "10 menit" in client.get("/layanan/domisili").get_data(as_text=True)
    assert "1 hari kerja" in client.get("/layanan/pindah_keluar").get_data(as_text=True)


def test_unknown_or_disabled_services_are_404(client):
    _seeded()
    assert client.get("/layanan/tidak_ada").status_code == 404
    svc = catalogue.get_service("usaha")
    svc.enabled = False
    db.session.commit()
    assert client.get("/layanan/usaha").status_code == 404
    assert "Surat Keterangan Usaha" not in client.get("/layanan").get_data(as_text=True)


def test_admin_lists_and_edits_a_service_and_the_save_is_audited(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.ADMIN, "adm"))
    assert "Surat Keterangan Domisili" in client.get("/admin/layanan").get_data(as_text=True)
    page = client.get("/admin/layanan/domisili").get_data(as_text=True)
    assert "kk | Fotokopi Kartu Keluarga | ya | ya" in page
    svc = catalogue.get_service("domisili")
    resp = client.post("/admin/layanan/domisili", data=_form(
        svc, name="Keterangan Domisili Baru", classification_code="400.12.2.1", service_time_value="15",
        code="ganti_kode", requirements="kk | Fotokopi KK | ya | tidak\nsurat_sewa | Surat sewa rumah | tidak | ya",
        fields="keperluan | Keperluan | text | ya\nlama_tinggal | Lama tinggal (tahun) | number | tidak"))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    svc = catalogue.get_service("domisili")
    assert svc.name == "Keterangan Domisili Baru" and svc.version == 2 and svc.classification_code == "400.12.2.1"
    assert [r.code for r in svc.requirements] == ["kk", "surat_sewa"]
    assert [f.kind for f in svc.fields] == ["text", "number"]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "catalogue.update")).one()
    assert entry.actor_id is not None and entry.object_id == str(svc.id)
    public = client.get("/layanan/domisili").get_data(as_text=True)
    assert "Surat sewa rumah" in public and "15 menit" in public


def test_bad_lines_give_per_line_errors_and_save_nothing(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.ADMIN, "adm"))
    svc = catalogue.get_service("usaha")
    versions = db.session.scalar(select(func.count()).select_from(ServiceVersion))
    resp = client.post("/admin/layanan/usaha", data=_form(
        svc, name="Diubah",
        requirements="kk | Fotokopi KK | ya | ya\nktp | Fotokopi KTP | barangkali",
        fields="nama_usaha | Nama usaha | text | ya\njenis | Jenis | choice | ya"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Baris 2: kolom wajib harus &#34;ya&#34; atau &#34;tidak&#34;." in html
    assert "Baris 2: jenis choice memerlukan pilihan, dipisah titik koma." in html
    db.session.expire_all()
    assert catalogue.get_service("usaha", enabled_only=False).name == "Surat Keterangan Usaha"
    assert db.session.scalar(select(func.count()).select_from(ServiceVersion)) == versions
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action == "catalogue.update")).all()


def test_admin_adds_a_service_and_a_taken_code_is_refused(client, factory, login_as):
    _seeded()
    login_as(factory.staff(Role.ADMIN, "adm"))
    data = {"code": "ahli_waris", "name": "Surat Keterangan Ahli Waris", "description": "Untuk urusan waris.",
            "who_may_request": "warga", "needs_rt_endorsement": "y", "service_time_value": "1",
            "service_time_unit": "hari_kerja", "classification_code": "470", "letter_template": "ahli_waris",
            "enabled": "y", "requirements": "kk | Fotokopi KK", "fields": "keperluan | Keperluan | text"}
    assert client.post("/admin/layanan/baru", data=data).status_code == 303
    assert catalogue.get_service("ahli_waris").version == 1
    again = client.post("/admin/layanan/baru", data=data)
    assert again.status_code == 422 and "sudah dipakai" in again.get_data(as_text=True)
    assert client.get("/admin/layanan/tidak_ada").status_code == 404
