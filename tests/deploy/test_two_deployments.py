"""Two kelurahan deployments against one PostgreSQL server at the same time, as deploy/sempelmas-city makes them
(two databases, two instance folders, two CAs, two secret keys), share nothing: accounts, letters, numbering, CA.

Both apps live in this one process and are used in turn, which is harder than production (one process set per
kelurahan): a cache keyed wrongly (by path, by row id) would leak here and not there. Scratch databases
sempelmas_deploy2_<pid>_x and _y on the local server, created and dropped by the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select, text

from sempelmas import create_app
from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.letters import Letter
from sempelmas.services.kelurahan.profile import current_profile, forget_cached_profile
from sempelmas.services.letters import ca as letter_ca
from sempelmas.services.letters.issuing import issue_letter
from sempelmas.services.letters.signing import validate_pdf
from tests.conftest import PRODUCTION, Factory
from tests.conftest import test_config as base_config
from tests.deploy import pg
from tests.signing_setup import LURAH_PASS, Desk

DBS = {"jagalan": f"sempelmas_deploy2_{os.getpid()}_x", "miji": f"sempelmas_deploy2_{os.getpid()}_y"}
HOSTS = {"jagalan": "https://layanan.jagalan.go.id", "miji": "https://layanan.miji.go.id"}
KEYS = {"jagalan": PRODUCTION["SECRET_KEY"], "miji": "4e8a1c7f0b2d6e9a3c5f8b1d4a7e0c2f6b9d3a5e8c1f4b7d0a2e6c9f3b5d8a1e"}


@pytest.fixture
def deployments(tmp_path):
    pg.need_server()
    pg.create(*DBS.values())
    apps = {}
    for name, database in DBS.items():
        instance = tmp_path / name
        cfg = base_config(f"postgresql+psycopg:///{database}", instance, ENV="production", SECRET_KEY=KEYS[name],
                          PUBLIC_URL=HOSTS[name], PKI_DIR=str(instance / "pki"),
                          PKI_CA_PASSPHRASE=f"ca-passphrase-{name}-0123456789", PKI_KEY_SCRYPT_LOG_N=10,
                          PROFILE_CACHE_SECONDS=60)  # the per-process cache on, as in production
        app = create_app(cfg)
        with app.app_context():
            db.create_all()
        apps[name] = app
    yield apps
    for app in apps.values():
        with app.app_context():
            forget_cached_profile()  # keyed by id(app): a later test's app may get the same id
            db.session.remove()
            db.engine.dispose()
    pg.drop(*DBS.values())


def _sign_one(app, village: str) -> dict:
    """In ``app``: a CA, officials with keys, one request signed by the lurah; what the test compares."""
    with app.app_context():
        factory = Factory()
        desk = Desk(factory)
        desk.lurah_official.position_title = f"Lurah {village}"
        current_profile_row = db.session.execute(text("SELECT id FROM kelurahan_profile")).scalar()
        db.session.execute(text("UPDATE kelurahan_profile SET village_name = :v WHERE id = :i"),
                           {"v": village, "i": current_profile_row})
        db.session.commit()
        only_here = factory.staff(Role.STAFF, f"petugas_{village.lower()}", password=f"sandi-{village}-123")
        (request,) = desk.awaiting(1)
        letter = issue_letter(request, desk.lurah, LURAH_PASS)
        pdf = (Path(app.config["LETTER_DIR"]) / letter.stored_name).read_bytes()
        return {"number": letter.number, "sequence": letter.sequence, "code": letter.verify_code, "pdf": pdf,
                "ca_serial": letter_ca.ca_certificate().serial_number, "staff": only_here.username,
                "staff_password": f"sandi-{village}-123", "letter_id": letter.id}


def test_two_deployments_share_nothing(deployments):
    x_app, y_app = deployments["jagalan"], deployments["miji"]
    x = _sign_one(x_app, "Jagalan")
    y = _sign_one(y_app, "Miji")

    # numbering: each kelurahan's first letter is number 1 of its own series
    assert x["sequence"] == 1 and y["sequence"] == 1
    # CA: two authorities; each letter validates only against its own kelurahan's CA
    assert x["ca_serial"] != y["ca_serial"]
    with x_app.app_context():
        assert validate_pdf(x["pdf"]).trusted and validate_pdf(x["pdf"]).valid
        assert not validate_pdf(y["pdf"]).trusted
        assert current_profile().village_name == "Jagalan"
    with y_app.app_context():
        assert validate_pdf(y["pdf"]).trusted and validate_pdf(y["pdf"]).valid
        assert not validate_pdf(x["pdf"]).trusted
        assert current_profile().village_name == "Miji"

    # letters: each verification page knows its own letter only (another's code is 404 here)
    for app, own, other in ((x_app, x, y), (y_app, y, x)):
        client = app.test_client()
        page = client.get(f"/v/{own['code']}", base_url=app.config["PUBLIC_URL"])
        assert page.status_code == 200 and b"SAH" in page.data
        assert client.get(f"/v/{other['code']}", base_url=app.config["PUBLIC_URL"]).status_code == 404
        with app.app_context():
            assert db.session.scalars(select(Letter)).all() == [db.session.get(Letter, own["letter_id"])]

    # accounts: an account of one cannot log in to the other
    for app, own, other in ((x_app, x, y), (y_app, y, x)):
        client = app.test_client()
        refused = _login(app, client, other["staff"], other["staff_password"])
        assert refused.status_code == 200  # the form again, with its message
        assert _get(app, client, "/akun/sandi").status_code == 302  # not signed in: to the login page
        assert _login(app, client, own["staff"], own["staff_password"]).status_code == 302
        assert _get(app, client, "/akun/sandi").status_code == 200

    # a session cookie of one deployment is worthless at the other (its own SECRET_KEY, its own sessions table)
    x_client = x_app.test_client()
    _login(x_app, x_client, x["staff"], x["staff_password"])
    y_client = y_app.test_client()
    y_client.set_cookie("session", x_client.get_cookie("session", domain="layanan.jagalan.go.id").value,
                        domain="layanan.miji.go.id")
    assert _get(y_app, y_client, "/akun/sandi").status_code == 302
    assert _get(x_app, x_client, "/akun/sandi").status_code == 200


def _login(app, client, identifier: str, password: str):
    return client.post("/login", data={"identifier": identifier, "password": password},
                       base_url=app.config["PUBLIC_URL"])


def _get(app, client, path: str):
    return client.get(path, base_url=app.config["PUBLIC_URL"])
