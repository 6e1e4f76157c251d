"""services/integration/residents.py: the API's register upsert goes through the import's rules and KK history."""

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.residents import KKHistory, Resident
from sempelmas.services.integration import residents as upsert
from sempelmas.services.people import register_import as ri

BUDI = {"nik": "3576031705900012", "no_kk": "3576031203150001", "nama": "Budi Santoso", "tempat_lahir": "Mojokerto",
        "tanggal_lahir": "17-05-1990", "jenis_kelamin": "L", "alamat": "Jl. Pemuda 1", "rt": "1", "rw": "1",
        "agama": "Islam", "status_perkawinan": "Kawin", "pekerjaan": "Wiraswasta", "kewarganegaraan": "wni"}
SRI = {**BUDI, "nik": "3576035708920013", "nama": "Sri Wahyuni", "tanggal_lahir": "1992-08-17",
       "jenis_kelamin": "P"}
ANAK = {"nik": "3576030203150014", "no_kk": "3576031203150001", "nama": "Anak Santoso"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def outcomes(result) -> list[str]:
    return [r.outcome for r in result.rows]


def test_api_field_names_are_the_import_column_headers():
    # the API names are header spellings the import accepts, for the same register columns
    lookup = {alias: col for col, aliases in ri.COLUMNS.items() for alias in aliases}
    assert {name: lookup[ri._key(name)] for name in upsert.FIELDS} == upsert.FIELDS
    assert set(upsert.FIELDS.values()) == set(ri.COLUMNS)


def test_rows_are_saved_as_the_import_saves_them_and_the_same_batch_twice_changes_nothing(app):
    first = upsert.upsert_batch([BUDI, SRI, ANAK])
    db.session.commit()
    assert outcomes(first) == ["created"] * 3
    assert (first.created, first.updated, first.unchanged, first.errors) == (3, 0, 0, 0)
    budi = db.session.scalar(select(Resident).where(Resident.nik == BUDI["nik"]))
    assert (budi.full_name, budi.rt, budi.rw, budi.citizenship, budi.source) == ("BUDI SANTOSO", "001", "001",
                                                                                 "WNI", "impor")
    again = upsert.upsert_batch([BUDI, SRI, ANAK])
    db.session.commit()
    assert outcomes(again) == ["unchanged"] * 3
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert count(Resident) == 3 and count(KKHistory) == 0


def test_a_changed_kk_number_goes_to_the_kk_history_as_the_import_records_it(app):
    upsert.upsert_batch([BUDI, SRI])
    db.session.commit()
    result = upsert.upsert_batch([{**SRI, "no_kk": "3576031203150002"}, {**BUDI, "status_perkawinan": "Cerai"}])
    db.session.commit()
    assert outcomes(result) == ["updated", "updated"]
    assert result.rows[0].changed == ["no_kk"] and result.rows[1].changed == ["status_perkawinan"]
    assert result.kk_changes == 1
    sri = db.session.scalar(select(Resident).where(Resident.nik == SRI["nik"]))
    hist = db.session.scalars(select(KKHistory)).all()
    assert [(h.resident_id, h.old_kk_number, h.new_kk_number, h.source) for h in hist] == [
        (sri.id, "3576031203150001", "3576031203150002", "api")]


def test_a_wrong_row_is_refused_alone_with_the_import_message_and_a_code(app):
    rows = [
        BUDI,
        {**SRI, "nik": "3576031713900015"},  # month 13
        {**ANAK, "nik": "357603020315001"},  # 15 digits
        {**ANAK, "nik": "9976030203150014"},  # province
        {**ANAK, "tanggal_lahir": "31-31-2015", "jenis_kelamin": "X", "rt": "1a"},
        {**ANAK, "nama": ""},
        {**ANAK, "nama": "A" * 121},
        BUDI,  # the same NIK again
        {**ANAK, "nama": "JOS\ud800"},  # a lone surrogate: valid JSON, not storable text
    ]
    result = upsert.upsert_batch(rows)
    db.session.commit()
    assert outcomes(result) == ["created"] + ["error"] * 8
    codes = [[e["code"] for e in r.errors] for r in result.rows[1:]]
    assert codes == [["nik_month"], ["nik_length"], ["nik_province"],
                     ["birth_date_invalid", "gender_invalid", "rt_invalid"], ["name_missing"],
                     ["full_name_too_long"], ["nik_duplicate"], ["not_utf8"]]
    messages = [r.errors[0]["message"] for r in result.rows[1:]]
    assert messages[0] == "Bulan lahir pada NIK (digit 9–10) harus 01–12, bukan 13."
    assert messages[1] == "NIK harus 16 digit (yang diisi 15 digit)."
    assert messages[2] == "Kode provinsi 99 pada 2 digit pertama NIK tidak dikenal."
    assert messages[4] == "Nama wajib diisi."
    assert messages[6] == "NIK sama dengan baris 0."
    assert result.rows[2].nik == "357603020315001"  # the NIK as sent, to find the row
    assert count(Resident) == 1  # nothing of a wrong row is saved
    assert (result.created, result.errors) == (1, 8)


def test_one_audit_entry_per_batch_with_its_counts(app):
    upsert.upsert_batch([BUDI, {**SRI, "nik": "1"}])
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "register.api_upsert")).one()
    assert {k: entry.details[k] for k in ("total", "new", "changed", "unchanged", "errors", "kk_changes")} == {
        "total": 2, "new": 1, "changed": 0, "unchanged": 0, "errors": 1, "kk_changes": 0}
    assert "3576031705900012" not in str(entry.details)  # counts, not personal data


def test_a_batch_larger_than_the_limit_is_refused_before_any_row_is_read(app):
    app.config["API_UPSERT_MAX_ROWS"] = 2
    with pytest.raises(upsert.BatchTooLarge) as e:
        upsert.upsert_batch([BUDI, SRI, ANAK])
    assert (e.value.rows, e.value.limit) == (3, 2)
    assert count(Resident) == 0 and count(AuditEntry) == 0
