import io

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role, User
from sempelmas.models.audit import AuditEntry
from sempelmas.models.jobs import Job
from sempelmas.models.profile import KelurahanProfile, Official
from sempelmas.models.residents import Resident
from sempelmas.services.kelurahan.demo import seed_profile
from sempelmas.services.operations import jobs
from tests.conftest import jpeg_bytes
from tests.services.test_register_import import PAPUA, ROWS, csv_with_a_bad_byte, write_csv, write_xlsx

PROFILE = {
    "village_kind": "kelurahan", "village_name": "Miji", "district_name": "Kranggan", "regency_kind": "kota",
    "regency_name": "Mojokerto", "province_name": "Jawa Timur", "region_code": "35.76.03.1002",
    "address": "Jl. Miji Baru 1", "postcode": "61313", "phone": "(0321) 111", "email": "miji@example.go.id",
    "website": "https://miji.example.go.id", "letter_unit_code": "417.604.2", "timezone": "WIB",
    "office_hours": "Senin–Jumat", "tracking_prefix": "MJI",
}


def admin_client(client, factory, login_as):
    admin = factory.staff(Role.ADMIN, "adm")
    login_as(admin)
    return admin


def test_admin_edits_the_profile_with_logo_and_it_is_audited(client, factory, login_as):
    seed_profile()
    db.session.commit()
    admin_client(client, factory, login_as)
    data = {**PROFILE, "logo": (io.BytesIO(jpeg_bytes(size=(300, 300))), "logo.jpg")}
    resp = client.post("/admin/profil", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    prof = db.session.scalar(select(KelurahanProfile))
    assert prof.village_name == "Miji" and prof.tracking_prefix == "MJI" and prof.logo_mime == "image/jpeg"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "profile.update")).one()
    assert entry.details["changes"]["village_name"] == ["Jagalan", "Miji"]
    assert "Kelurahan Miji" in client.get("/").get_data(as_text=True)
    logo = client.get("/profil/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/jpeg"


def test_profile_form_errors_are_field_level_and_nothing_is_saved(client, factory, login_as):
    seed_profile()
    db.session.commit()
    admin_client(client, factory, login_as)
    resp = client.post("/admin/profil", data={**PROFILE, "region_code": "35-76", "tracking_prefix": "mj",
                                               "logo": (io.BytesIO(b"not an image"), "x.png")},
                       content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Format kode wilayah" in html and "huruf kapital" in html
    assert 'value="Jl. Miji Baru 1"' in html
    db.session.expire_all()
    assert db.session.scalar(select(KelurahanProfile)).village_name == "Jagalan"


def test_admin_adds_and_edits_an_official(client, factory, login_as):
    admin_client(client, factory, login_as)
    lurah = factory.staff(Role.SIGNER, "lurahx")
    resp = client.post("/admin/pejabat", data={
        "name": "Drs. X", "position": "lurah", "position_title": "Lurah Miji", "rank": "Penata (III/c)",
        "nip": "197501012000031001", "user_id": str(lurah.id), "sort_order": "1", "active": "y"})
    assert resp.status_code == 303
    o = db.session.scalar(select(Official))
    assert o.user_id == lurah.id and o.nip_display == "19750101 200003 1 001"
    bad = client.post(f"/admin/pejabat/{o.id}", data={"name": "Drs. X", "position": "lurah",
                                                       "position_title": "Lurah", "nip": "1975", "user_id": "0"})
    assert bad.status_code == 422 and "NIP 18 digit" in bad.get_data(as_text=True)
    ok = client.post(f"/admin/pejabat/{o.id}", data={"name": "Drs. X, M.Si.", "position": "lurah",
                                                      "position_title": "Lurah Miji", "nip": "", "user_id": "0"})
    assert ok.status_code == 303
    db.session.expire_all()
    o = db.session.get(Official, o.id)
    assert o.user_id is None and o.active is False and o.name == "Drs. X, M.Si."


def test_admin_creates_accounts_and_changes_roles(client, factory, login_as):
    admin = admin_client(client, factory, login_as)
    resp = client.post("/admin/akun", data={"username": "rt05", "full_name": "Pak RT 5", "password": "sandi-rt-05",
                                            "roles": ["rt"], "rt": "5", "rw": "2"})
    assert resp.status_code == 303
    u = db.session.scalar(select(User).where(User.username == "rt05"))
    assert u.grant(Role.RT_HEAD).scope_label == "RT 005 / RW 002"
    dup = client.post("/admin/akun", data={"username": "RT05", "full_name": "X", "password": "sandi-rt-05",
                                           "roles": ["petugas"]})
    assert dup.status_code == 422 and "sudah dipakai" in dup.get_data(as_text=True)
    none = client.post("/admin/akun", data={"username": "abc", "full_name": "X", "password": "sandi-rt-05"})
    assert "minimal satu peran" in none.get_data(as_text=True)
    resp = client.post(f"/admin/akun/{u.id}", data={"roles": ["petugas", "pendamping"], "active": "y"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, u.id).role_codes == {"petugas", "pendamping"}
    self_demote = client.post(f"/admin/akun/{admin.id}", data={"roles": ["petugas"], "active": "y"})
    assert self_demote.status_code == 422


def test_admin_imports_the_register_through_the_worker_with_polling(app, client, factory, login_as, tmp_path):
    admin_client(client, factory, login_as)
    data = write_csv(tmp_path / "warga.csv", ROWS).read_bytes()
    resp = client.post("/admin/impor", data={"file": (io.BytesIO(data), "warga.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    job_url = resp.location
    waiting = client.get(job_url, headers={"HX-Request": "true"})
    fragment = waiting.get_data(as_text=True)
    assert "<html" not in fragment and 'hx-trigger="every 1s"' in fragment
    assert waiting.headers["Vary"] == "HX-Request" or "HX-Request" in waiting.headers["Vary"]
    assert jobs.run_pending() == 1  # the worker process does this in production
    done = client.get(job_url).get_data(as_text=True)
    assert "Terapkan impor" in done and "every 1s" not in done
    assert db.session.scalar(select(Resident).limit(1)) is None
    preview = db.session.scalar(select(Job).order_by(Job.id.desc()))
    resp = client.post(f"/admin/impor/{preview.id}/terapkan")
    assert resp.status_code == 303
    jobs.run_pending()
    assert "Impor selesai" in client.get(resp.location).get_data(as_text=True)
    assert len(db.session.scalars(select(Resident)).all()) == 3




def _uploaded_and_previewed(client, tmp_path) -> Job:
    data = write_csv(tmp_path / "warga.csv", ROWS).read_bytes()
    resp = client.post("/admin/impor", data={"file": (io.BytesIO(data), "warga.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    assert jobs.run_pending() == 1
    return db.session.scalar(select(Job).order_by(Job.id.desc()))


def test_a_preview_waiting_to_be_applied_says_how_long_its_file_is_kept_and_applies_once(
        app, client, factory, login_as, tmp_path):
    from sempelmas.services.files import uploads

    admin_client(client, factory, login_as)
    preview = _uploaded_and_previewed(client, tmp_path)
    page = client.get(f"/admin/impor/{preview.id}").get_data(as_text=True)
    assert "Terapkan impor" in page
    assert "dihapus dari server setelah diterapkan, atau setelah" in page
    resp = client.post(f"/admin/impor/{preview.id}/terapkan")
    again = client.post(f"/admin/impor/{preview.id}/terapkan")  # a second click
    assert resp.status_code == again.status_code == 303 and resp.location == again.location
    assert jobs.run_pending() == 1
    done = client.get(resp.location).get_data(as_text=True)
    assert "Impor selesai." in done and "Berkas impor sudah dihapus dari server." in done
    assert list(uploads.upload_dir(uploads.IMPORTS).iterdir()) == []
    page = client.get(f"/admin/impor/{preview.id}").get_data(as_text=True)
    assert "Pratinjau ini sudah diterapkan." in page and "Terapkan impor" not in page
    assert len(db.session.scalars(select(Resident)).all()) == 3


def test_a_preview_whose_file_expired_asks_to_upload_again(app, client, factory, login_as, tmp_path):
    from datetime import timedelta

    from sempelmas.models.base import utcnow
    from sempelmas.services.operations import retention

    admin_client(client, factory, login_as)
    preview = _uploaded_and_previewed(client, tmp_path)
    retention.run(now=utcnow() + timedelta(days=app.config["IMPORT_PREVIEW_DAYS"] + 1))
    page = client.get(f"/admin/impor/{preview.id}").get_data(as_text=True)
    assert "Terapkan impor" not in page
    assert "Berkas impor ini sudah dihapus dari server" in page and "Unggah berkas lagi" in page
    resp = client.post(f"/admin/impor/{preview.id}/terapkan", follow_redirects=True)
    assert resp.status_code == 200
    assert "Unggah berkasnya lagi di Impor data penduduk." in resp.get_data(as_text=True)
    assert db.session.scalar(select(Job).where(Job.kind == "register_apply")) is None

def test_admin_sees_the_line_of_a_bad_byte_far_into_an_uploaded_csv(app, client, factory, login_as, tmp_path):
    admin_client(client, factory, login_as)
    data = csv_with_a_bad_byte(tmp_path / "warga.csv").read_bytes()
    # the multipart body built here: werkzeug's builder would spool this 1 MB into a temporary file it never
    # closes (a ResourceWarning, an error in this suite)
    boundary = "----batas-uji-impor"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"warga.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    resp = client.post("/admin/impor", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 303
    assert jobs.run_pending() == 1
    preview = db.session.scalar(select(Job).order_by(Job.id.desc()))
    assert preview.status == "selesai", preview.error
    assert (preview.result["new"], preview.result["errors"]) == (15_008, 1)
    page = client.get(resp.location).get_data(as_text=True)
    row = page[page.index("<td data-label=\"Baris\">15001</td>"):]
    assert "simpan berkas sebagai &#34;CSV UTF-8&#34;" in row[:600] and "Terapkan impor" in page


def test_admin_imports_an_xlsx_and_sees_why_a_number_cell_nik_is_refused(app, client, factory, login_as, tmp_path):
    admin_client(client, factory, login_as)
    rows = [*ROWS, [int(PAPUA[0]), *PAPUA[1:]]]  # a Papua NIK in a number cell cannot be read exactly
    data = write_xlsx(tmp_path / "warga.xlsx", rows).read_bytes()
    resp = client.post("/admin/impor", data={"file": (io.BytesIO(data), "warga.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    assert jobs.run_pending() == 1
    page = client.get(resp.location).get_data(as_text=True)
    assert "Terapkan impor" in page
    assert "format kolom NIK sebagai Teks di Excel" in page
    preview = db.session.scalar(select(Job).order_by(Job.id.desc()))
    assert (preview.result["new"], preview.result["errors"]) == (3, 1)
    resp = client.post(f"/admin/impor/{preview.id}/terapkan")
    jobs.run_pending()
    assert "Impor selesai" in client.get(resp.location).get_data(as_text=True)
    assert len(db.session.scalars(select(Resident)).all()) == 3

def test_import_refuses_a_file_that_is_not_csv_or_xlsx(client, factory, login_as):
    admin_client(client, factory, login_as)
    resp = client.post("/admin/impor", data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n\xff\xfe" * 50), "x.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and "CSV (UTF-8) atau XLSX" in resp.get_data(as_text=True)
    assert db.session.scalar(select(Job)) is None


def test_import_refuses_an_xlsx_that_inflates_to_600_mb_before_reading_it(client, factory, login_as):
    from tests.hostile_files import xlsx_bomb

    admin_client(client, factory, login_as)
    data = xlsx_bomb(600)
    assert len(data) < 1024 * 1024
    resp = client.post("/admin/impor", data={"file": (io.BytesIO(data), "warga.xlsx")},
                       content_type="multipart/form-data")
    resp.request.environ["wsgi.input"].close()  # the test client spools a body over 500 KB to a file
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Isi berkas XLSX ini terlalu besar setelah dibuka (lebih dari 128 MB)" in html
    assert db.session.scalar(select(Job)) is None


def test_a_logo_that_decodes_to_353_mb_is_refused_and_nothing_is_saved(client, factory, login_as):
    from tests.hostile_files import png_bomb

    seed_profile()
    db.session.commit()
    admin_client(client, factory, login_as)
    resp = client.post("/admin/profil", data={**PROFILE, "logo": (io.BytesIO(png_bomb()), "logo.png")},
                       content_type="multipart/form-data")
    resp.request.environ["wsgi.input"].close()  # the test client spools a body over 500 KB to a file
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Gambar terlalu besar untuk diproses: 9400 × 9400 piksel." in html and 'value="Jl. Miji Baru 1"' in html
    db.session.expire_all()
    prof = db.session.scalar(select(KelurahanProfile))
    assert prof.village_name == "Jagalan" and prof.logo_mime is None


def test_admin_sees_the_audit_log(client, factory, login_as):
    admin_client(client, factory, login_as)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "auth.login" in html and "adm" in html
