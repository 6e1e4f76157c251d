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


# --- the home as an app: what is moving and what to do next, the bottom navigation -----------------------------

def test_the_home_shows_each_moving_request_with_its_step_and_the_residents_next_action(app, client, factory,
                                                                                       login_as):
    from datetime import timedelta

    from sempelmas.models.base import utcnow
    from sempelmas.models.requests import RequestStatus
    from tests.letter_fixtures import issue_letter
    from tests.request_factory import make_profile, make_service, submit

    make_profile()
    make_service()
    factory.staff(Role.RT_HEAD, rt="001", rw="001")
    warga = factory.warga(name="SITI AMINAH", rt="001", rw="001")
    waiting = submit(warga)  # waits for the RT head's pengantar
    fix = submit(warga)
    fix.status = RequestStatus.NEEDS_FIX
    done = issue_letter(app, factory, warga)["request"]
    done.closed_at = utcnow() - timedelta(days=2)
    old = submit(warga)
    old.status, old.closed_at = RequestStatus.DONE, utcnow() - timedelta(days=40)
    other = submit(factory.warga(name="ORANG LAIN"))  # another family's
    db.session.commit()

    login_as(warga)
    page = client.get("/warga/").get_data(as_text=True)
    moving = page[page.index('id="moving"'):page.index("</section>", page.index('id="moving"'))]
    # the one waiting for the resident comes first, with the way to fix it
    assert moving.index(fix.tracking_number) < moving.index(waiting.tracking_number)
    assert "Petugas meminta perbaikan" in moving and "Lihat dan perbaiki" in moving
    assert "Menunggu surat pengantar dari ketua RT/RW" in moving
    assert f"/warga/permohonan/{done.tracking_number}/surat" in moving
    assert "Unduh surat (PDF)" in moving
    # a letter signed weeks ago and another family's request are not on the home
    assert old.tracking_number not in moving and other.tracking_number not in page


def test_residents_get_the_bottom_navigation_and_the_office_keeps_its_menu(client, factory, login_as):
    login_as(factory.warga())
    page = client.get("/warga/").get_data(as_text=True)
    tabbar = page[page.index('class="tabbar"'):page.index("</nav>", page.index('class="tabbar"'))]
    for label in ("Beranda", "Permohonan", "Notifikasi", "Akun"):
        assert f"<span>{label}" in tabbar
    assert 'aria-current="page"' in tabbar.split("Beranda")[0].rsplit("<li>", 1)[1]
    assert 'class="has-tabbar"' in page and page.count('id="bell-count"') == 1
    requests_page = client.get("/warga/permohonan").get_data(as_text=True)
    current = requests_page[requests_page.index('aria-current="page"'):][:400]
    assert "Permohonan" in current and "Beranda" not in current

    client.post("/logout")
    login_as(factory.staff(Role.STAFF))
    staff = client.get("/petugas/").get_data(as_text=True)
    assert 'class="tabbar"' not in staff and 'class="has-tabbar"' not in staff
    # the register of outgoing letters is one click away for staff, signers and admins
    assert 'href="/petugas/surat">Register surat</a>' in staff and staff.count('id="bell-count"') == 1
