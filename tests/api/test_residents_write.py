"""POST /api/v1/residents: register upserts in batches through the import's rules, per-row results, idempotent."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.residents import KKHistory, Resident
from tests.api.conftest import bearer
from tests.services.test_residents_upsert import ANAK, BUDI, SRI

URL = "/api/v1/residents"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def writer(api_client_factory):
    _client, key = api_client_factory(scopes=["residents:write"], name="Dukcapil Kota Mojokerto")
    return bearer(key)


def post(client, headers, rows):
    return client.post(URL, json={"rows": rows}, headers=headers)


@pytest.mark.parametrize("scopes", [[], ["letters:read", "letters:pii", "complaints:pii"]])
def test_without_the_residents_write_scope_the_batch_is_refused_with_403(client, api_client_factory, scopes):
    _c, key = api_client_factory(scopes=scopes)
    resp = post(client, bearer(key), [BUDI])
    assert resp.status_code == 403
    assert resp.mimetype == "application/problem+json"
    assert resp.json["required_scopes"] == ["residents:write"]
    assert count(Resident) == 0


def test_without_a_key_the_batch_is_refused_with_401(client):
    resp = post(client, {}, [BUDI])
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    assert count(Resident) == 0


def test_a_mixed_batch_gets_a_result_per_row_and_saves_only_the_right_rows(client, writer):
    post(client, writer, [BUDI])
    rows = [
        {**BUDI, "pekerjaan": "Pedagang"},  # updated
        SRI,  # created
        {**ANAK, "nik": "3576031713900015"},  # NIK month 13
        {**ANAK, "nik": "357603020315001"},  # 15 digits
        {**ANAK, "tanggal_lahir": "31-31-2015"},
        {**SRI},  # the same NIK again in this batch
    ]
    resp = post(client, writer, rows)
    assert resp.status_code == 200, resp.data
    body = resp.json
    assert {k: body[k] for k in ("total", "created", "updated", "unchanged", "rejected", "kk_changes")} == {
        "total": 6, "created": 1, "updated": 1, "unchanged": 0, "rejected": 4, "kk_changes": 0}
    results = body["results"]
    assert [(r["index"], r["outcome"]) for r in results] == [
        (0, "updated"), (1, "created"), (2, "error"), (3, "error"), (4, "error"), (5, "error")]
    assert results[0]["changed"] == ["pekerjaan"] and results[0]["nik"] == BUDI["nik"]
    # the import's own messages, saying which part of the NIK is wrong, and a code for machines
    assert results[2]["errors"] == [{"code": "nik_month",
                                     "message": "Bulan lahir pada NIK (digit 9–10) harus 01–12, bukan 13."}]
    assert results[3]["errors"] == [{"code": "nik_length", "message": "NIK harus 16 digit (yang diisi 15 digit)."}]
    assert results[3]["nik"] == "357603020315001"
    assert results[4]["errors"][0]["code"] == "birth_date_invalid"
    assert "31-31-2015" in results[4]["errors"][0]["message"]
    assert results[5]["errors"] == [{"code": "nik_duplicate", "message": "NIK sama dengan baris 1."}]
    assert count(Resident) == 2  # Budi and Sri; nothing of the wrong rows
    assert db.session.scalar(select(Resident.occupation).where(Resident.nik == BUDI["nik"])) == "Pedagang"


def test_the_same_batch_twice_changes_nothing_the_second_time(client, writer):
    rows = [BUDI, SRI, ANAK, {**ANAK, "nik": "1"}]
    first = post(client, writer, rows).json
    assert (first["created"], first["rejected"]) == (3, 1)
    saved = {r.nik: r.updated_at for r in db.session.scalars(select(Resident))}
    second = post(client, writer, rows).json
    assert (second["created"], second["updated"], second["unchanged"], second["rejected"]) == (0, 0, 3, 1)
    assert [r["outcome"] for r in second["results"]] == ["unchanged"] * 3 + ["error"]
    db.session.expire_all()
    assert {r.nik: r.updated_at for r in db.session.scalars(select(Resident))} == saved
    assert count(KKHistory) == 0


def test_a_changed_kk_number_is_kept_in_the_kk_history_as_the_import_keeps_it(client, writer):
    post(client, writer, [BUDI, SRI])
    resp = post(client, writer, [{**SRI, "no_kk": "3576031203150002"}])
    assert resp.json["kk_changes"] == 1 and resp.json["results"][0]["changed"] == ["no_kk"]
    sri = db.session.scalar(select(Resident).where(Resident.nik == SRI["nik"]))
    assert sri.kk_number == "3576031203150002"
    assert [(h.resident_id, h.old_kk_number, h.new_kk_number, h.source, h.changed_by_id)
            for h in db.session.scalars(select(KKHistory))] == [
        (sri.id, "3576031203150001", "3576031203150002", "api", None)]


def test_a_batch_larger_than_the_limit_is_refused_whole_with_413(app, client, writer):
    app.config["API_UPSERT_MAX_ROWS"] = 2
    resp = post(client, writer, [BUDI, SRI, ANAK])
    assert resp.status_code == 413
    assert resp.mimetype == "application/problem+json"
    assert resp.json["max_rows"] == 2 and resp.json["type"].endswith("#problem-batch-too-large")
    assert "paling banyak 2 baris" in resp.json["detail"]
    assert count(Resident) == 0
    assert post(client, writer, [BUDI, SRI]).status_code == 200


def test_a_body_that_is_not_a_batch_is_refused_whole_with_422(client, writer):
    for body in ({"rows": [{**BUDI, "nomor_kk": "3576031203150001"}]},  # not a register column
                 {"rows": [{**BUDI, "nik": 3576031705900012}]},  # a number: JSON clients lose digits
                 {"baris": [BUDI]}, [BUDI]):
        resp = client.post(URL, json=body, headers=writer)
        assert resp.status_code == 422, body
        assert resp.mimetype == "application/problem+json"
        if isinstance(body, dict) and "rows" in body:  # which row, which field
            assert list(resp.json["errors"]["json"]["rows"]) == ["0"]
    assert count(Resident) == 0


def test_every_batch_is_audited_once_with_the_clients_name_and_counts(client, writer):
    post(client, writer, [BUDI, SRI, {**ANAK, "nik": "1"}])
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "register.api_upsert")).all()
    assert len(entries) == 1
    details = entries[0].details
    assert details["api_client"] == "Dukcapil Kota Mojokerto"
    assert {k: details[k] for k in ("total", "new", "changed", "unchanged", "errors", "kk_changes")} == {
        "total": 3, "new": 2, "changed": 0, "unchanged": 0, "errors": 1, "kk_changes": 0}


def test_the_openapi_document_names_the_fields_as_the_import_columns(client):
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    op = spec["paths"]["/api/v1/residents"]["post"]
    assert op["x-scopes"] == ["residents:write"]
    assert {"200", "401", "403", "413", "422"} <= set(op["responses"])
    row = spec["components"]["schemas"]["ResidentRow"]["properties"]
    assert list(row) == ["nik", "no_kk", "nama", "tempat_lahir", "tanggal_lahir", "jenis_kelamin", "alamat",
                         "rt", "rw", "agama", "status_perkawinan", "pekerjaan", "kewarganegaraan"]


def test_a_new_nik_saved_by_another_batch_meanwhile_is_a_409_and_nothing_of_the_batch_stays(client, writer,
                                                                                            monkeypatch):
    post(client, writer, [BUDI])
    # the race: this batch read the register before the other batch's commit, so it takes BUDI for new
    from sempelmas.services.people import register_import

    monkeypatch.setattr(register_import, "load_existing", lambda niks=None: {})
    resp = post(client, writer, [SRI, BUDI])
    assert resp.status_code == 409 and resp.mimetype == "application/problem+json"
    assert count(Resident) == 1  # SRI not half-saved with the failed batch
    monkeypatch.undo()
    assert post(client, writer, [SRI, BUDI]).json["created"] == 1  # sent again: fine
