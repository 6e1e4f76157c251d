"""The API's frame: /api/v1/me with a key, the OpenAPI document, problem+json for what no view answers."""

from __future__ import annotations

from tests.api.conftest import bearer


def test_me_shows_the_calling_clients_name_and_scopes(client, api_client_factory):
    api_client, key = api_client_factory(scopes=["letters:read", "catalogue:read"], name="Portal Data Kota")
    resp = client.get("/api/v1/me", headers=bearer(key))
    assert resp.status_code == 200, resp.data
    assert resp.json["name"] == "Portal Data Kota"
    assert resp.json["scopes"] == ["catalogue:read", "letters:read"]


def test_openapi_document_is_served_as_3_1(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.json["openapi"] == "3.1.0"
    assert "/api/v1/me" in resp.json["paths"]


def test_unknown_api_address_is_a_problem_not_a_page(client):
    resp = client.get("/api/v1/tidak-ada")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
    assert resp.json["type"].endswith("#problem-not-found") and resp.json["status"] == 404
