"""Importing the population register from CSV or XLSX: a dry run with per-row errors, then an upsert.

Re-importing the same file changes nothing; a changed KK number is kept in the KK history. The
work is set-based (one read of the existing register, bulk insert/update in chunks) so 20,000
rows finish in seconds with modest memory. The file is read and checked once: ``analyse()`` gives
the dry run, and ``register_apply.apply(..., analysis=...)`` saves what that dry run found.

This module reads and checks a file (the columns, the rows, the dry run); saving it is ``register_apply``, and
running both as background jobs for the admin's upload is ``register_jobs``.

XLSX is read with python-calamine (Rust): openpyxl's read-only reader alone takes 3-8 s for 20,000
rows. calamine gives every number as a float, so a NIK or KK number typed into a number cell is
exact only below 2**53; above that (NIKs of Papua, 91-96...) the row is refused with a hint to
format the column as text.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.dates import parse_date
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.text import clean_text
from sempelmas.extensions import db
from sempelmas.models.residents import Resident

#: register column → accepted header spellings (lower-case, spaces/underscores ignored)
COLUMNS: dict[str, tuple[str, ...]] = {
    "nik": ("nik",),
    "kk_number": ("kk", "nokk", "nomorkk", "kknumber", "nkk"),
    "full_name": ("nama", "namalengkap", "fullname", "name"),
    "birth_place": ("tempatlahir", "birthplace"),
    "birth_date": ("tanggallahir", "tgllahir", "birthdate"),
    "gender": ("jeniskelamin", "jk", "gender", "sex"),
    "address": ("alamat", "address"),
    "rt": ("rt",),
    "rw": ("rw",),
    "religion": ("agama", "religion"),
    "marital_status": ("statusperkawinan", "statuskawin", "perkawinan", "maritalstatus"),
    "occupation": ("pekerjaan", "occupation"),
    "citizenship": ("kewarganegaraan", "wargan", "citizenship"),
}

REQUIRED = ("nik", "kk_number", "full_name")

COMPARED = tuple(c for c in COLUMNS if c != "nik")

GENDERS = {"l": "L", "lk": "L", "laki-laki": "L", "laki laki": "L", "lakilaki": "L", "m": "L",
           "male": "L", "p": "P", "pr": "P", "perempuan": "P", "wanita": "P", "f": "P", "female": "P"}


MAX_LISTED_ERRORS = 500

#: free-text columns → (label, the register's length): longer is an error of the row
_TEXT_LIMITS = {col: (label, Resident.__table__.c[col].type.length) for col, label in (
    ("full_name", "Nama"), ("birth_place", "Tempat lahir"), ("address", "Alamat"), ("religion", "Agama"),
    ("marital_status", "Status perkawinan"), ("occupation", "Pekerjaan"), ("citizenship", "Kewarganegaraan"))}

#: integers above this are not exact as a float (all calamine numbers are floats)
EXACT_FLOAT_LIMIT = 2**53


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong type, no header, missing columns)."""


@dataclass
class RowProblem:
    line: int
    nik: str
    messages: list[str]
    #: one per message: what is wrong, as a stable English code (``check_row``)
    codes: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    total: int = 0
    new: list[dict] = field(default_factory=list)
    changed: list[tuple[int, dict, list[str]]] = field(default_factory=list)  # (id, row, fields)
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    kk_changes: int = 0
    applied: bool = False  # set by register_apply.apply(): an analysis is saved once

    def summary(self) -> dict:
        return {
            "total": self.total,
            "new": len(self.new),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "kk_changes": self.kk_changes,
            "error_rows": [vars(p) for p in self.errors[:MAX_LISTED_ERRORS]],
            "warning_rows": [vars(p) for p in self.warnings[:MAX_LISTED_ERRORS]],
            "changed_rows": [
                {"nik": row["nik"], "name": row["full_name"], "fields": fields}
                for _id, row, fields in self.changed[:MAX_LISTED_ERRORS]
            ],
        }


def _key(header: object) -> str:
    return re.sub(r"[\s_.\-/]", "", str(header or "")).lower()


def _map_header(header: list) -> dict[str, int]:
    lookup = {alias: col for col, aliases in COLUMNS.items() for alias in aliases}
    mapping: dict[str, int] = {}
    for idx, name in enumerate(header):
        col = lookup.get(_key(name))
        if col and col not in mapping:
            mapping[col] = idx
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise ImportFileError(
            _("Kolom wajib tidak ditemukan di baris judul: %(cols)s.", cols=", ".join(missing))
        )
    return mapping


