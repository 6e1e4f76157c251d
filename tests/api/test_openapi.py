"""The generated OpenAPI 3.1 document: valid, complete (every /api/v1 route of the app is in it, so later
resources are held to it too), with the bearer scheme and problem+json errors; the reference page; deprecation."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from sempelmas.web.api import PREFIX
from tests.api.conftest import bearer

#: the document and the page that serve the API's description, not operations of it
NOT_OPERATIONS = {"/api/v1/openapi.json", "/api/v1/docs"}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _api_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/") and rule.rule not in NOT_OPERATIONS:
            yield rule


def check_document(app, spec: dict) -> None:
    validate(spec)  # OpenAPI 3.1 (the version is read from the document)
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["servers"][0]["url"].startswith("http")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "spm_<prefix>_<secret>",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"]}
    missing = []
    for rule in _api_rules(app):
        item = spec["paths"].get(_openapi_path(rule.rule))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = (item or {}).get(method.lower())
            if op is None:
                missing.append(f"{method} {rule.rule}")
                continue
            assert op.get("security", spec.get("security")) == [{"bearerAuth": []}], rule.rule
            assert "x-scopes" in op, f"{method} {rule.rule}: not behind @scoped"
            for code in ("401", "403", "429"):
                assert code in op["responses"], (rule.rule, code)
    assert not missing, f"routes missing from the OpenAPI document: {missing}"
    for name in ("UNAUTHORIZED", "FORBIDDEN", "TOO_MANY_REQUESTS"):
        assert list(spec["components"]["responses"][name]["content"]) == ["application/problem+json"]


def test_openapi_document_validates_and_lists_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert len(list(_api_rules(app))) >= 1
    check_document(app, spec)


def test_a_resource_added_to_blueprints_is_documented_too(probe_app):
    spec = probe_app.test_client().get("/api/v1/openapi.json").get_json()
    check_document(probe_app, spec)
    echo = spec["paths"]["/api/v1/probe/echo"]["get"]
    assert echo["x-scopes"] == ["letters:read"]
    assert any(p["name"] == "n" and p["in"] == "query" for p in echo["parameters"])
    assert "422" in echo["responses"]


def test_reference_page_is_served_from_the_app_without_outside_assets(probe_app):
    resp = probe_app.test_client().get("/api/v1/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    for path in ("GET /api/v1/me", "GET /api/v1/probe/echo", "POST /api/v1/probe/write"):
        assert path in html
    assert "letters:read" in html and "/api/v1/openapi.json" in html
    # everything it loads comes from this site (the CSP would block the rest anyway)
    assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html)


def test_deprecated_operation_announces_deprecation_and_sunset(probe_app, api_client_factory):
    _c, key = api_client_factory()
    c = probe_app.test_client()
    resp = c.get("/api/v1/probe/old", headers=bearer(key))
    assert resp.status_code == 200
    assert resp.headers["Deprecation"] == "@1796083200"  # 2026-12-01T00:00:00Z
    assert resp.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert resp.headers["Link"] == '<https://example.org/api/v1/docs#new>; rel="deprecation"; type="text/html"'
    refused = c.get("/api/v1/probe/old")  # a refusal carries it too: an old client learns of it either way
    assert refused.status_code == 401 and refused.headers["Sunset"]
    assert c.get("/api/v1/probe/echo?n=1", headers=bearer(key)).headers.get("Deprecation") is None
    spec = c.get("/api/v1/openapi.json").get_json()
    assert spec["paths"]["/api/v1/probe/old"]["get"]["deprecated"] is True


def test_reference_page_is_the_same_for_everyone_and_sets_no_cookie(client, factory, login_as):
    anonymous = client.get("/api/v1/docs")
    assert "Set-Cookie" not in anonymous.headers and "csrf" not in anonymous.get_data(as_text=True).lower()
    login_as(factory.staff("admin"))
    signed_in = client.get("/api/v1/docs")
    assert signed_in.get_data() == anonymous.get_data() and "Set-Cookie" not in signed_in.headers
    assert signed_in.headers["Cache-Control"] == "public, max-age=300"


def test_every_problem_type_resolves_to_its_entry_on_the_reference_page(app, client, api_client_factory):
    """A problem's ``type`` is a reference into this instance's reference page: following it (resolved against
    the API's address) lands on the entry that explains it, for the problems of the machinery and the resources'."""
    from urllib.parse import urljoin

    from sempelmas.web.api import problems

    _c, key = api_client_factory()
    answer = client.get("/api/v1/letters", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 403
    page_url, _hash, anchor = urljoin("https://kelurahan.example/api/v1/letters", answer.json["type"]).partition("#")
    assert page_url == "https://kelurahan.example/api/v1/docs"
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert f'id="{anchor}"' in html
    for slug in ("invalid-cursor", "batch-too-large", "conflict", "rate-limited", "validation"):
        assert f'id="problem-{slug}"' in html and slug in problems.KNOWN
