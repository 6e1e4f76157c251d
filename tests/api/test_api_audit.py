"""An audited action inside an API call names the API client (not any signed-in user), and the admin's audit
browser shows it as "API: <name>"."""

from __future__ import annotations

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.services.accountability import audit
from tests.api.conftest import bearer
from tests.conftest import csrf_from, login


def test_a_write_through_the_api_is_audited_with_the_clients_name(probe_app, api_client_factory):
    client_row, key = api_client_factory(scopes=["residents:write"], name="Dukcapil Kota")
    resp = probe_app.test_client().post("/api/v1/probe/write", json={"n": 4}, headers=bearer(key),
                                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert resp.status_code == 201
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "probe.write"))
    assert entry.details["api_client"] == "Dukcapil Kota"
    assert entry.details["api_client_id"] == client_row.id
    assert entry.actor_id is None and entry.ip == "10.9.8.7"
    assert audit.verify_chain().intact


def test_a_session_cookie_beside_the_key_does_not_become_the_actor(probe_app, factory, api_client_factory):
    admin = factory.staff(Role.ADMIN)
    _c, key = api_client_factory(scopes=["residents:write"], name="Dasbor Kecamatan")
    c = probe_app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"identifier": admin.username, "password": "rahasia-123",
                                  "csrf_token": token}).status_code == 302
    assert c.post("/api/v1/probe/write", json={"n": 5}, headers=bearer(key)).status_code == 201
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "probe.write"))
    assert entry.actor_id is None and entry.details["api_client"] == "Dasbor Kecamatan"


def test_audit_browser_shows_the_api_client(probe_app, client, factory, api_client_factory):
    _c, key = api_client_factory(scopes=["residents:write"], name="Portal Satu Data")
    assert probe_app.test_client().post("/api/v1/probe/write", json={"n": 6}, headers=bearer(key)).status_code == 201
    admin = factory.staff(Role.ADMIN)
    assert login(client, admin.username).status_code == 302
    html = client.get("/admin/audit?aksi=probe.").get_data(as_text=True)
    assert "API: Portal Satu Data" in html


def test_outside_the_api_entries_carry_no_client(client, factory):
    admin = factory.staff(Role.ADMIN)
    assert login(client, admin.username).status_code == 302
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.login"))
    assert entry.actor_id == admin.id and "api_client" not in entry.details
