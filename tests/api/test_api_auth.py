"""Who may call /api/v1, and the problem+json body of every refusal: 401 (no key, malformed, unknown, revoked,
the old key after a rotation), 403 (scope, source address), 422, 404, 405, 429 with Retry-After; a session cookie
opens nothing; last_used_at is written at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sempelmas.extensions import db
from sempelmas.models.integration import ApiClient
from sempelmas.services.integration import clients
from tests.api.conftest import bearer
from tests.conftest import in_db

PROBLEM = "/api/v1/docs#problem-"


def assert_problem(resp, status: int, slug: str) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json(force=True)
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    assert body["title"] and isinstance(body["title"], str)
    assert resp.headers["Cache-Control"] == "no-store"
    return body


def test_no_key_is_401_with_www_authenticate(client):
    resp = client.get("/api/v1/me")
    assert_problem(resp, 401, "missing-key")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token spm_0123456789ab_x"])
def test_a_header_that_is_not_a_bearer_key_is_401(client, header):
    resp = client.get("/api/v1/me", headers={"Authorization": header})
    assert_problem(resp, 401, "invalid-key")
    assert 'error="invalid_request"' in resp.headers["WWW-Authenticate"]


@pytest.mark.parametrize("key", ["spm_0123456789ab_tebakan", "spm_pendek_x", "sembarang"])
def test_unknown_key_is_401(client, api_client_factory, key):
    api_client_factory()
    resp = client.get("/api/v1/me", headers=bearer(key))
    assert_problem(resp, 401, "invalid-key")
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_right_prefix_wrong_secret_is_401(client, api_client_factory):
    _c, key = api_client_factory()
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert_problem(client.get("/api/v1/me", headers=bearer(forged)), 401, "invalid-key")


def test_revoked_key_is_401(app, client, api_client_factory):
    api_client, key = api_client_factory(scopes=["letters:read"])
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    clients.revoke_client(api_client, actor=None)
    db.session.commit()
    body = assert_problem(client.get("/api/v1/me", headers=bearer(key)), 401, "revoked-key")
    assert "dicabut" in body["detail"]


def test_old_key_after_rotation_is_401_and_the_new_one_works(client, api_client_factory):
    api_client, old = api_client_factory()
    new = clients.rotate_key(api_client, actor=None)
    db.session.commit()
    assert_problem(client.get("/api/v1/me", headers=bearer(old)), 401, "invalid-key")
    assert client.get("/api/v1/me", headers=bearer(new)).status_code == 200


def test_missing_scope_is_403_naming_the_scopes(probe_app, api_client_factory):
    _c, key = api_client_factory(scopes=["catalogue:read"])
    resp = probe_app.test_client().get("/api/v1/probe/echo?n=2", headers=bearer(key))
    body = assert_problem(resp, 403, "insufficient-scope")
    assert body["required_scopes"] == ["letters:read"]


def test_pii_scope_widens_but_does_not_open(probe_app, api_client_factory):
    c = probe_app.test_client()
    _a, plain = api_client_factory(scopes=["letters:read"])
    _b, wide = api_client_factory(scopes=["letters:read", "letters:pii"])
    _c, pii_only = api_client_factory(scopes=["letters:pii"])
    assert c.get("/api/v1/probe/echo?n=2", headers=bearer(plain)).json == {"n": 2, "pii": False}
    assert c.get("/api/v1/probe/echo?n=2", headers=bearer(wide)).json == {"n": 2, "pii": True}
    assert_problem(c.get("/api/v1/probe/echo?n=2", headers=bearer(pii_only)), 403, "insufficient-scope")


def test_source_address_outside_the_allowed_networks_is_403(client, api_client_factory):
    _c, key = api_client_factory(allowed_sources=["10.20.0.0/16", "2001:db8::/32"])
    inside = client.get("/api/v1/me", headers=bearer(key), environ_base={"REMOTE_ADDR": "10.20.3.4"})
    assert inside.status_code == 200
    v6 = client.get("/api/v1/me", headers=bearer(key), environ_base={"REMOTE_ADDR": "2001:db8::7"})
    assert v6.status_code == 200
    outside = client.get("/api/v1/me", headers=bearer(key), environ_base={"REMOTE_ADDR": "192.0.2.9"})
    body = assert_problem(outside, 403, "source-not-allowed")
    assert body["source"] == "192.0.2.9"


def test_invalid_query_is_422_with_field_errors(probe_app, api_client_factory):
    _c, key = api_client_factory(scopes=["letters:read"])
    resp = probe_app.test_client().get("/api/v1/probe/echo?n=99", headers=bearer(key))
    body = assert_problem(resp, 422, "validation")
    assert "n" in body["errors"]["query"]


def test_invalid_json_body_is_422_and_the_api_needs_no_csrf_token(probe_app, api_client_factory):
    """probe_app runs with CSRF on: a POST with a Bearer key and no token is judged on its body alone."""
    _c, key = api_client_factory(scopes=["residents:write"])
    c = probe_app.test_client()
    body = assert_problem(c.post("/api/v1/probe/write", json={"n": "x"}, headers=bearer(key)), 422, "validation")
    assert "n" in body["errors"]["json"]
    assert c.post("/api/v1/probe/write", json={"n": 3}, headers=bearer(key)).status_code == 201


def test_unknown_address_and_wrong_method_are_problems(client):
    assert_problem(client.get("/api/v1/tidak-ada"), 404, "not-found")
    assert_problem(client.post("/api/v1/tidak-ada", json={}), 404, "not-found")
    resp = client.delete("/api/v1/me")
    assert_problem(resp, 405, "method-not-allowed")
    assert "GET" in resp.headers["Allow"]


def test_with_csrf_on_an_unknown_api_address_is_still_a_404_problem(probe_app):
    assert_problem(probe_app.test_client().post("/api/v1/tidak-ada", json={}), 404, "not-found")


def test_site_pages_keep_their_html_error_page(client):
    resp = client.get("/tidak-ada-halaman")
    assert resp.status_code == 404 and resp.mimetype == "text/html"


def test_rate_limit_is_429_with_retry_after_per_client(client, api_client_factory):
    _a, slow = api_client_factory(rate_limit="3/minute")
    _b, other = api_client_factory(rate_limit="3/minute")
    for _i in range(3):
        resp = client.get("/api/v1/me", headers=bearer(slow))
        assert resp.status_code == 200
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    resp = client.get("/api/v1/me", headers=bearer(slow))
    body = assert_problem(resp, 429, "rate-limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert "3 per 1 minute" in body["detail"]
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200  # counted per client


def test_default_rate_limit_comes_from_config(app, client, api_client_factory):
    app.config["API_RATE_LIMIT"] = "2/hour"
    _c, key = api_client_factory()
    assert client.get("/api/v1/me", headers=bearer(key)).json["rate_limit"] == "2/hour"
    client.get("/api/v1/me", headers=bearer(key))
    resp = client.get("/api/v1/me", headers=bearer(key))
    assert_problem(resp, 429, "rate-limited")
    assert int(resp.headers["Retry-After"]) > 60


def test_a_signed_in_session_does_not_authenticate_api_calls(client, factory, login_as, api_client_factory):
    admin = factory.staff("admin")
    login_as(admin)
    assert client.get("/admin/").status_code == 200  # the cookie is good for the site
    assert_problem(client.get("/api/v1/me"), 401, "missing-key")
    # with a key as well, the call acts as the client: the session's user is nobody under /api/v1
    _c, key = api_client_factory()
    resp = client.get("/api/v1/me", headers=bearer(key))
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers


def test_last_used_is_written_at_most_once_a_minute(app, client, api_client_factory):
    api_client, key = api_client_factory()
    client_id = api_client.id
    assert client.get("/api/v1/me", headers=bearer(key)).status_code == 200
    first = in_db(app, lambda: db.session.get(ApiClient, client_id).last_used_at)
    assert first is not None
    client.get("/api/v1/me", headers=bearer(key))
    assert in_db(app, lambda: db.session.get(ApiClient, client_id).last_used_at) == first

    def age():
        row = db.session.get(ApiClient, client_id)
        row.last_used_at = first - timedelta(seconds=61)
        db.session.commit()

    in_db(app, age)
    db.session.remove()  # the test's app context outlives its requests: drop what it read, as a new request does
    client.get("/api/v1/me", headers=bearer(key))
    assert in_db(app, lambda: db.session.get(ApiClient, client_id).last_used_at) > first - timedelta(seconds=61)
