"""Sessions end on the server: a copied session cookie or remember-me cookie stops working at logout, "log
out everywhere" ends every session of the account, the account page lists the signed-in devices.

Each request runs in its own app context here, as under gunicorn (the ``app`` fixture's context would keep
the signed-in user in ``g`` from one request to the next and hide a cookie that no longer works).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from sempelmas.extensions import db
from sempelmas.models import AccountStatus, AuditEntry, Role, User, UserSession
from sempelmas.models.base import utcnow
from sempelmas.services.people import accounts, sessions
from tests.conftest import PASSWORD, Factory, csrf_from, in_db
from tests.query_counter import count_queries

PHONE_UA = ("Mozilla/5.0 (Linux; Android 13; SM-A145F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
            "Mobile Safari/537.36")
LAPTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
REMEMBER = "remember_token"


@pytest.fixture
def served(make_app):
    return make_app()


def setup(app, fn):
    with app.app_context():
        return fn(Factory())


def signed_in(app, identifier: str, *, remember: bool = False, ua: str = PHONE_UA):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = ua
    data = {"identifier": identifier, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    resp = client.post("/login", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client


def copy_cookies(app, source, *names: str):
    """A second browser holding copies of ``source``'s cookies (a stolen or shared cookie)."""
    thief = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie"
        thief.set_cookie(name, cookie.value)
    return thief


def home(client) -> int:
    return client.get("/warga/").status_code


def audit_count(app, action: str) -> int:
    return in_db(app, lambda: db.session.scalar(select(func.count()).select_from(AuditEntry)
                                                .where(AuditEntry.action == action)))


def test_a_copied_session_cookie_stops_working_after_logout(served):
    nik = setup(served, lambda f: f.warga().resident.nik)
    owner = signed_in(served, nik)
    assert home(owner) == 200 and home(owner) == 200
    copy = copy_cookies(served, owner, "session")
    assert home(copy) == 200  # the copy works while the session is open
    assert owner.post("/logout").status_code == 303
    resp = copy.get("/warga/")
    assert resp.status_code == 302 and "/login" in resp.location
    assert copy.get("/akun/sandi").status_code == 302
    assert audit_count(served, "auth.logout") == 1


def test_a_copied_remember_me_cookie_stops_working_after_logout(served):
    nik = setup(served, lambda f: f.warga().resident.nik)
    owner = signed_in(served, nik, remember=True)
    assert home(owner) == 200
    remembered = copy_cookies(served, owner, REMEMBER)  # only the year-long cookie
    assert home(remembered) == 200  # Flask-Login signs it in from the cookie
    owner.post("/logout")
    later = copy_cookies(served, remembered, REMEMBER)
    resp = later.get("/warga/")
    assert resp.status_code == 302 and "/login" in resp.location


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.STAFF, Role.SIGNER])
def test_log_out_everywhere_ends_every_session_of_the_account(served, role):
    def make(f):
        u = f.warga() if role == Role.RESIDENT else f.staff(role)
        return u.username or u.resident.nik

    ident = setup(served, make)
    page = "/warga/" if role == Role.RESIDENT else "/akun/sandi"
    phone = signed_in(served, ident, remember=True, ua=PHONE_UA)
    laptop = signed_in(served, ident, ua=LAPTOP_UA)
    stolen = copy_cookies(served, phone, "session", REMEMBER)
    assert all(c.get(page).status_code == 200 for c in (phone, laptop, stolen))
    resp = laptop.post("/akun/keluar-semua")
    assert resp.status_code == 303 and "/login" in resp.location
    for c in (phone, laptop, stolen, copy_cookies(served, phone, REMEMBER)):
        got = c.get(page)
        assert got.status_code == 302 and "/login" in got.location
    entry = in_db(served, lambda: db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "auth.logout_all")).one())
    assert entry.details["sessions"] == 2
    # and the account can sign in again
    assert signed_in(served, ident).get(page).status_code == 200


