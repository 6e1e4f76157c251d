"""Population-register upserts from the city's systems (API ``residents:write``): a batch of rows goes through the
register import's own rules (``register_import.check_row`` and ``classify``) and saving (``register_apply.save``,
with its KK history), and every row gets its result.

Contract (written down in the API reference too):

* a row is saved whole or not at all; a wrong row is refused alone, with the import's Indonesian messages and an
  English code per error; the rest of the batch is saved (one transaction per batch);
* idempotent by NIK: a row equal to the register is "unchanged", so the same batch twice changes nothing;
* a NIK twice in one batch: the later row is refused ("NIK sama dengan baris N", N being the earlier row's index);
* at most ``API_UPSERT_MAX_ROWS`` rows (5,000 by default) a batch: more is refused as a whole (413) before any row
  is read;
* one audit entry per batch (``register.api_upsert``, with its counts; the API client's name comes with the
  audit origin), as the import has one per file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from flask import current_app

from sempelmas.extensions import db
from sempelmas.services.accountability import audit
from sempelmas.services.people import register_apply
from sempelmas.services.people import register_import as ri

#: the API's field names (Indonesian, as the import's column headers) → the register's columns; each name is an
#: accepted header spelling of the import (tests/api/test_residents_write.py checks they agree)
FIELDS: dict[str, str] = {
    "nik": "nik",
    "no_kk": "kk_number",
    "nama": "full_name",
    "tempat_lahir": "birth_place",
    "tanggal_lahir": "birth_date",
    "jenis_kelamin": "gender",
    "alamat": "address",
    "rt": "rt",
    "rw": "rw",
    "agama": "religion",
    "status_perkawinan": "marital_status",
    "pekerjaan": "occupation",
    "kewarganegaraan": "citizenship",
}
FIELD_OF = {column: name for name, column in FIELDS.items()}

CREATED, UPDATED, UNCHANGED, ERROR = "created", "updated", "unchanged", "error"


class BatchTooLarge(ValueError):
    """More rows than ``API_UPSERT_MAX_ROWS`` in one batch."""

    def __init__(self, rows: int, limit: int):
        super().__init__(f"{rows} rows > {limit}")
        self.rows = rows
        self.limit = limit


@dataclass
class RowResult:
    index: int
    nik: str | None
    outcome: str  # created / updated / unchanged / error
    errors: list[dict] = field(default_factory=list)  # {"code", "message"}
    warnings: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # the API field names that changed (updated rows)


@dataclass
class BatchResult:
    rows: list[RowResult]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    kk_changes: int = 0

    @property
    def total(self) -> int:
        return len(self.rows)


def max_rows() -> int:
    return current_app.config["API_UPSERT_MAX_ROWS"]


def check_size(count: int) -> None:
    """BatchTooLarge when ``count`` rows are more than one batch may hold."""
    limit = max_rows()
    if count > limit:
        raise BatchTooLarge(count, limit)


def upsert_batch(rows: Sequence[Mapping[str, str | None]]) -> BatchResult:
    """Create or update the register entries of ``rows`` (API field names → text) by NIK, as the register import
    does; returns a result per row, in order. Audited once; flushes, the caller commits."""
    check_size(len(rows))
    today = date.today()
    checked = []
    for index, values in enumerate(rows):
        raw = {FIELDS[name]: value for name, value in values.items() if name in FIELDS}
        if ri.not_utf8(list(raw.values())):  # a lone surrogate ("\ud800") is valid JSON, not storable text
            raw = ri.mark_unreadable(raw)
        checked.append((index, *ri.check_row(raw, today)))
    niks = {row["nik"] for _i, row, errors, _w in checked if not errors}
    analysis = ri.classify(checked, ri.load_existing(niks))
    register_apply.save(analysis, actor_id=None, chunk=current_app.config["IMPORT_CHUNK_SIZE"],
                        history_source="api")
    result = _results(checked, analysis)
    audit.record("register.api_upsert", object_type="residents", total=result.total, new=result.created,
                 changed=result.updated, unchanged=result.unchanged, errors=result.errors,
                 kk_changes=result.kk_changes)
    db.session.flush()
    return result


def _results(checked: list, analysis: ri.Analysis) -> BatchResult:
    """One result per row from ``checked`` (``classify`` added its duplicate errors to the rows' own)."""
    created = {row["nik"] for row in analysis.new}
    changed = {row["nik"]: fields for _id, row, fields in analysis.changed}
    out = BatchResult(rows=[], created=len(analysis.new), updated=len(analysis.changed),
                      unchanged=analysis.unchanged, errors=len(analysis.errors), kk_changes=analysis.kk_changes)
    for index, row, errors, warnings in checked:
        nik = row["nik"]
        if errors:
            out.rows.append(RowResult(index, nik, ERROR, errors=[{"code": c, "message": str(m)} for c, m in errors]))
        elif nik in created:
            out.rows.append(RowResult(index, nik, CREATED, warnings=warnings))
        elif nik in changed:
            out.rows.append(RowResult(index, nik, UPDATED, warnings=warnings,
                                      changed=[FIELD_OF[c] for c in changed[nik]]))
        else:
            out.rows.append(RowResult(index, nik, UNCHANGED, warnings=warnings))
    return out
