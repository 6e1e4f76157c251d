"""The resident's home (/warga/): it greets the account signed in, shows a change at once, never shows one
resident's page to another, and shows a flash message once. (Moved from the whole-page cache's tests when
the cache was removed, issue 14: the behaviour stays.)"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from sempelmas.extensions import db
from sempelmas.models import AccountStatus, Role, User
from tests.conftest import PASSWORD, Factory


@pytest.fixture
def served(make_app):
    """An app whose requests each run in their own app context, as under gunicorn (the ``app`` fixture's
    context would hand one request's signed-in user, in ``g``, to the next client)."""
    return make_app()


def setup(app, fn):
    with app.app_context():
        return fn(Factory())


def signed_in(app, nik: str, password: str = PASSWORD):
    client = app.test_client()
    assert client.post("/login", data={"identifier": nik, "password": password}).status_code == 302
    return client


def test_the_home_greets_the_resident_and_is_private(client, factory, login_as):
    login_as(factory.warga(name="BUDI SANTOSO"))
    first = client.get("/warga/").get_data(as_text=True)
    again = client.get("/warga/")
    assert "Halo, Budi Santoso" in first
    assert again.status_code == 200 and again.get_data(as_text=True) == first
    assert again.headers["Cache-Control"].startswith("private") and "HX-Request" in again.headers["Vary"]


def test_a_change_to_the_account_shows_at_once(served):
    """Staff verify the account in their own session: the resident's next look shows it."""
    budi_id, nik = setup(served, lambda f: (lambda u: (u.id, u.nik))(f.warga(status=AccountStatus.PENDING)))
    setup(served, lambda f: f.staff(Role.STAFF, "pet"))
    resident = signed_in(served, nik)
    assert "menunggu verifikasi" in resident.get("/warga/").get_data(as_text=True)
    assert "menunggu verifikasi" in resident.get("/warga/").get_data(as_text=True)
    office = signed_in(served, "pet")
    resp = office.post(f"/petugas/akun/{budi_id}/verifikasi", data={"note": "KTP asli dilihat"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    page = resident.get("/warga/").get_data(as_text=True)
    assert "sudah terverifikasi" in page and "menunggu verifikasi" not in page


def test_a_change_made_with_plain_sql_also_shows(client, factory, login_as):
    budi = factory.warga(name="BUDI SANTOSO")
    login_as(budi)
    client.get("/warga/")
    db.session.execute(update(User).where(User.id == budi.id).values(full_name="Budi Setiawan"))
    db.session.commit()
    assert "Halo, Budi Setiawan" in client.get("/warga/").get_data(as_text=True)


def test_one_residents_page_is_never_served_to_another(served):
    budi = setup(served, lambda f: f.warga(name="BUDI SANTOSO").resident.nik)
    sari = setup(served, lambda f: f.warga(name="SARI DEWI", female=True).resident.nik)
    first, second = signed_in(served, budi), signed_in(served, sari)
    for _ in range(2):
        a, b = first.get("/warga/").get_data(as_text=True), second.get("/warga/").get_data(as_text=True)
        assert "Halo, Budi Santoso" in a and budi in a and sari not in a
        assert "Halo, Sari Dewi" in b and sari in b and budi not in b


def test_flash_messages_are_shown_once(client, factory, login_as):
    login_as(factory.warga())
    client.get("/warga/")
    with client.session_transaction() as s:
        s["_flashes"] = [("info", "Pesan uji sekali tampil")]
    assert "Pesan uji sekali tampil" in client.get("/warga/").get_data(as_text=True)
    assert "Pesan uji sekali tampil" not in client.get("/warga/").get_data(as_text=True)


def test_a_pendamping_sees_the_resident_acted_for(client, factory, login_as):
    helper = factory.staff(Role.ASSISTANT, "pendamping1")
    budi, sari = factory.warga(name="BUDI SANTOSO"), factory.warga(name="SARI DEWI", female=True)
    budi.assisted_by_id = sari.assisted_by_id = helper.id
    db.session.commit()
    login_as(helper)
    client.post(f"/warga/pendamping/{budi.id}/bertindak")
    assert "Halo, Budi Santoso" in client.get("/warga/").get_data(as_text=True)
    client.post(f"/warga/pendamping/{sari.id}/bertindak")
    assert "Halo, Sari Dewi" in client.get("/warga/").get_data(as_text=True)
