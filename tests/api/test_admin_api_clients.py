"""The admin's page of API clients: create (the key shown once, only its hash stored), change scopes, rotate,
revoke; every step audited; CSRF on every POST; admins only; bad input refused in Indonesian, nothing saved."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.integration import ApiClient
from tests.api.conftest import bearer
from tests.conftest import csrf_from

KEY = re.compile(r"spm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _key_in(html: str) -> str:
    found = KEY.findall(html)
    assert len(found) == 1, found
    return found[0]


def _actions(action_prefix="api_client."):
    return [(e.action, e.details) for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.startswith(action_prefix)).order_by(AuditEntry.seq))]


@pytest.fixture
def admin_client(make_app, factory):
    app = make_app(WTF_CSRF_ENABLED=True)
    admin = factory.staff(Role.ADMIN)
    c = app.test_client()
    assert login_with_csrf(c, admin.username).status_code == 302
    return c


def login_with_csrf(c, username):
    token = csrf_from(c.get("/login").get_data(as_text=True))
    return c.post("/login", data={"identifier": username, "password": "rahasia-123", "csrf_token": token})


def _create(c, **fields):
    token = csrf_from(c.get("/admin/api-klien").get_data(as_text=True))
    data = {"name": "Portal Satu Data", "scopes": ["letters:read", "catalogue:read"], "allowed_sources": "",
            "rate_limit": "", "csrf_token": token, **fields}
    return c.post("/admin/api-klien", data=data)


def test_admin_creates_a_client_and_sees_its_key_once(admin_client):
    resp = _create(admin_client, allowed_sources="203.0.113.7\n10.20.0.0/16", rate_limit="600/minute")
    assert resp.status_code == 200
    assert "no-store" in resp.headers["Cache-Control"]
    key = _key_in(resp.get_data(as_text=True))
    row = db.session.scalar(select(ApiClient))
    assert row.name == "Portal Satu Data" and row.scopes == ["catalogue:read", "letters:read"]
    assert row.allowed_sources == ["203.0.113.7/32", "10.20.0.0/16"] and row.rate_limit == "600/minute"
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.split("_")[1] == row.key_prefix
    secret = key.split("_", 2)[2]
    assert all(secret not in str(v) for v in (row.key_hash, row.name, row.scopes))
    # never again: not on the list, not on the client's page, not in the audit log
    for page in ("/admin/api-klien", f"/admin/api-klien/{row.id}"):
        html = admin_client.get(page).get_data(as_text=True)
        assert secret not in html and f"spm_{row.key_prefix}_" in html
    assert [a for a, _d in _actions()] == ["api_client.create"]
    assert secret not in str(_actions())
    # and it works, from an allowed address
    ok = admin_client.get("/api/v1/me", headers=bearer(key), environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert ok.status_code == 200 and ok.json["name"] == "Portal Satu Data"


def test_bad_input_is_refused_in_indonesian_and_nothing_is_saved(admin_client):
    resp = _create(admin_client, allowed_sources="10.0.0.0/8\nbukan-alamat")
    assert resp.status_code == 422
    assert "Alamat sumber tidak valid: bukan-alamat" in resp.get_data(as_text=True)
    resp = _create(admin_client, rate_limit="banyak sekali")
    assert resp.status_code == 422 and "Batas laju tidak dikenali" in resp.get_data(as_text=True)
    resp = _create(admin_client, scopes=["letters:read", "semua:boleh"])
    assert resp.status_code == 422
    assert db.session.scalar(select(ApiClient)) is None and _actions() == []
    assert not KEY.search(resp.get_data(as_text=True))


def test_same_name_twice_is_refused(admin_client):
    assert _create(admin_client).status_code == 200
    resp = _create(admin_client)
    assert resp.status_code == 422 and "sudah dipakai" in resp.get_data(as_text=True)


def test_admin_changes_scopes_and_the_change_is_audited(admin_client):
    key = _key_in(_create(admin_client).get_data(as_text=True))
    row = db.session.scalar(select(ApiClient))
    page = f"/admin/api-klien/{row.id}"
    token = csrf_from(admin_client.get(page).get_data(as_text=True))
    resp = admin_client.post(page, data={"name": "Portal Satu Data", "scopes": ["letters:read", "letters:pii"],
                                         "allowed_sources": "", "rate_limit": "", "csrf_token": token})
    assert resp.status_code == 303
    assert admin_client.get("/api/v1/me", headers=bearer(key)).json["scopes"] == ["letters:read", "letters:pii"]
    action, details = _actions()[-1]
    assert action == "api_client.update"
    assert details["changes"]["scopes"] == {"dari": ["catalogue:read", "letters:read"],
                                            "ke": ["letters:read", "letters:pii"]}


def test_rotating_shows_a_new_key_once_and_kills_the_old_one(admin_client):
    old = _key_in(_create(admin_client).get_data(as_text=True))
    row = db.session.scalar(select(ApiClient))
    token = csrf_from(admin_client.get(f"/admin/api-klien/{row.id}").get_data(as_text=True))
    resp = admin_client.post(f"/admin/api-klien/{row.id}/ganti-kunci", data={"csrf_token": token})
    assert resp.status_code == 200 and "no-store" in resp.headers["Cache-Control"]
    new = _key_in(resp.get_data(as_text=True))
    assert new != old
    assert admin_client.get("/api/v1/me", headers=bearer(old)).status_code == 401
    assert admin_client.get("/api/v1/me", headers=bearer(new)).status_code == 200
    assert [a for a, _d in _actions()] == ["api_client.create", "api_client.rotate"]


def test_revoking_stops_the_key_and_is_audited(admin_client):
    key = _key_in(_create(admin_client).get_data(as_text=True))
    row = db.session.scalar(select(ApiClient))
    token = csrf_from(admin_client.get(f"/admin/api-klien/{row.id}").get_data(as_text=True))
    resp = admin_client.post(f"/admin/api-klien/{row.id}/cabut", data={"csrf_token": token})
    assert resp.status_code == 303
    assert admin_client.get("/api/v1/me", headers=bearer(key)).json["type"].endswith("#problem-revoked-key")
    assert [a for a, _d in _actions()] == ["api_client.create", "api_client.revoke"]
    # a revoked client gets no new key and keeps its settings
    resp = admin_client.post(f"/admin/api-klien/{row.id}/ganti-kunci", data={"csrf_token": token})
    assert resp.status_code == 400
    page = admin_client.get(f"/admin/api-klien/{row.id}").get_data(as_text=True)
    assert "dicabut" in page and "Ganti kunci" not in page


@pytest.mark.parametrize("path", ["/admin/api-klien", "/admin/api-klien/{id}/ganti-kunci",
                                  "/admin/api-klien/{id}/cabut", "/admin/api-klien/{id}"])
def test_every_post_needs_its_csrf_token(admin_client, path):
    _create(admin_client)
    row = db.session.scalar(select(ApiClient))
    resp = admin_client.post(path.format(id=row.id), data={"name": "X", "scopes": ["letters:read"]})
    assert resp.status_code == 400
    assert [a for a, _d in _actions()] == ["api_client.create"]


@pytest.mark.parametrize("role", [Role.STAFF, Role.SIGNER, Role.RESIDENT])
def test_only_admins_reach_the_page(client, factory, login_as, api_client_factory, role):
    c, _key = api_client_factory()
    login_as(factory.user_for_role(role))
    assert client.get("/admin/api-klien").status_code == 403
    assert client.get(f"/admin/api-klien/{c.id}").status_code == 403
    assert client.post(f"/admin/api-klien/{c.id}/cabut").status_code == 403
    assert db.session.get(ApiClient, c.id).revoked_at is None


def test_unknown_client_is_404(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN))
    assert client.get("/admin/api-klien/999999").status_code == 404
    assert client.post("/admin/api-klien/999999/cabut").status_code == 404


def test_admin_home_links_to_the_api_clients(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN))
    assert "/admin/api-klien" in client.get("/admin/").get_data(as_text=True)
