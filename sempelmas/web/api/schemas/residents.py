"""Schemas of ``POST /api/v1/residents``: a batch of register rows in, a result per row out.

The row's fields are the register import's columns, named as its column headers (Indonesian): what they hold and
how they are checked is the import's (services/people/register_import.py), so the schema takes text and leaves
the checking to it: a wrong value refuses its row, with the import's message, not the whole batch. Only a body
that is not a batch at all (not an object, ``rows`` not a list, a field that is not a register column, a value
that is not text) is refused as a whole (422)."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import gettext as _

from sempelmas.services.integration import residents as upsert
from sempelmas.web.api.problems import abort_problem


def _text(description: str, example: str | None = None):
    return ma.fields.String(load_default=None, allow_none=True,
                            metadata={"description": description, **({"example": example} if example else {})})


class ResidentRowSchema(ma.Schema):
    """One person of the population register (data penduduk), as one row of the import file."""

    class Meta:
        unknown = ma.RAISE  # a misspelt field would otherwise be dropped without a word

    nik = _text("NIK, 16 digits (wajib). The key: a NIK the register has is updated, a new one created.",
                "3576031705900012")
    no_kk = _text("Nomor KK (family card), 16 digits (wajib). A change is kept in the KK history.",
                  "3576031203150001")
    nama = _text("Nama lengkap (wajib); stored in capitals.", "BUDI SANTOSO")
    tempat_lahir = _text("Tempat lahir.", "MOJOKERTO")
    tanggal_lahir = _text("Tanggal lahir: DD-MM-YYYY (also YYYY-MM-DD, DD/MM/YYYY).", "17-05-1990")
    jenis_kelamin = _text("Jenis kelamin: L or P (also Laki-laki, Perempuan).", "L")
    alamat = _text("Alamat.", "JL. PEMUDA NO. 1")
    rt = _text("RT, 1-3 digits.", "001")
    rw = _text("RW, 1-3 digits.", "001")
    agama = _text("Agama.", "ISLAM")
    status_perkawinan = _text("Status perkawinan.", "KAWIN")
    pekerjaan = _text("Pekerjaan.", "WIRASWASTA")
    kewarganegaraan = _text("Kewarganegaraan.", "WNI")


class RowList(ma.fields.List):
    """A list of ResidentRowSchema rows (so documented), checked in one pass: what ResidentRowSchema would refuse
    (not an object, a field that is not a register column, a value that is neither text nor null) is refused
    with marshmallow's own messages, by row index and field. Loading 5,000 rows through the nested schema, field
    by field, was ~40 % of the API's time for a batch (bench/bench_api_upsert.py); every field is text anyway."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ma.ValidationError(self.error_messages["invalid"])
        names = upsert.FIELDS
        errors: dict = {}
        rows = []
        for index, row in enumerate(value):
            if not isinstance(row, dict):
                errors[index] = {"_schema": ["Invalid input type."]}
                continue
            wrong = {k: ["Unknown field."] for k in row if k not in names}
            wrong.update({k: ["Not a valid string."] for k, v in row.items()
                          if k in names and v is not None and v.__class__ is not str})
            if wrong:
                errors[index] = wrong
            rows.append({name: row.get(name) for name in names})
        if errors:
            raise ma.ValidationError(errors)
        return rows


class UpsertRequestSchema(ma.Schema):
    rows = RowList(ma.fields.Nested(ResidentRowSchema), required=True,
                          metadata={"description": "The rows, at most API_UPSERT_MAX_ROWS (5,000 by default) a "
                                                   "batch; more is refused whole with 413."})

    @ma.pre_load
    def _not_too_many(self, data, **kwargs):
        # before 100,000 rows are loaded one by one only to be refused
        rows = data.get("rows") if isinstance(data, dict) else None
        if isinstance(rows, list):
            try:
                upsert.check_size(len(rows))
            except upsert.BatchTooLarge as e:
                abort_problem(413, _("Batch terlalu besar"),
                              _("Satu batch paling banyak %(n)d baris (dikirim %(m)d): bagi menjadi beberapa "
                                "batch.", n=e.limit, m=e.rows), slug="batch-too-large", max_rows=e.limit)
        return data


class RowErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={
        "description": "What is wrong, stable: nik_missing, nik_not_digits, nik_length, nik_province, nik_month, "
                       "nik_day, nik_serial, kk_* (the same parts of the KK number), name_missing, "
                       "birth_date_invalid, gender_invalid, rt_invalid, rw_invalid, full_name_too_long, "
                       "birth_place_too_long, address_too_long, religion_too_long, marital_status_too_long, "
                       "occupation_too_long, citizenship_too_long (longer than the register holds), "
                       "nik_duplicate (the NIK came earlier in this batch), not_utf8."})
    message = ma.fields.String(required=True, metadata={"description": "The register import's message (Indonesian)."})


class RowResultSchema(ma.Schema):
    index = ma.fields.Integer(required=True, metadata={"description": "The row's position in `rows`, from 0."})
    nik = ma.fields.String(allow_none=True, required=True, metadata={"description": "The NIK as read."})
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(
        [upsert.CREATED, upsert.UPDATED, upsert.UNCHANGED, upsert.ERROR]), metadata={
        "description": "created, updated, unchanged, or error (nothing of the row saved)."})
    errors = ma.fields.List(ma.fields.Nested(RowErrorSchema), required=True)
    warnings = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "Saved, but for staff to check (e.g. the NIK's birth date differs from tanggal_lahir)."})
    changed = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "The fields an updated row changed."})


class UpsertResultSchema(ma.Schema):
    total = ma.fields.Integer(required=True)
    created = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    unchanged = ma.fields.Integer(required=True)
    rejected = ma.fields.Integer(required=True, attribute="errors", metadata={"description": "Rows refused."})
    kk_changes = ma.fields.Integer(required=True, metadata={"description": "Rows whose KK number changed."})
    results = ma.fields.List(ma.fields.Nested(RowResultSchema), required=True, attribute="rows")
