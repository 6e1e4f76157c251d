"""The OpenDK settings page: admin only, CSRF, audited, secrets never shown back, and the delivery log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.models.audit import AuditEntry
from sempelmas.models.opendk import OpenDkSettings
from sempelmas.services.integration import opendk_settings

FORM = {"enabled": "y", "base_url": "https://kecamatan.example.go.id/", "desa_id": "35.76.03.1004",
        "email": "desa@kecamatan.test", "password": "sandi-rahasia-9", "api_key": "token-rahasia-abc"}


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.STAFF, Role.SIGNER, Role.RT_HEAD])
def test_only_the_admin_may_see_or_change_the_connector(client, factory, login_as, role):
    login_as(factory.user_for_role(role))
    assert client.get("/admin/opendk").status_code == 403
    assert client.post("/admin/opendk", data=FORM).status_code == 403
    assert db.session.scalar(select(OpenDkSettings)) is None


def test_anonymous_goes_to_login(client):
    resp = client.get("/admin/opendk")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_admin_saves_settings_secrets_are_encrypted_masked_and_audited(client, factory, login_as):
    admin = factory.staff(Role.ADMIN, "admin-odk")
    login_as(admin)
    resp = client.post("/admin/opendk", data=FORM)
    assert resp.status_code == 303
    page = client.get("/admin/opendk").get_data(as_text=True)
    assert "sandi-rahasia-9" not in page and "token-rahasia-abc" not in page
    assert "Tersimpan (terenkripsi). Kosongkan bila tidak diubah." in page
    assert 'value="https://kecamatan.example.go.id"' in page and "35.76.03.1004" in page
    row = db.session.scalar(select(OpenDkSettings))
    assert "sandi-rahasia-9" not in row.password_enc and "token-rahasia-abc" not in row.api_key_enc
    assert opendk_settings.enabled()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "opendk.settings")).one()
    assert entry.actor_id == admin.id and "password" in entry.details["changed"]
    assert "sandi-rahasia-9" not in str(entry.details) and "token-rahasia-abc" not in str(entry.details)

    # saved again with the secret fields empty: they are kept
    assert client.post("/admin/opendk", data={**FORM, "password": "", "api_key": ""}).status_code == 303
    conn = opendk_settings.connection()
    assert (conn.password, conn.api_key) == ("sandi-rahasia-9", "token-rahasia-abc")
    # the token can be removed to go back to logging in
    assert client.post("/admin/opendk", data={**FORM, "password": "", "api_key": "",
                                              "clear_api_key": "y"}).status_code == 303
    assert opendk_settings.connection().api_key == ""


@pytest.mark.parametrize(("change", "field_error"), [
    ({"base_url": "ftp://kecamatan"}, "http:// atau https://"),
    ({"desa_id": "35-76"}, "angka dan titik"),
    ({"email": "bukan-email", "api_key": ""}, "e-mail akun OpenDK tidak valid"),
    ({"password": "", "api_key": ""}, "Isi e-mail dan kata sandi"),
    ({"desa_id": ""}, "kode desa"),
])
def test_bad_settings_are_refused_in_indonesian_and_nothing_is_saved(client, factory, login_as, change, field_error):
    login_as(factory.staff(Role.ADMIN, "admin-odk2"))
    resp = client.post("/admin/opendk", data={**FORM, **change})
    assert resp.status_code == 422
    assert field_error in resp.get_data(as_text=True)
    assert db.session.scalar(select(OpenDkSettings)) is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "opendk.settings")) is None


def test_off_unless_configured(client, factory, login_as):
    login_as(factory.staff(Role.ADMIN, "admin-odk3"))
    assert not opendk_settings.enabled()
    page = client.get("/admin/opendk").get_data(as_text=True)
    assert "Belum ada surat yang dikirim ke OpenDK." in page
    client.post("/admin/opendk", data={**FORM, "enabled": ""})
    assert not opendk_settings.enabled()
