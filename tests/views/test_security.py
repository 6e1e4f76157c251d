"""CSRF, security headers, error pages, throttling, configuration safety."""

import pytest
from flask import abort
from sqlalchemy import func, select, text

from sempelmas import create_app
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.profile import KelurahanProfile
from tests.conftest import PASSWORD, Factory, csrf_from


@pytest.fixture
def csrf_client(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app, app.test_client()


@pytest.mark.parametrize("url", ["/login", "/logout", "/daftar", "/bahasa", "/lupa-sandi", "/akun/sandi",
                                 "/admin/profil", "/petugas/akun/1/verifikasi", "/admin/opendk"])
def test_posts_without_a_valid_csrf_token_get_400(csrf_client, url):
    _app, client = csrf_client
    resp = client.post(url, data={"identifier": "x", "password": "y"})
    assert resp.status_code == 400
    assert "token keamanannya tidak valid" in resp.get_data(as_text=True)


def test_a_form_with_its_token_and_htmx_with_the_header_pass_csrf(csrf_client, factory):
    _app, client = csrf_client
    factory.staff(Role.STAFF, "pet")
    page = client.get("/login").get_data(as_text=True)
    token = csrf_from(page)
    assert f'"X-CSRFToken": "{token}"' in page  # htmx sends it from <body hx-headers>
    resp = client.post("/login", data={"identifier": "pet", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    resp = client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert resp.status_code == 303


def test_every_visitor_of_the_login_page_gets_a_working_token_of_their_own(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        Factory().staff(Role.STAFF, "pet")
    first, second = app.test_client(), app.test_client()
    token1 = csrf_from(first.get("/login").get_data(as_text=True))
    page2 = second.get("/login").get_data(as_text=True)
    token2 = csrf_from(page2)
    assert token2 != token1 and page2.count(token2) >= 2  # the form and htmx's header both carry it
    refused = second.post("/login", data={"identifier": "pet", "password": PASSWORD, "csrf_token": token1})
    assert refused.status_code == 400
    resp = second.post("/login", data={"identifier": "pet", "password": PASSWORD, "csrf_token": token2})
    assert resp.status_code == 302


def test_security_headers_on_every_response(client):
    for url in ["/", "/login", "/tidak-ada", "/static/css/app.css"]:
        resp = client.get(url)
        resp.close()
        h = resp.headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite(client, factory):
    factory.staff(Role.STAFF, "kuki")
    resp = client.post("/login", data={"identifier": "kuki", "password": PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookies_when_served_over_https(make_app, factory):
    app = make_app(SESSION_COOKIE_SECURE=True)
    with app.app_context():
        factory.staff(Role.STAFF, "aman")
        resp = app.test_client().post("/login", data={"identifier": "aman", "password": PASSWORD})
        assert "Secure" in resp.headers["Set-Cookie"]
        assert "Strict-Transport-Security" in resp.headers


def test_unknown_url_gets_the_friendly_404_page(client):
    resp = client.get("/ini/tidak/ada")
    assert resp.status_code == 404
    assert "Halaman tidak ditemukan" in resp.get_data(as_text=True)
    assert client.get("/petugas/penduduk/bukan-angka").status_code in (302, 404)


def test_an_unexpected_error_rolls_back_and_shows_no_trace(make_app):
    app = make_app(fresh=True, PROPAGATE_EXCEPTIONS=False)

    @app.get("/_boom")
    def boom():
        db.session.add(KelurahanProfile(province_name="X", regency_name="X", district_name="X",
                                        village_name="HALF", region_code="1", address="x"))
        db.session.flush()
        raise RuntimeError("secret stack detail")

    with app.app_context():
        resp = app.test_client().get("/_boom")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 500
        assert "Terjadi kesalahan" in html and "secret stack detail" not in html and "Traceback" not in html
        assert db.session.scalar(select(func.count()).select_from(KelurahanProfile)) == 0


def test_forbidden_and_method_not_allowed_pages(make_app):
    app = make_app(fresh=True)

    @app.get("/_forbidden")
    def forbidden():
        abort(403)

    with app.app_context():
        c = app.test_client()
        assert "Akses ditolak" in c.get("/_forbidden").get_data(as_text=True)
        assert c.get("/logout").status_code == 405


def test_login_is_throttled_per_client(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        c = app.test_client()
        codes = [c.post("/login", data={"identifier": "a", "password": "b"}).status_code for _i in range(4)]
        assert codes[:3] == [200, 200, 200]
        assert codes[3] == 429
        assert "Terlalu banyak" in c.post("/login", data={}).get_data(as_text=True)
        assert c.get("/login").status_code == 200  # reading the page is never throttled


def test_registration_is_throttled_per_client(make_app):
    app = make_app(REGISTER_RATE_LIMIT="2 per hour")
    with app.app_context():
        c = app.test_client()
        codes = [c.post("/daftar", data={}).status_code for _i in range(3)]
        assert codes == [422, 422, 429]


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMPELMAS_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr("sempelmas.ROOT", tmp_path)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_secret_key_file_in_instance_is_used(tmp_path, monkeypatch):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text("abc123\n")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("SEMPELMAS_PROXY_COUNT", "1")
    monkeypatch.setenv("SEMPELMAS_HTTPS", "1")
    monkeypatch.setattr("sempelmas.ROOT", tmp_path)
    app = create_app()
    assert app.config["SECRET_KEY"] == "abc123"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"  # the library's in-process store, as it is
    with app.app_context():
        assert db.engine.url.database.endswith("x.db")
        db.engine.dispose()


def test_proxy_fix_gives_the_real_client_ip_to_the_audit_log(make_app, factory):
    app = make_app(PROXY_COUNT=1)
    with app.app_context():
        factory.staff(Role.STAFF, "proxied")
        app.test_client().post("/login", data={"identifier": "proxied", "password": PASSWORD},
                               headers={"X-Forwarded-For": "203.0.113.7"})
        from sempelmas.models.audit import AuditEntry

        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")).one()
        assert entry.ip == "203.0.113.7"


def test_the_database_enforces_foreign_keys_and_sqlite_runs_in_wal(app):
    from sqlalchemy.exc import IntegrityError

    from sempelmas.models.accounts import RoleGrant

    db.session.add(RoleGrant(user_id=987654, role="petugas"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 10000


def test_pages_of_a_signed_in_person_are_never_cached(client, factory, login_as):
    public = client.get("/login")
    assert "no-store" not in public.headers.get("Cache-Control", "")
    login_as(factory.warga())
    assert client.get("/warga/").headers["Cache-Control"] == "private, no-store"