#: marks a row read with bytes that are not UTF-8 (services/register_import.read_rows)
UNREADABLE = "_unreadable"


def _iter_csv(path: Path) -> Iterator[list]:
    # surrogateescape: a byte that is not UTF-8 (a name typed with an accent in another encoding) reaches
    # the row as a lone surrogate instead of stopping the whole file without a line number; read_rows makes
    # that row an error that names its line (the first 64 KB were checked by the caller)
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        head = fh.readline()
        delimiter = ";" if head.count(";") > head.count(",") else ","
        fh.seek(0)
        if fh.read(1) != "\ufeff":
            fh.seek(0)
        yield from csv.reader(fh, delimiter=delimiter)


def _iter_xlsx(path: Path) -> Iterator[list]:
    """Rows of the first sheet from row 1 (calamine pads the empty rows above the data, so the
    line numbers are the sheet's); empty cells are "", numbers floats, dates date/datetime."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheet = wb.get_sheet_by_index(0)
    except CalamineError as e:
        raise ImportFileError(_("Berkas harus CSV (UTF-8) atau XLSX.")) from e
    try:
        if sheet.start is None:  # an empty sheet (older calamine versions panic on iter_rows)
            return
        yield from sheet.iter_rows()
    finally:
        wb.close()


#: an XLSX holds a few parts; more than this is not a register
_MAX_ZIP_ENTRIES = 1000

#: the parts calamine inflates to read the first sheet
_READ_PARTS = ("xl/worksheets/", "xl/sharedStrings.xml", "xl/workbook.xml")


def check_archive(source: bytes | str | Path) -> None:
    """An XLSX is a zip: refused before calamine inflates it when it would inflate past IMPORT_XLSX_MAX_MB
    (a few hundred KB can inflate to gigabytes). The sizes the zip declares are summed, then the parts
    calamine reads are inflated once, chunk by chunk and thrown away: Python's reader stops at the declared
    size and checks the CRC, so a zip that lies about its sizes is refused as broken. A 20,000-row register
    inflates to ~15 MB (~0.1 s to check)."""
    cap_mb = current_app.config["IMPORT_XLSX_MAX_MB"]
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > cap_mb * 1024 * 1024:
                raise ImportFileError(_("Isi berkas XLSX ini terlalu besar setelah dibuka (lebih dari %(mb)d MB): "
                                        "simpan ulang sebagai CSV, atau bagi menjadi beberapa berkas.", mb=cap_mb))
            for info in infos:
                if info.filename.startswith(_READ_PARTS):
                    with zf.open(info) as part:
                        while part.read(1024 * 1024):
                            pass
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as e:
        raise ImportFileError(_("Berkas harus CSV (UTF-8) atau XLSX.")) from e


def read_rows(path: str | Path) -> Iterator[tuple[int, dict]]:
    """Yield (line number, raw values by register column); raises ImportFileError for the file, also when
    it holds more than IMPORT_MAX_ROWS rows (the analysis keeps every row: memory grows with them)."""
    path = Path(path)
    with path.open("rb") as fh:
        magic = fh.read(4)
    max_rows = current_app.config["IMPORT_MAX_ROWS"]
    if magic == b"PK\x03\x04":
        check_archive(path)
        rows = _iter_xlsx(path)
    else:
        try:
            with path.open("rb") as fh:
                _check_utf8(fh.read(65536))
        except UnicodeDecodeError as e:
            raise ImportFileError(_("Berkas harus CSV (UTF-8) atau XLSX.")) from e
        rows = _iter_csv(path)
    header = None
    count = 0
    for line, values in enumerate(rows, start=1):
        if header is None:
            if not any(v not in (None, "") for v in values):
                continue
            header = _map_header(values)
            continue
        if not any(v not in (None, "") for v in values):
            continue
        count += 1
        if count > max_rows:
            raise ImportFileError(_("Berkas memuat lebih dari %(n)s baris data: bagi menjadi beberapa berkas.",
                                    n=f"{max_rows:,}".replace(",", ".")))
        row = {col: (values[i] if i < len(values) else None) for col, i in header.items()}
        if not_utf8(values):
            row = mark_unreadable(row)
        yield line, row
    if header is None:
        raise ImportFileError(_("Berkas kosong: tidak ada baris judul."))


def not_utf8(values: list) -> bool:
    """A CSV row holding bytes that were not UTF-8 (decoded as lone surrogates, see ``_iter_csv``)."""
    for v in values:
        if v.__class__ is str and not v.isascii():
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def mark_unreadable(row: dict) -> dict:
    """The row with its text made storable, flagged so that ``check_row`` refuses it (``not_utf8``)."""
    return {**{col: _replace_bad_bytes(v) for col, v in row.items()}, UNREADABLE: True}


def _replace_bad_bytes(value):
    return value.encode("utf-8", "replace").decode("utf-8") if value.__class__ is str else value


def _text(value) -> str | None:
    if value is None:
        return None
    if value.__class__ is not str:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = str(value)
    return clean_text(value).strip() or None  # register text is printed on letters: no control characters


def _inexact_number(value) -> bool:
    """A whole number too large to be exact as a float: its last digits may have been changed."""
    return isinstance(value, float) and not -EXACT_FLOAT_LIMIT < value < EXACT_FLOAT_LIMIT


def _number_too_long(label: str) -> str:
    return _("%(col)s tersimpan sebagai angka dan terlalu panjang untuk dibaca tepat: format kolom "
             "%(col)s sebagai Teks di Excel, lalu isi ulang.", col=label)


def _parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(str(value))


def clean_row(raw: dict, today: date | None = None) -> tuple[dict, list[str], list[str]]:
    """Normalise one row; returns (values, errors, warnings). Errors make the row skipped.

    ``today`` (for the NIK's century) can be given once for a whole file."""
    row, errors, warnings = check_row(raw, today)
    return row, [message for _code, message in errors], warnings


def check_row(raw: dict, today: date | None = None) -> tuple[dict, list[tuple[str, str]], list[str]]:
    """``clean_row`` with each error as (code, message): the code (English, stable: "nik_length",
    "birth_date_invalid"...) is for machines (the API's per-row results), the message for people."""
    errors: list[tuple[str, str]] = []
    warnings: list[str] = []
    row: dict = {c: _text(raw.get(c)) for c in COLUMNS if c != "birth_date"}
    if raw.get(UNREADABLE):
        row["nik"] = row["nik"] if row["nik"] and row["nik"].isdigit() else None
        row["birth_date"] = None
        return row, [("not_utf8", _("Baris ini memuat huruf yang bukan UTF-8 (misalnya huruf beraksen dari "
                                    "Excel): simpan berkas sebagai \"CSV UTF-8\", lalu impor ulang."))], []
    info = None
    if _inexact_number(raw.get("nik")):
        errors.append(("nik_number_cell", _number_too_long("NIK")))
        row["nik"] = None  # its last digits are not the typed ones: do not show them
    else:
        try:
            info = nik_rules.parse(row["nik"], today)
            row["nik"] = info.nik
        except nik_rules.NikError as e:
            errors.append((_part_code("nik", row["nik"], e), e.message))
    if _inexact_number(raw.get("kk_number")):
        errors.append(("kk_number_cell", _number_too_long("Nomor KK")))
    else:
        try:
            row["kk_number"] = nik_rules.check_kk(row["kk_number"])
        except nik_rules.NikError as e:
            errors.append((_part_code("kk", row["kk_number"], e), e.message))
    if not row["full_name"]:
        errors.append(("name_missing", _("Nama wajib diisi.")))
    else:
        row["full_name"] = " ".join(row["full_name"].split()).upper()
    row["birth_date"] = None
    raw_date = raw.get("birth_date")
    if raw_date not in (None, ""):
        try:
            row["birth_date"] = _parse_date(raw_date)
        except ValueError:
            shown = raw_date if isinstance(raw_date, str) else _text(raw_date)
            errors.append(("birth_date_invalid",
                           _("Tanggal lahir \"%(v)s\" tidak dikenali (pakai DD-MM-YYYY).", v=shown)))
    if row["gender"]:
        g = GENDERS.get(row["gender"].lower())
        if g is None:
            errors.append(("gender_invalid",
                           _("Jenis kelamin \"%(v)s\" tidak dikenali (L/P).", v=row["gender"])))
        row["gender"] = g
    for part in ("rt", "rw"):
        if row[part]:
            number = digit_rules.rt_rw(row[part])
            if number is None:
                errors.append((f"{part}_invalid",
                               _("%(p)s \"%(v)s\" harus angka 1–3 digit.", p=part.upper(), v=row[part])))
            else:
                row[part] = number
    if row["citizenship"]:
        row["citizenship"] = row["citizenship"].upper()
    for col, (label, limit) in _TEXT_LIMITS.items():
        if row[col] is not None and len(row[col]) > limit:  # PostgreSQL would refuse the whole import
            errors.append((f"{col}_too_long",
                           _("%(col)s terlalu panjang: paling banyak %(n)d huruf.", col=label, n=limit)))
    if info is not None and not errors:
        warnings = nik_rules.compare_with_declared(info, row["gender"], row["birth_date"])
        # Excel keeps 15 significant digits: a 16-digit number typed into a number cell has lost its last
        for col, label in (("nik", "NIK"), ("kk_number", "Nomor KK")):
            if isinstance(raw.get(col), float):
                warnings.append(_("%(col)s dibaca dari sel angka: Excel hanya menyimpan 15 digit, periksa "
                                  "digit terakhirnya dengan KK asli (format kolom sebagai Teks).", col=label))
    return row, errors, warnings


def _part_code(prefix: str, value: str | None, error: nik_rules.NikError) -> str:
    """"nik_missing", "nik_length", "nik_province", "nik_month", "nik_day", "nik_serial" (and "kk_..."): which
    part of the number is wrong, as the message says."""
    if not nik_rules.clean_digits(value):
        return f"{prefix}_missing"
    if error.part == "length" and not digit_rules.is_ascii_digits(nik_rules.clean_digits(value)):
        return f"{prefix}_not_digits"
    return f"{prefix}_{error.part}"


def analyse(path: str | Path, report: Callable[[int], None] | None = None) -> Analysis:
    """Dry run: classify every row as new, changed, unchanged or wrong, against the register."""
    existing = load_existing()
    today = date.today()
    return classify(((line, *check_row(raw, today)) for line, raw in read_rows(path)), existing, report)


def load_existing(niks: Collection[str] | None = None) -> dict[str, tuple[int, list]]:
    """NIK → (resident id, the COMPARED values): the whole register (a file), or only ``niks`` (an API batch)."""
    existing: dict[str, tuple[int, list]] = {}
    query = select(Resident.id, Resident.nik, *[getattr(Resident, c) for c in COMPARED])
    if niks is None:
        chunks = [query]
    else:
        wanted = sorted(niks)
        chunks = [query.where(Resident.nik.in_(wanted[i:i + 1000])) for i in range(0, len(wanted), 1000)]
    for chunk in chunks:
        for rid, nik, *values in db.session.execute(chunk):
            existing[nik] = (rid, values)
    return existing


def classify(checked: Iterable[tuple[int, dict, list[tuple[str, str]], list[str]]],
             existing: dict[str, tuple[int, list]], report: Callable[[int], None] | None = None) -> Analysis:
    """Sort rows checked by ``check_row`` (line, values, errors, warnings) into new, changed, unchanged or wrong
    against ``existing`` (``load_existing``); a NIK seen on an earlier line makes the later row wrong."""
    result = Analysis()
    seen: dict[str, int] = {}
    for line, row, errors, warnings in checked:
        result.total += 1
        nik = row["nik"] or ""
        if not errors and nik in seen:
            errors.append(("nik_duplicate", _("NIK sama dengan baris %(line)d.", line=seen[nik])))
        if errors:
            result.errors.append(RowProblem(line, nik, [m for _c, m in errors], [c for c, _m in errors]))
        else:
            seen[nik] = line
            if warnings:
                result.warnings.append(RowProblem(line, nik, warnings))
            current = existing.get(nik)
            if current is None:
                result.new.append(row)
            else:
                rid, values = current
                changed = [c for c, old in zip(COMPARED, values, strict=True) if row[c] != old]
                if changed:
                    result.changed.append((rid, row, changed))
                    if "kk_number" in changed:
                        result.kk_changes += 1
                else:
                    result.unchanged += 1
        if report and result.total % 1000 == 0:
            report(result.total)
    return result


def _check_utf8(head: bytes) -> None:
    """Raise UnicodeDecodeError unless ``head`` starts a UTF-8 text (a cut last character is fine)."""
    codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)


def sniff_upload(data: bytes) -> str:
    """Refuse anything that is neither XLSX (zip) nor UTF-8 text; returns the extension to store."""
    if data[:4] == b"PK\x03\x04":
        check_archive(data)
        return ".xlsx"
    try:
        _check_utf8(data[:65536])
    except UnicodeDecodeError as e:
        raise ImportFileError(_("Berkas harus CSV (UTF-8) atau XLSX.")) from e
    return ".csv"
