from datetime import date

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.profile import Holiday
from sempelmas.services.kelurahan import profile


def test_the_admin_home_links_to_the_holiday_page(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN, "adm"))
    assert 'href="/admin/libur"' in client.get("/admin/").get_data(as_text=True)


def test_admin_adds_a_holiday_and_sees_it_in_its_year(client, factory, login_as):
    admin = factory.staff(Role.ADMIN, "adm")
    login_as(admin)
    resp = client.post("/admin/libur", data={"date": "2026-08-17", "name": "Hari Kemerdekaan RI"})
    assert resp.status_code == 303 and resp.location == "/admin/libur?tahun=2026"
    holiday = db.session.scalar(select(Holiday))
    assert (holiday.date, holiday.name, holiday.created_by_id) == (date(2026, 8, 17), "Hari Kemerdekaan RI", admin.id)
    html = client.get("/admin/libur?tahun=2026").get_data(as_text=True)
    assert "Hari Kemerdekaan RI" in html and "ditambahkan" in html
    assert f'action="/admin/libur/{holiday.id}/hapus"' in html and "data-confirm=" in html
    assert "Hari Kemerdekaan RI" not in client.get("/admin/libur?tahun=2027").get_data(as_text=True)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "holiday.add")).one()
    assert entry.actor_id == admin.id


def test_a_duplicate_date_is_refused_with_a_message_on_the_date_field(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN, "adm"))
    profile.add_holiday(date(2026, 12, 25), "Hari Raya Natal")
    db.session.commit()
    resp = client.post("/admin/libur", data={"date": "2026-12-25", "name": "Natal"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Tanggal 25-12-2026 sudah tercatat sebagai hari libur (Hari Raya Natal)." in html
    assert 'id="date-error"' in html and 'value="Natal"' in html
    assert len(db.session.scalars(select(Holiday)).all()) == 1


def test_a_missing_or_invalid_date_is_a_field_error(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN, "adm"))
    resp = client.post("/admin/libur", data={"date": "bukan tanggal", "name": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Tanggal tidak valid" in html and "Wajib diisi." in html
    assert db.session.scalars(select(Holiday)).all() == []


def test_admin_removes_a_holiday(client, factory, login_as):
    admin = factory.staff(Role.ADMIN, "adm")
    login_as(admin)
    holiday = profile.add_holiday(date(2026, 5, 1), "Hari Buruh")
    db.session.commit()
    holiday_id = holiday.id
    resp = client.post(f"/admin/libur/{holiday_id}/hapus")
    assert resp.status_code == 303 and resp.location == "/admin/libur?tahun=2026"
    db.session.expire_all()
    assert db.session.get(Holiday, holiday_id) is None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "holiday.remove")).one()
    assert entry.actor_id == admin.id and entry.details["name"] == "Hari Buruh"
    assert "dihapus" in client.get("/admin/libur?tahun=2026").get_data(as_text=True)
