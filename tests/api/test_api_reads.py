"""The read resources of /api/v1: each with and without its scope, the letters register's cursor pages (stable
while letters are added), ETag and 304, personal data only under a :pii scope and then audited with the client's
name, and the request numbers equal to the dashboard's."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.links import absolute_url
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter, LetterStatus
from sempelmas.services.accountability import service_stats
from sempelmas.services.accountability.periods import Period
from sempelmas.services.letters import issued
from tests.api.conftest import bearer
from tests.api_letters import add_complaints, add_letters, letter_world

#: every read resource: (path, the scope it needs)
RESOURCES = [
    ("/api/v1/services", "catalogue:read"),
    ("/api/v1/letters", "letters:read"),
    ("/api/v1/letters/verify/{code}", "letters:read"),
    ("/api/v1/stats/requests", "requests:read"),
    ("/api/v1/requests/{tracking}", "requests:status"),
    ("/api/v1/ikm", "ikm:read"),
    ("/api/v1/transparency", "ikm:read"),
    ("/api/v1/complaints", "complaints:read"),
]
ALL_READ = sorted({scope for _p, scope in RESOURCES})


@pytest.fixture
def world(app, factory):
    w = letter_world(factory)
    add_letters(w, 3)
    add_complaints(2)
    w["code"] = db.session.scalar(select(Letter.verify_code).order_by(Letter.id).limit(1))
    return w


def _path(template: str, world) -> str:
    return template.format(code=world["code"], tracking=world["request"].tracking_number)


def last_audit() -> AuditEntry | None:
    db.session.rollback()  # only what the request committed
    return db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))


@pytest.mark.parametrize(("template", "scope"), RESOURCES)
def test_each_resource_needs_a_key_and_its_scope(client, api_client_factory, world, template, scope):
    path = _path(template, world)
    resp = client.get(path)
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    _c, others = api_client_factory(scopes=[s for s in ALL_READ if s != scope])
    resp = client.get(path, headers=bearer(others))
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert resp.json["status"] == 403 and resp.json["type"].endswith("#problem-insufficient-scope")
    assert resp.json["required_scopes"] == [scope]
    _c, key = api_client_factory(scopes=[scope])
    resp = client.get(path, headers=bearer(key))
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "application/json"


def test_every_read_route_is_in_the_valid_openapi_document_with_its_scope(client):
    doc = client.get("/api/v1/openapi.json").json
    validate(doc)
    for template, scope in RESOURCES:
        operation = doc["paths"][template.replace("{tracking}", "{tracking_number}")]["get"]
        assert operation["x-scopes"] == [scope], template
        assert {"401", "403"} <= set(operation["responses"]), template


# ----------------------------------------------------------------------------------- letters


def walk(client, key, query="", limit=4):
    seen, cursor = [], None
    while True:
        url = f"/api/v1/letters?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        resp = client.get(url, headers=bearer(key))
        assert resp.status_code == 200, resp.data
        seen += resp.json["items"]
        cursor = resp.json["next_cursor"]
        if not resp.json["has_more"]:
            return seen, cursor


def test_register_fields_without_nik_and_verification_urls_absolute(client, api_client_factory, world):
    _c, key = api_client_factory(scopes=["letters:read"])
    before = last_audit()
    items, _cursor = walk(client, key)
    assert len(items) == 3
    first = items[0]
    assert "subject_nik" not in first and world["siti"].resident.nik not in str(items)
    assert first["verification"]["url"] == absolute_url(f"/v/{first['verification']['code']}")
    assert first["verification"]["url"].startswith(("http://", "https://"))
    assert first["signer"]["name"] == "Drs. SUGENG RAHARJO" and first["type"]["code"] == "domisili"
    assert first["status"] == "sah" and first["date"] == "2026-03-02"
    after = last_audit()
    assert (after.id if after else None) == (before.id if before else None)  # no personal data, no entry


def test_register_nik_with_pii_scope_is_audited_with_the_clients_name(client, api_client_factory, world):
    api_client, key = api_client_factory(scopes=["letters:read", "letters:pii"], name="Dukcapil Kota")
    resp = client.get("/api/v1/letters?limit=2", headers=bearer(key))
    assert [i["subject_nik"] for i in resp.json["items"]] == [world["siti"].resident.nik] * 2
    entry = last_audit()
    assert entry.action == "api.letters_pii_read" and entry.details["api_client"] == "Dukcapil Kota"
    assert entry.details["letter_ids"] == [i["id"] for i in resp.json["items"]]
    # the pii scope alone opens nothing
    _c, only_pii = api_client_factory(scopes=["letters:pii"])
    assert client.get("/api/v1/letters", headers=bearer(only_pii)).status_code == 403


def test_pages_stay_stable_while_letters_are_added(client, api_client_factory, world):
    _c, key = api_client_factory(scopes=["letters:read"])
    add_letters(world, 9)  # 12 letters, pages of 5
    first = client.get("/api/v1/letters?limit=5", headers=bearer(key)).json
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    batch = 0
    while True:
        batch += 1  # new letters signed between every two pages
        add_letters(world, 2, start=datetime(2026, 4, batch, 2, 0))
        page = client.get(f"/api/v1/letters?limit=5&cursor={cursor}", headers=bearer(key)).json
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    every = db.session.scalars(select(Letter.id).order_by(Letter.signed_at, Letter.id)).all()
    assert len(seen) == len(set(seen))  # nothing repeated
    assert seen == list(every)  # nothing skipped, in order, the added ones included


def test_filters_and_a_bad_cursor_or_query(client, api_client_factory, world):
    add_letters(world, 2, status=LetterStatus.REVOKED, service="sktm", start=datetime(2026, 3, 9, 2, 0))
    _c, key = api_client_factory(scopes=["letters:read"])
    assert len(walk(client, key, "&status=dicabut")[0]) == 2
    assert len(walk(client, key, "&type=sktm&status=sah")[0]) == 0
    assert len(walk(client, key, "&date_from=2026-03-09&date_to=2026-03-09")[0]) == 2
    assert len(walk(client, key, "&date_to=2026-03-08")[0]) == 3
    resp = client.get("/api/v1/letters?cursor=bukan-kursor", headers=bearer(key))
    assert resp.status_code == 400 and resp.json["type"].endswith("#problem-invalid-cursor")
    for bad in ("status=hilang", "limit=0", "limit=100000", "date_from=2026-13-01",
                "date_from=2026-03-09&date_to=2026-03-01"):
        resp = client.get(f"/api/v1/letters?{bad}", headers=bearer(key))
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json", bad
        assert resp.json["errors"], bad


def test_etag_gives_304_until_the_page_changes(client, api_client_factory, world, factory):
    _c, key = api_client_factory(scopes=["letters:read"])
    resp = client.get("/api/v1/letters", headers=bearer(key))
    etag = resp.headers["ETag"]
    assert etag
    again = client.get("/api/v1/letters", headers={**bearer(key), "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag if "ETag" in again.headers else True
    letter = db.session.scalar(select(Letter).order_by(Letter.id).limit(1))
    issued.revoke(letter, factory.staff("admin"), "Salah ketik nama")
    db.session.commit()
    changed = client.get("/api/v1/letters", headers={**bearer(key), "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json["items"][0]["status"] == "dicabut"
    # the same page with the NIK is another representation: another ETag
    _c, pii = api_client_factory(scopes=["letters:read", "letters:pii"])
    assert client.get("/api/v1/letters", headers=bearer(pii)).headers["ETag"] != changed.headers["ETag"]


def test_verification_is_the_public_pages_facts(client, api_client_factory, world):
    _c, key = api_client_factory(scopes=["letters:read"])
    resp = client.get(f"/api/v1/letters/verify/{world['code']}", headers=bearer(key))
    body = resp.json
    facts = issued.public_facts(world["code"])
    assert body["number"] == facts.number and body["status"] == "sah" and body["valid"] is True
    assert body["subject"] == {"name": facts.resident_name, "nik": facts.resident_nik}
    assert world["siti"].resident.nik not in resp.get_data(as_text=True)
    assert "SITI AMINAH" not in resp.get_data(as_text=True)
    assert body["url"] == absolute_url(f"/v/{world['code']}")
    page = client.get(f"/v/{world['code']}").get_data(as_text=True)
    for shown in (facts.number, facts.resident_nik, facts.pdf_sha256):
        assert shown in page
    missing = client.get("/api/v1/letters/verify/tidak-ada", headers=bearer(key))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


# ----------------------------------------------------------------------------------- requests, ikm, catalogue


def test_request_numbers_equal_the_dashboards(client, api_client_factory, world):
    _c, key = api_client_factory(scopes=["requests:read"])
    resp = client.get("/api/v1/stats/requests?date_from=2026-01-01&date_to=2026-12-31", headers=bearer(key))
    body = resp.json
    stats = service_stats.period_stats(Period(date(2026, 1, 1), date(2026, 12, 31), "Asia/Jakarta"))
    assert body["received"] == stats.received == 1
    assert [(s["status"], s["count"]) for s in body["by_status"]] == [(c, n) for c, _l, n in stats.by_status]
    assert [m["received"] for m in body["months"]] == [m.received for m in stats.months]
    assert [(s["name"], s["received"]) for s in body["services"]] == [(r.name, r.received) for r in stats.services]
    assert [(a["rt"], a["rw"], a["received"]) for a in body["areas"]] == stats.areas
    assert body["completion"]["completed"] == stats.total.completed
    month = client.get("/api/v1/stats/requests?month=2026-03", headers=bearer(key)).json
    assert month["period"] == {"start": "2026-03-01", "end": "2026-03-31", "time_zone": "Asia/Jakarta"}
    for bad in ("month=2026-13", "date_from=2026-01-01", "date_from=2020-01-01&date_to=2026-01-01"):
        resp = client.get(f"/api/v1/stats/requests?{bad}", headers=bearer(key))
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json", bad


def test_request_status_without_personal_data(client, api_client_factory, world):
    _c, key = api_client_factory(scopes=["requests:status"])
    req = world["request"]
    resp = client.get(f"/api/v1/requests/{req.tracking_number}", headers=bearer(key))
    assert resp.json["status"] == req.status and resp.json["service"]["code"] == "domisili"
    text = resp.get_data(as_text=True)
    assert "SITI" not in text.upper() and world["siti"].resident.nik not in text
    assert set(resp.json) == {"tracking_number", "status", "status_label", "final", "service", "submitted_at",
                              "due_at", "closed_at", "updated_at"}
    assert client.get("/api/v1/requests/JGL-0000-000000", headers=bearer(key)).status_code == 404


def test_ikm_transparency_and_catalogue(client, api_client_factory, world):
    _c, key = api_client_factory(scopes=["ikm:read", "catalogue:read"])
    ikm = client.get("/api/v1/ikm?year=2026&per=semester", headers=bearer(key)).json
    assert [(p["start"], p["end"]) for p in ikm["items"]] == [("2026-01-01", "2026-06-30"),
                                                              ("2026-07-01", "2026-12-31")]
    assert client.get("/api/v1/ikm?per=minggu", headers=bearer(key)).status_code == 422
    transparency = client.get("/api/v1/transparency", headers=bearer(key)).json
    assert set(transparency) == {"as_of", "month", "year", "ikm"}
    services = client.get("/api/v1/services", headers=bearer(key))
    assert [s["code"] for s in services.json["items"]] == ["domisili", "sktm"]
    assert services.json["items"][0]["fields"][0]["name"] == "keperluan"
    assert client.get("/api/v1/services", headers={**bearer(key), "If-None-Match": services.headers["ETag"]}
                      ).status_code == 304


# ----------------------------------------------------------------------------------- complaints


def test_complaints_contact_only_with_pii_scope_and_audited(client, api_client_factory, world):
    _c, key = api_client_factory(scopes=["complaints:read"])
    plain = client.get("/api/v1/complaints", headers=bearer(key)).json
    assert len(plain["items"]) == 2 and all("contact" not in i and "body" not in i for i in plain["items"])
    before = last_audit()
    _c, pii = api_client_factory(scopes=["complaints:read", "complaints:pii"], name="Ombudsman Kota")
    full = client.get("/api/v1/complaints?limit=1", headers=bearer(pii)).json
    assert full["items"][0]["contact"]["email"].endswith("@contoh.id") and full["has_more"]
    entry = last_audit()
    assert entry.id != (before.id if before else None)
    assert entry.action == "api.complaints_pii_read" and entry.details["api_client"] == "Ombudsman Kota"
    rest = client.get(f"/api/v1/complaints?limit=1&cursor={full['next_cursor']}", headers=bearer(pii)).json
    assert rest["items"][0]["code"] != full["items"][0]["code"] and not rest["has_more"]
    assert client.get("/api/v1/complaints?status=baru", headers=bearer(key)).status_code == 200
    assert client.get("/api/v1/complaints?status=x", headers=bearer(key)).status_code == 422
