"""The whole-page cache of the login page and the resident's home (sempelmas/web/page_cache.py): a page
comes from the cache only while nothing changed, never to another account, and its forms still work."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from sempelmas.extensions import db
from sempelmas.models import AccountStatus, DataVersion, Role, User
from tests.conftest import PASSWORD, Factory, csrf_from


def hits(app) -> int:
    cache = app.extensions.get("page_cache")
    return cache.hits if cache else 0


def version() -> int:
    return db.session.scalar(select(DataVersion.version))


@pytest.fixture
def served(make_app):
    """An app whose requests each run in their own app context, as under gunicorn (the ``app`` fixture's
    context would hand one request's signed-in user, in ``g``, to the next client)."""
    app = make_app()
    app.extensions.pop("page_cache", None)  # apps are reused across tests: count this test's hits only
    return app


def setup(app, fn):
    with app.app_context():
        return fn(Factory())


def signed_in(app, nik: str, password: str = PASSWORD):
    client = app.test_client()
    assert client.post("/login", data={"identifier": nik, "password": password}).status_code == 302
    return client


def test_a_repeated_resident_home_comes_from_the_cache(app, client, factory, login_as):
    budi = factory.warga(name="BUDI SANTOSO")
    login_as(budi)
    first = client.get("/warga/").get_data(as_text=True)
    before = hits(app)
    again = client.get("/warga/")
    assert hits(app) == before + 1
    assert again.status_code == 200 and again.get_data(as_text=True) == first
    assert "Halo, Budi Santoso" in first
    assert again.headers["Cache-Control"].startswith("private") and "HX-Request" in again.headers["Vary"]


def test_a_change_to_the_account_shows_at_once(served):
    """Staff verify the account in their own session: the resident's next look shows it."""
    budi_id, nik = setup(served, lambda f: (lambda u: (u.id, u.nik))(f.warga(status=AccountStatus.PENDING)))
    setup(served, lambda f: f.staff(Role.STAFF, "pet"))
    resident = signed_in(served, nik)
    assert "menunggu verifikasi" in resident.get("/warga/").get_data(as_text=True)
    assert "menunggu verifikasi" in resident.get("/warga/").get_data(as_text=True)
    assert hits(served) == 1  # the second look came from the cache
    office = signed_in(served, "pet")
    resp = office.post(f"/petugas/akun/{budi_id}/verifikasi", data={"note": "KTP asli dilihat"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    page = resident.get("/warga/").get_data(as_text=True)
    assert "sudah terverifikasi" in page and "menunggu verifikasi" not in page


def test_a_change_made_with_plain_sql_also_shows(client, factory, login_as):
    budi = factory.warga(name="BUDI SANTOSO")
    login_as(budi)
    client.get("/warga/")
    before = version()
    db.session.execute(update(User).where(User.id == budi.id).values(full_name="Budi Setiawan"))
    db.session.commit()
    assert version() == before + 1
    assert "Halo, Budi Setiawan" in client.get("/warga/").get_data(as_text=True)


def test_reads_and_rolled_back_writes_leave_the_version_alone(factory):
    factory.warga()
    before = version()
    db.session.scalars(select(User)).all()
    db.session.commit()
    db.session.execute(update(User).values(full_name="Tidak Jadi"))
    db.session.rollback()
    assert version() == before


def test_a_page_made_during_uncommitted_changes_is_not_kept(client, factory, login_as):
    budi = factory.warga(name="BUDI SANTOSO")
    login_as(budi)
    client.get("/warga/")
    budi.full_name = "Nama Belum Disimpan"
    assert "Halo, Nama Belum Disimpan" in client.get("/warga/").get_data(as_text=True)  # same session
    db.session.rollback()
    assert "Halo, Budi Santoso" in client.get("/warga/").get_data(as_text=True)


def test_one_residents_page_is_never_served_to_another(served):
    budi = setup(served, lambda f: f.warga(name="BUDI SANTOSO").resident.nik)
    sari = setup(served, lambda f: f.warga(name="SARI DEWI", female=True).resident.nik)
    first, second = signed_in(served, budi), signed_in(served, sari)
    for _ in range(2):
        a, b = first.get("/warga/").get_data(as_text=True), second.get("/warga/").get_data(as_text=True)
        assert "Halo, Budi Santoso" in a and budi in a and sari not in a
        assert "Halo, Sari Dewi" in b and sari in b and budi not in b
    assert hits(served) == 2


def test_a_password_change_elsewhere_ends_the_cached_session(served):
    nik = setup(served, lambda f: f.warga().resident.nik)
    phone, laptop = signed_in(served, nik), signed_in(served, nik)
    for c in (phone, laptop, laptop):  # the laptop's second look comes from the cache (a key per session)
        assert c.get("/warga/").status_code == 200
    assert hits(served) == 1
    resp = phone.post("/akun/sandi", data={"current_password": PASSWORD, "password": "sandi-baru-77",
                                          "password2": "sandi-baru-77"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    assert phone.get("/warga/").status_code == 200
    resp = laptop.get("/warga/")
    assert resp.status_code == 302 and "/login" in resp.location


def test_logging_out_never_leaves_the_home_page_reachable(client, factory, login_as):
    login_as(factory.warga())
    client.get("/warga/")
    client.get("/warga/")
    client.post("/logout")
    resp = client.get("/warga/")
    assert resp.status_code == 302 and "/login" in resp.location


def test_flash_messages_are_shown_once_even_on_a_cached_page(client, factory, login_as):
    login_as(factory.warga())
    client.get("/warga/")
    with client.session_transaction() as s:
        s["_flashes"] = [("info", "Pesan uji sekali tampil")]
    assert "Pesan uji sekali tampil" in client.get("/warga/").get_data(as_text=True)
    assert "Pesan uji sekali tampil" not in client.get("/warga/").get_data(as_text=True)


def test_each_language_gets_its_own_page(client):
    assert "Masuk" in client.get("/login").get_data(as_text=True)
    client.set_cookie("lang", "en")
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    client.set_cookie("lang", "id")
    assert 'lang="id"' in client.get("/login").get_data(as_text=True)


def test_a_pendamping_sees_the_resident_acted_for_not_a_cached_other(client, factory, login_as):
    helper = factory.staff(Role.ASSISTANT, "pendamping1")
    budi, sari = factory.warga(name="BUDI SANTOSO"), factory.warga(name="SARI DEWI", female=True)
    budi.assisted_by_id = sari.assisted_by_id = helper.id
    db.session.commit()
    login_as(helper)
    client.post(f"/warga/pendamping/{budi.id}/bertindak")
    assert "Halo, Budi Santoso" in client.get("/warga/").get_data(as_text=True)
    client.post(f"/warga/pendamping/{sari.id}/bertindak")
    assert "Halo, Sari Dewi" in client.get("/warga/").get_data(as_text=True)


def test_turned_off_the_pages_are_made_every_time(make_app, factory):
    app = make_app(PAGE_CACHE_ENTRIES=0)
    with app.app_context():
        client = app.test_client()
        for _ in range(3):
            assert "Masuk" in client.get("/login").get_data(as_text=True)
        assert hits(app) == 0


def test_every_visitor_of_a_cached_login_page_gets_a_working_token_of_their_own(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    app.extensions.pop("page_cache", None)
    setup(app, lambda f: f.staff(Role.STAFF, "pet"))
    first, second = app.test_client(), app.test_client()
    token1 = csrf_from(first.get("/login").get_data(as_text=True))
    page2 = second.get("/login").get_data(as_text=True)
    assert hits(app) == 1  # the second visitor's page came from the cache
    token2 = csrf_from(page2)
    assert token2 != token1 and page2.count(token2) >= 2  # the form and htmx's header both carry it
    refused = second.post("/login", data={"identifier": "pet", "password": PASSWORD, "csrf_token": token1})
    assert refused.status_code == 400
    resp = second.post("/login", data={"identifier": "pet", "password": PASSWORD, "csrf_token": token2})
    assert resp.status_code == 302