def test_log_out_everywhere_needs_csrf(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    nik = setup(app, lambda f: f.warga().resident.nik)
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    c.post("/login", data={"identifier": nik, "password": PASSWORD, "csrf_token": token})
    assert c.post("/akun/keluar-semua").status_code == 400
    assert c.get("/warga/").status_code == 200


def test_the_account_page_lists_the_devices_and_ends_another_one(served):
    nik, other_nik = setup(served, lambda f: (f.warga().resident.nik, f.warga().resident.nik))
    phone = signed_in(served, nik, ua=PHONE_UA)
    laptop = signed_in(served, nik, ua=LAPTOP_UA)
    page = phone.get("/akun/sandi").get_data(as_text=True)
    assert "Chrome di Android" in page and "Firefox di Windows" in page
    assert page.count("perangkat ini") == 1 and "Keluar dari semua perangkat" in page
    laptop_id = in_db(served, lambda: db.session.scalar(select(UserSession.id).where(
        UserSession.user_agent == LAPTOP_UA)))
    assert f"/akun/sesi/{laptop_id}/akhiri" in page
    # a session of another account, or an unknown one, is not found
    other = signed_in(served, other_nik)
    assert other.post(f"/akun/sesi/{laptop_id}/akhiri").status_code == 404
    assert phone.post(f"/akun/sesi/{laptop_id}/akhiri").status_code == 303
    assert laptop.get("/warga/").status_code == 302
    assert phone.get("/warga/").status_code == 200
    assert "Firefox di Windows" not in phone.get("/akun/sandi").get_data(as_text=True)
    assert audit_count(served, "auth.session_end") == 1


def test_a_password_reset_and_disabling_end_the_accounts_sessions(served):
    nik, uid, staff_id = setup(served, lambda f: (lambda w, s: (w.resident.nik, w.id, s.id))(
        f.warga(), f.staff(Role.STAFF, "loket")))
    setup(served, lambda f: f.staff(Role.ADMIN, "adm"))
    phone = signed_in(served, nik, remember=True)
    office = signed_in(served, "loket")
    code = office.post(f"/petugas/akun/{uid}/kode-pemulihan").get_data(as_text=True).split(
        'class="code-big">')[1].split("<")[0].strip()
    resp = served.test_client().post("/lupa-sandi", data={"nik": nik, "code": code, "password": "sandi-baru-55",
                                                          "password2": "sandi-baru-55"})
    assert resp.status_code == 303
    assert home(phone) == 302 and home(copy_cookies(served, phone, REMEMBER)) == 302

    staff = signed_in(served, "loket", ua=LAPTOP_UA)
    admin = signed_in(served, "adm")
    assert admin.post(f"/admin/akun/{staff_id}", data={"roles": ["petugas"]}).status_code == 303  # not active
    for c in (office, staff):
        assert c.get("/petugas/").status_code == 302
    assert in_db(served, lambda: db.session.get(User, staff_id).status) == AccountStatus.DISABLED


def test_a_password_change_elsewhere_ends_the_other_session(served):
    nik = setup(served, lambda f: f.warga().resident.nik)
    phone, laptop = signed_in(served, nik), signed_in(served, nik)
    for c in (phone, laptop, laptop):
        assert c.get("/warga/").status_code == 200
    resp = phone.post("/akun/sandi", data={"current_password": PASSWORD, "password": "sandi-baru-77",
                                          "password2": "sandi-baru-77"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    assert phone.get("/warga/").status_code == 200
    resp = laptop.get("/warga/")
    assert resp.status_code == 302 and "/login" in resp.location


def test_load_user_is_one_query_and_last_seen_is_written_only_every_few_minutes(served):
    nik = setup(served, lambda f: f.warga().resident.nik)
    client = signed_in(served, nik)
    sid = in_db(served, lambda: db.session.scalar(select(UserSession.id)))
    uid = in_db(served, lambda: db.session.scalar(select(UserSession.user_id)))
    with served.test_request_context():
        with count_queries() as statements:
            user = accounts.load_user(f"{uid}.{sid}")
        assert user is not None and len(statements) == 1
        user.roles, user.resident  # loaded with it: no further query  # noqa: B018
        with count_queries() as later:
            assert user.resident.nik == nik and user.role_codes == {Role.RESIDENT}
        assert later == []
        db.session.remove()

    def seen():
        return db.session.scalar(select(UserSession.last_seen_at))

    first = in_db(served, seen)
    assert home(client) == 200
    assert in_db(served, seen) == first  # within SESSION_TOUCH_SECONDS: no write
    in_db(served, lambda: (db.session.execute(update(UserSession).values(last_seen_at=first - timedelta(minutes=10))),
                           db.session.commit()))
    assert home(client) == 200
    assert in_db(served, seen) > first - timedelta(minutes=10)


def test_last_seen_is_not_refreshed_behind_the_requests_own_write_on_sqlite(served):
    """The refresh runs on a connection of its own: on SQLite, after this request wrote, that connection would
    wait for the request's own write lock (the busy timeout), so it is left for a later request; PostgreSQL
    locks rows and refreshes it at once."""
    nik = setup(served, lambda f: f.warga().resident.nik)
    signed_in(served, nik)
    sid, uid = in_db(served, lambda: db.session.execute(select(UserSession.id, UserSession.user_id)).one())
    old = utcnow() - timedelta(minutes=10)
    in_db(served, lambda: (db.session.execute(update(UserSession).values(last_seen_at=old)), db.session.commit()))
    with served.test_request_context():
        db.session.execute(update(User).where(User.id == uid).values(full_name="Belum Disimpan"))
        started = time.monotonic()
        assert accounts.load_user(f"{uid}.{sid}") is not None
        assert time.monotonic() - started < 5  # no wait for its own lock (the busy timeout is 10 s)
        db.session.rollback()
        db.session.remove()
    sqlite = in_db(served, lambda: db.engine.dialect.name) == "sqlite"
    seen = in_db(served, lambda: db.session.scalar(select(UserSession.last_seen_at)))
    assert seen == old if sqlite else seen > old


def test_an_idle_session_expires_and_an_old_cookie_format_is_refused(served):
    nik = setup(served, lambda f: f.warga().resident.nik)
    client = signed_in(served, nik)
    assert home(client) == 200
    in_db(served, lambda: (db.session.execute(update(UserSession).values(
        last_seen_at=utcnow() - timedelta(seconds=served.config["PERMANENT_SESSION_LIFETIME"] + 60))),
        db.session.commit()))
    assert home(client) == 302
    with served.test_request_context():
        uid = db.session.scalar(select(User.id))
        assert accounts.load_user(f"{uid}.1") is None  # "<id>.<auth version>" from before sessions
        assert accounts.load_user("x.y") is None and accounts.load_user("") is None
        db.session.remove()


def test_sessions_show_in_the_data_export_and_go_with_an_erased_account(served):
    nik = setup(served, lambda f: f.warga().resident.nik)
    client = signed_in(served, nik, ua=LAPTOP_UA)
    data = client.get("/warga/data-saya/unduh.json").get_json()
    assert [s["perangkat"] for s in data["sesi_masuk"]] == [LAPTOP_UA]

    def erase():
        from sempelmas.services.accountability import data_erasure

        user = db.session.scalar(select(User).where(User.username.is_(None)))
        staff = Factory().staff(Role.STAFF, "pet")
        req = data_erasure.request_deletion(user, "pindah")
        data_erasure.grant_deletion(req, staff)
        db.session.commit()
        return db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id))

    assert in_db(served, erase) == 0
    assert home(client) == 302


def test_device_labels_are_coarse_hints(app):
    assert sessions.device_label(PHONE_UA) == "Chrome di Android"
    assert sessions.device_label(LAPTOP_UA) == "Firefox di Windows"
    assert sessions.device_label("") == "Perangkat tidak dikenal"
