"""Fixtures: a real database (SQLite file, or PostgreSQL via TEST_DATABASE_URL), the app, clients
and factories for people with each role."""

from __future__ import annotations

import io
import os
import re
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import text

from sempelmas import create_app
from sempelmas.extensions import db, limiter
from sempelmas.models.accounts import AccountStatus, Registration, Role, RoleGrant, User
from sempelmas.models.residents import Resident
from sempelmas.services.files.uploads import save_image
from sempelmas.services.kelurahan.demo import make_nik
from sempelmas.services.people.passwords import hash_password

#: shared fixtures of local fakes: esign_gateway (BSrE Esign Client Service, tests/esign_fake.py)
pytest_plugins = ["tests.esign_fake"]

PASSWORD = "rahasia-123"
#: what a production start needs (sempelmas/config.py check_production): make_app(**PRODUCTION)
PRODUCTION = {"ENV": "production", "SECRET_KEY": "9f1c2e7ab34d58e06a7b1c9d2e4f6a8b0c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f",
              "PUBLIC_URL": "https://layanan.jagalan.go.id"}
_schema_ready: set[str] = set()


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.getbasetemp() / 'test.db'}"


def test_config(url: str, instance, **overrides) -> dict:
    cfg = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(instance),
        "UPLOAD_DIR": str(instance / "uploads"),
        "LETTER_DIR": str(instance / "letters"),
        "VERIFY_SCAN_FLUSH_SECONDS": 0,  # tests read the count at once
        # cheap argon2 parameters: still argon2id, just fast enough for hundreds of logins
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "REGISTER_RATE_LIMIT": "1000 per minute",
        "REGISTER_CHECK_RATE_LIMIT": "1000 per minute",
        "RESET_RATE_LIMIT": "1000 per minute",
        "WTF_CSRF_ENABLED": False,
        "PROFILE_CACHE_SECONDS": 0,  # tests change the profile row directly
        "QUEUE_COUNTS_CACHE_SECONDS": 0,  # tests change requests directly
    }
    cfg.update(overrides)
    return cfg


