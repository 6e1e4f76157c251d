from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import AccountStatus, Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.residents import KKHistory
from tests.conftest import jpeg_bytes


def test_staff_search_by_nik_kk_and_name_with_htmx_fragment(client, factory, login_as):
    a = factory.resident(name="SUGENG WIBOWO", kk="3576031203150001")
    factory.resident(name="SRI WIBOWO", kk="3576031203150001")
    factory.resident(name="JOKO SUSANTO", kk="3576031203150002")
    db.session.commit()
    login_as(factory.staff(Role.STAFF, "pet"))
    page = client.get("/petugas/penduduk?q=wibowo").get_data(as_text=True)
    assert "SUGENG WIBOWO" in page and "SRI WIBOWO" in page and "JOKO" not in page
    frag = client.get(f"/petugas/penduduk?q={a.nik}", headers={"HX-Request": "true"})
    html = frag.get_data(as_text=True)
    assert "<html" not in html and "SUGENG WIBOWO" in html and "1 penduduk ditemukan" in html
    by_kk = client.get("/petugas/penduduk?q=3576031203150002").get_data(as_text=True)
    assert "JOKO SUSANTO" in by_kk and "SUGENG" not in by_kk
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "register.search")).first()


def test_resident_page_shows_the_household_and_keeps_kk_history(client, factory, login_as):
    a = factory.resident(name="AYAH", kk="3576031203150001")
    factory.resident(name="ANAK", kk="3576031203150001")
    db.session.commit()
    staff = factory.staff(Role.STAFF, "pet")
    login_as(staff)
    html = client.get(f"/petugas/penduduk/{a.id}").get_data(as_text=True)
    assert "ANAK" in html and "Anggota keluarga" in html
    bad = client.post(f"/petugas/penduduk/{a.id}", data={"kk_number": "3576031203150000"})
    assert bad.status_code == 422 and "0000" in bad.get_data(as_text=True)
    same = client.post(f"/petugas/penduduk/{a.id}", data={"kk_number": "3576031203150001"})
    assert "sama dengan yang lama" in same.get_data(as_text=True)
    ok = client.post(f"/petugas/penduduk/{a.id}", data={"kk_number": "3576031203150009"})
    assert ok.status_code == 303
    hist = db.session.scalars(select(KKHistory)).one()
    assert (hist.old_kk_number, hist.new_kk_number, hist.changed_by_id) == (
        "3576031203150001", "3576031203150009", staff.id)
    assert "3576031203150001 → 3576031203150009" in client.get(f"/petugas/penduduk/{a.id}").get_data(as_text=True)


def test_staff_review_shows_register_match_and_nik_warnings_then_verifies(app, client, factory, login_as):
    from sempelmas.services.files.uploads import save_image

    w = factory.warga(status=AccountStatus.PENDING)
    w.registration.nik_warnings = ["Tanggal lahir pada NIK (17-05-1990) berbeda dengan yang diisi (18-05-1990)."]
    w.registration.ktp_photo = save_image("ktp", jpeg_bytes())
    db.session.commit()
    login_as(factory.staff(Role.STAFF, "pet"))
    assert w.full_name in client.get("/petugas/akun").get_data(as_text=True)
    html = client.get(f"/petugas/akun/{w.id}").get_data(as_text=True)
    assert "Cocok dengan data penduduk" in html
    assert "berbeda dengan yang diisi" in html
    photo = client.get(f"/petugas/akun/{w.id}/ktp")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    photo.close()
    viewed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "document.view")).one()
    assert viewed.object_id == str(w.id)
    no_reason = client.post(f"/petugas/akun/{w.id}/tolak", data={"reason": ""})
    assert no_reason.status_code == 422 and "Wajib diisi" in no_reason.get_data(as_text=True)
    resp = client.post(f"/petugas/akun/{w.id}/verifikasi", data={"note": "KTP asli dilihat"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert w.status == AccountStatus.VERIFIED
    again = client.post(f"/petugas/akun/{w.id}/verifikasi", data={})
    assert again.status_code == 303  # explained by a flash, nothing changes


def test_rt_head_rejects_a_stranger_with_a_reason_the_resident_sees(app, client, factory, login_as):
    w = factory.warga(status=AccountStatus.PENDING, rt="001", rw="001")
    login_as(factory.staff(Role.RT_HEAD, "rt01", rt="001", rw="001"))
    assert w.full_name in client.get("/rt/").get_data(as_text=True)
    resp = client.post(f"/rt/akun/{w.id}/tolak", data={"reason": "Tidak tinggal di RT 001"})
    assert resp.status_code == 303
    client.post("/logout")
    login_as(w)
    assert "Tidak tinggal di RT 001" in client.get("/warga/").get_data(as_text=True)


def test_signer_home_page(client, factory, login_as):
    login_as(factory.staff(Role.SIGNER, "lurah"))
    assert "Antrean tanda tangan" in client.get("/penandatangan/").get_data(as_text=True)