def clear_database() -> None:
    """Empty every table (children first) so each test starts from nothing."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory):
    return database_url(tmp_path_factory)


_APPS: dict[tuple, object] = {}


def _build_app(db_url: str, instance, overrides: dict):
    app = create_app(test_config(db_url, instance, **overrides))
    with app.app_context():
        if db_url not in _schema_ready:
            if db_url.startswith("postgresql"):
                db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            else:
                db.drop_all()
            db.create_all()
            _schema_ready.add(db_url)
    return app


@pytest.fixture(scope="session", autouse=True)
def _dispose_apps():
    yield
    for app in _APPS.values():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _own_folders(app, tmp_path) -> None:
    """Files one test writes (uploads, letters, a CA) never meet the next test that shares its app."""
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    app.config["LETTER_DIR"] = str(tmp_path / "letters")
    app.config["PKI_DIR"] = str(tmp_path / "pki")


@pytest.fixture
def make_app(db_url, tmp_path, tmp_path_factory):
    """An app with extra config. Apps are reused across tests with the same overrides (building one
    compiles every route and template, the bulk of a test's cost); each test gets its own upload, letter
    and CA folders, its config restored afterwards, empty tables and fresh rate-limit counters."""
    used = []

    def factory(fresh: bool = False, **overrides):
        key = tuple(sorted((k, repr(v)) for k, v in overrides.items()))
        if fresh or key not in _APPS:
            app = _build_app(db_url, tmp_path_factory.mktemp("instance"), overrides)
            if fresh:
                used.append((app, None))
                _own_folders(app, tmp_path)
                return app
            _APPS[key] = app
        app = _APPS[key]
        used.append((app, dict(app.config)))
        _own_folders(app, tmp_path)
        return app

    yield factory
    for app, saved in used:
        with app.app_context():
            db.session.rollback()
            clear_database()
            db.session.remove()
            if saved is None:
                db.engine.dispose()
            else:
                app.config.clear()
                app.config.update(saved)
    limiter.reset()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# ----------------------------------------------------------------- factories

class Factory:
    """Creates people and register entries straight in the database."""

    def __init__(self):
        self._serial = 100

    def resident(self, *, nik=None, kk=None, name="WARGA UJI", birth=date(1990, 5, 17), female=False,
                 rt="001", rw="001", source="impor", add: bool = True, religion="ISLAM", marital_status="KAWIN",
                 occupation="WIRASWASTA") -> Resident:
        """A register entry as an import makes it: complete (``religion=None`` etc. for one that lacks data)."""
        self._serial += 1
        r = Resident(
            nik=nik or make_nik(birth, female, self._serial),
            kk_number=kk or f"357603010120{self._serial:04d}",
            full_name=name, birth_place="MOJOKERTO", birth_date=birth, gender="P" if female else "L",
            address="Jl. Uji No. 1", rt=rt, rw=rw, citizenship="WNI", source=source, religion=religion,
            marital_status=marital_status, occupation=occupation,
        )
        if add:
            db.session.add(r)
            db.session.flush()
        return r

    def warga(self, *, status=AccountStatus.VERIFIED, password=PASSWORD, phone=None, resident=None,
              ktp: bool = False, in_register: bool = True, **resident_kw) -> User:
        """A resident account that registered with the data of ``resident`` (made from ``resident_kw``).

        As in the app, only a verified (or disabled) account is linked to its register entry; a waiting or
        rejected one keeps its declared data in the Registration alone. ``in_register=False``: its NIK is
        not in the register at all (verification then makes the entry)."""
        linked = status in (AccountStatus.VERIFIED, AccountStatus.DISABLED)
        r = resident or self.resident(add=linked or in_register, **resident_kw)
        u = User(full_name=r.full_name.title(), status=status, password_hash=hash_password(password),
                 resident_id=r.id if linked else None, phone=phone)
        u.roles.append(RoleGrant(role=Role.RESIDENT))
        u.registration = Registration(
            nik=r.nik, kk_number=r.kk_number, full_name=r.full_name, birth_place=r.birth_place,
            birth_date=r.birth_date, gender=r.gender, address=r.address, rt=r.rt, rw=r.rw, nik_warnings=[],
            ktp_photo=save_image("ktp", jpeg_bytes()) if ktp else None,
        )
        db.session.add(u)
        db.session.commit()
        return u

    def staff(self, role: str, username: str | None = None, *, rt=None, rw=None, password=PASSWORD) -> User:
        username = username or f"{role}{self._serial}"
        self._serial += 1
        u = User(username=username, full_name=f"Pengguna {username}", status=AccountStatus.VERIFIED,
                 password_hash=hash_password(password))
        u.roles.append(RoleGrant(role=role, rt=rt if role == Role.RT_HEAD else None,
                                 rw=rw if role in (Role.RT_HEAD, Role.RW_HEAD) else None))
        db.session.add(u)
        db.session.commit()
        return u

    def user_for_role(self, role: str) -> User:
        if role == Role.RESIDENT:
            return self.warga(ktp=True)
        if role == Role.RT_HEAD:
            return self.staff(role, rt="001", rw="001")
        if role == Role.RW_HEAD:
            return self.staff(role, rw="001")
        return self.staff(role)


@pytest.fixture
def factory(app):
    return Factory()


def login(client, identifier: str, password: str = PASSWORD):
    return client.post("/login", data={"identifier": identifier, "password": password})


def in_db(app, fn):
    """``fn()`` in an app context of its own, its session removed after: state outside any one request."""
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


@pytest.fixture
def login_as(client):
    def do(user: User, password: str = PASSWORD):
        ident = user.username or user.nik
        resp = login(client, ident, password)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return client

    return do


def jpeg_bytes(size=(640, 400), color=(200, 180, 150), exif_gps: bool = False) -> bytes:
    img = Image.new("RGB", size, color)
    buf = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "KameraUji"  # Make
        gps = {1: "S", 2: (7.0, 28.0, 0.0), 3: "E", 4: (112.0, 26.0, 0.0)}
        exif[0x8825] = gps
        img.save(buf, "JPEG", exif=exif)
    else:
        img.save(buf, "JPEG")
    return buf.getvalue()


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in page"
    return m.group(1)
