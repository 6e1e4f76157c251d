"""Importing the population register from CSV or XLSX: a dry run with per-row errors, then an upsert.

Re-importing the same file changes nothing; a changed KK number is kept in the KK history. The
work is set-based (one read of the existing register, bulk insert/update in chunks) so 20,000
rows finish in seconds with modest memory. The file is read and checked once: ``analyse()`` gives
the dry run, and ``apply(..., analysis=...)`` saves what that dry run found.

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
import secrets
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import insert, select, update

from sempelmas.domain import digits as digit_rules
from sempelmas.domain import nik as nik_rules
from sempelmas.domain.dates import parse_date
from sempelmas.domain.i18n import lazy as _
from sempelmas.domain.text import clean_text
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.residents import KKHistory, Resident
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import IMPORTS, delete_after_commit, store_file
from sempelmas.services.operations import jobs

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
#: integers above this are not exact as a float (all calamine numbers are floats)
EXACT_FLOAT_LIMIT = 2**53
#: the usual shapes of a typed date: DD-MM-YYYY, DD/MM/YYYY, DD.MM.YYYY (one separator) or YYYY-MM-DD


class ImportFileError(ValueError):
    """The file as a whole cannot be read (wrong type, no header, missing columns)."""


@dataclass
class RowProblem:
    line: int
    nik: str
    messages: list[str]


@dataclass
class Analysis:
    total: int = 0
    new: list[dict] = field(default_factory=list)
    changed: list[tuple[int, dict, list[str]]] = field(default_factory=list)  # (id, row, fields)
    unchanged: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    kk_changes: int = 0
    applied: bool = False  # set by apply(): an analysis is saved once

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
            row = {col: _replace_bad_bytes(v) for col, v in row.items()}
            row[UNREADABLE] = True
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
    errors: list[str] = []
    warnings: list[str] = []
    row: dict = {c: _text(raw.get(c)) for c in COLUMNS if c != "birth_date"}
    if raw.get(UNREADABLE):
        row["nik"] = row["nik"] if row["nik"] and row["nik"].isdigit() else None
        row["birth_date"] = None
        return row, [_("Baris ini memuat huruf yang bukan UTF-8 (misalnya huruf beraksen dari Excel): simpan "
                       "berkas sebagai \"CSV UTF-8\", lalu impor ulang.")], []
    info = None
    if _inexact_number(raw.get("nik")):
        errors.append(_number_too_long("NIK"))
        row["nik"] = None  # its last digits are not the typed ones: do not show them
    else:
        try:
            info = nik_rules.parse(row["nik"], today)
            row["nik"] = info.nik
        except nik_rules.NikError as e:
            errors.append(e.message)
    if _inexact_number(raw.get("kk_number")):
        errors.append(_number_too_long("Nomor KK"))
    else:
        try:
            row["kk_number"] = nik_rules.check_kk(row["kk_number"])
        except nik_rules.NikError as e:
            errors.append(e.message)
    if not row["full_name"]:
        errors.append(_("Nama wajib diisi."))
    else:
        row["full_name"] = " ".join(row["full_name"].split()).upper()
    row["birth_date"] = None
    raw_date = raw.get("birth_date")
    if raw_date not in (None, ""):
        try:
            row["birth_date"] = _parse_date(raw_date)
        except ValueError:
            shown = raw_date if isinstance(raw_date, str) else _text(raw_date)
            errors.append(_("Tanggal lahir \"%(v)s\" tidak dikenali (pakai DD-MM-YYYY).", v=shown))
    if row["gender"]:
        g = GENDERS.get(row["gender"].lower())
        if g is None:
            errors.append(_("Jenis kelamin \"%(v)s\" tidak dikenali (L/P).", v=row["gender"]))
        row["gender"] = g
    for part in ("rt", "rw"):
        if row[part]:
            number = digit_rules.rt_rw(row[part])
            if number is None:
                errors.append(_("%(p)s \"%(v)s\" harus angka 1–3 digit.", p=part.upper(), v=row[part]))
            else:
                row[part] = number
    if row["citizenship"]:
        row["citizenship"] = row["citizenship"].upper()
    if info is not None and not errors:
        warnings = nik_rules.compare_with_declared(info, row["gender"], row["birth_date"])
        # Excel keeps 15 significant digits: a 16-digit number typed into a number cell has lost its last
        for col, label in (("nik", "NIK"), ("kk_number", "Nomor KK")):
            if isinstance(raw.get(col), float):
                warnings.append(_("%(col)s dibaca dari sel angka: Excel hanya menyimpan 15 digit, periksa "
                                  "digit terakhirnya dengan KK asli (format kolom sebagai Teks).", col=label))
    return row, errors, warnings


def analyse(path: str | Path, report: Callable[[int], None] | None = None) -> Analysis:
    """Dry run: classify every row as new, changed, unchanged or wrong, against the register."""
    existing: dict[str, tuple] = {}
    cols = [getattr(Resident, c) for c in COMPARED]
    for rid, nik, *values in db.session.execute(select(Resident.id, Resident.nik, *cols)):
        existing[nik] = (rid, values)
    result = Analysis()
    seen: dict[str, int] = {}
    today = date.today()
    for line, raw in read_rows(path):
        result.total += 1
        row, errors, warnings = clean_row(raw, today)
        nik = row["nik"] or ""
        if not errors and nik in seen:
            errors.append(_("NIK sama dengan baris %(line)d.", line=seen[nik]))
        if errors:
            result.errors.append(RowProblem(line, nik, errors))
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


def apply(path: str | Path, *, actor_id: int | None, chunk: int = 2000,
          report: Callable[[int, int], None] | None = None, filename: str | None = None,
          analysis: Analysis | None = None) -> dict:
    """Upsert the valid rows (skip the wrong ones); KK changes go to the history. Idempotent. Flushes: the
    caller commits once (``report`` only tells how far it got, it never commits).

    ``analysis``: what ``analyse(path)`` found earlier in the same transaction (the CLI shows it
    first), so that the file is not read and checked a second time; analysed here when omitted.
    """
    if analysis is None:
        analysis = analyse(path)
    elif analysis.applied:
        raise ValueError("this analysis has already been applied")
    analysis.applied = True
    now = utcnow()
    work = len(analysis.new) + len(analysis.changed)
    done = 0
    for start in range(0, len(analysis.new), chunk):
        batch = analysis.new[start:start + chunk]
        db.session.execute(
            insert(Resident), [{**r, "source": "impor", "created_at": now, "updated_at": now} for r in batch]
        )
        done += len(batch)
        if report:
            report(done, work)
    kk_old = {}
    if analysis.kk_changes:
        ids = [rid for rid, _r, f in analysis.changed if "kk_number" in f]
        for i in range(0, len(ids), 500):
            kk_old.update(dict(db.session.execute(
                select(Resident.id, Resident.kk_number).where(Resident.id.in_(ids[i:i + 500]))
            ).all()))
    for start in range(0, len(analysis.changed), chunk):
        batch = analysis.changed[start:start + chunk]
        db.session.execute(
            update(Resident),
            [{"id": rid, **{c: row[c] for c in COMPARED}, "source": "impor", "updated_at": now}
             for rid, row, _f in batch],
        )
        history = [
            {"resident_id": rid, "old_kk_number": kk_old[rid], "new_kk_number": row["kk_number"],
             "changed_at": now, "changed_by_id": actor_id, "source": "impor"}
            for rid, row, fields in batch if "kk_number" in fields
        ]
        if history:
            db.session.execute(insert(KKHistory), history)
        done += len(batch)
        if report:
            report(done, work)
    summary = analysis.summary()
    audit.record(
        "register.import", actor=actor_id, object_type="residents",
        file=filename or Path(path).name,
        **{k: summary[k] for k in ("total", "new", "changed", "unchanged", "errors", "kk_changes")},
    )
    db.session.flush()
    return summary


def _file_of(job: Job) -> Path:
    """The register file a job reads: its upload (``import_file``), or a file of the caller's own (payload
    "path": a job queued by code, not through the admin page). JobFailed, saying what to do, when it is gone."""
    path = stored_file(job) if job.import_file else Path((job.payload or {}).get("path") or "")
    if path is None or not path.is_file():
        raise jobs.JobFailed(str(file_gone_message()))
    return path


def stored_file(job: Job) -> Path | None:
    """The job's uploaded register file while it is kept (None once it was let go, or is missing)."""
    if not job.import_file:
        return None
    path = Path(current_app.config["UPLOAD_DIR"]) / IMPORTS / Path(job.import_file).name
    return path if path.is_file() else None


def file_gone_message() -> str:
    """What the admin reads when a preview's file is no longer kept: why, and to upload it again."""
    return _("Berkas impor ini sudah dihapus dari server: berkas data penduduk disimpan hanya selama diperlukan "
             "(dihapus setelah diterapkan, bila gagal, atau bila pratinjaunya tidak diterapkan dalam %(days)d hari). "
             "Unggah berkasnya lagi di Impor data penduduk.", days=current_app.config["IMPORT_PREVIEW_DAYS"])


@jobs.handler("register_preview")
def _preview_job(job, report) -> dict:
    try:
        analysis = analyse(_file_of(job), report=lambda n: report(n))
    except ImportFileError as e:
        raise jobs.JobFailed(str(e)) from e
    summary = analysis.summary()
    if job.import_file and not (summary["new"] or summary["changed"]):
        # nothing to apply: the register already matches the file, which is not kept for nothing
        jobs.release_file(job.import_file, reason="nothing_to_apply", job_id=job.id)
    return summary


@jobs.handler("register_apply")
def _apply_job(job, report) -> dict:
    """One transaction, as the CLI's: the worker commits it together with the job's "selesai", so an import
    killed or failing half-way saves no row (and is run again from the start). The file is deleted after that
    commit: an applied register file is done with."""
    # one read of the file: apply() analyses it itself (the preview job's result is only a summary)
    try:
        summary = apply(_file_of(job), actor_id=job.created_by_id, report=report,
                        filename=job.payload.get("filename"), chunk=current_app.config["IMPORT_CHUNK_SIZE"])
    except ImportFileError as e:
        raise jobs.JobFailed(str(e)) from e
    if job.import_file:
        jobs.release_file(job.import_file, reason="applied", job_id=job.id)
    return summary


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


JOB_KINDS = ("register_preview", "register_apply")


def start_preview(data: bytes, filename: str, *, actor) -> Job:
    """Store an uploaded register file (CSV or XLSX, checked by content) and queue its dry run.

    The file is stored through ``uploads.store_file``: kept only if the caller's transaction commits (with the
    job that names it), so a failed commit leaves nothing behind. It lives as long as an import needs it: deleted
    once applied, when a job of it fails for good or its preview finds nothing to apply, and by the retention
    run when its preview is not applied within IMPORT_PREVIEW_DAYS (``expire_files``)."""
    ext = sniff_upload(data)
    name = f"{secrets.token_hex(12)}{ext}"
    store_file(IMPORTS, name, data)
    job = jobs.enqueue("register_preview", {"filename": filename}, created_by=actor, import_file=name)
    audit.record("register.import_upload", job, actor=actor, file=filename)
    return job


def apply_of(preview: Job) -> Job | None:
    """The latest apply queued from this preview (few imports a year: filtered here, not in JSON SQL)."""
    for job in db.session.scalars(select(Job).where(Job.kind == "register_apply", Job.id > preview.id)
                                  .order_by(Job.id.desc())):
        if (job.payload or {}).get("preview_job") == preview.id:
            return job
    return None


def start_apply(preview: Job, *, actor) -> Job:
    """Queue the upsert of a previewed file; only a preview that finished without failing, whose file is still
    kept. Asked again while its apply waits, runs or has finished, it returns that apply (one per preview)."""
    if preview.kind != "register_preview" or not preview.finished or preview.error:
        raise ImportFileError(_("Pratinjau belum selesai."))
    earlier = apply_of(preview)
    if earlier is not None and earlier.status != JobStatus.FAILED:
        return earlier
    if stored_file(preview) is None:
        raise ImportFileError(file_gone_message())
    return jobs.enqueue("register_apply", {**preview.payload, "preview_job": preview.id}, created_by=actor,
                        import_file=preview.import_file)


def file_expires_at(preview: Job) -> datetime | None:
    """When the retention run may delete a preview's file if it is not applied (None: not kept anyway)."""
    if not preview.import_file or preview.created_at is None:
        return None
    return preview.created_at + timedelta(days=current_app.config["IMPORT_PREVIEW_DAYS"])


@dataclass
class ExpiredImports:
    """What ``expire_files`` deleted (or would delete): counts only, the files are personal data."""

    days: int
    cutoff: datetime
    files: int = 0
    bytes: int = 0
    missing: int = 0


def expire_files(*, now: datetime | None = None, dry_run: bool = False) -> ExpiredImports:
    """Delete the register files whose import is not waiting or running and that were uploaded more than
    IMPORT_PREVIEW_DAYS ago (a preview never applied); commits, and only then deletes the files.

    Run by the retention run (services/operations/retention.py). Audited as ``register.import_files_deleted`` (reason
    "expired", the count and size, no names), committed together with the jobs letting go of the files; a kill
    before the deletion leaves files no job names, which the upload sweep deletes. A dry run changes nothing."""
    days = current_app.config["IMPORT_PREVIEW_DAYS"]
    now = now or utcnow()
    result = ExpiredImports(days=days, cutoff=now - timedelta(days=days))
    uploaded: dict[str, datetime] = {}
    busy: set[str] = set()
    for name, status, created_at in db.session.execute(
            select(Job.import_file, Job.status, Job.created_at).where(Job.import_file.is_not(None))):
        uploaded[name] = min(uploaded.get(name, created_at), created_at)
        if status in (JobStatus.QUEUED, JobStatus.RUNNING):
            busy.add(name)
    due = sorted(name for name, at in uploaded.items() if name not in busy and at < result.cutoff)
    folder = Path(current_app.config["UPLOAD_DIR"]) / IMPORTS
    for name in due:
        try:
            result.bytes += (folder / Path(name).name).stat().st_size
            result.files += 1
        except OSError:
            result.missing += 1
    if dry_run or not due:
        db.session.rollback()
        return result
    for start in range(0, len(due), 500):
        db.session.execute(update(Job).where(Job.import_file.in_(due[start:start + 500])).values(import_file=None))
    for name in due:
        delete_after_commit(IMPORTS, name)
    audit.record("register.import_files_deleted", None, object_type="jobs", reason="expired", files=result.files,
                 bytes=result.bytes, already_missing=result.missing, days=days,
                 cutoff=result.cutoff.isoformat(timespec="seconds"))
    db.session.commit()
    return result


def recent_jobs(limit: int = 10) -> list[Job]:
    return list(db.session.scalars(
        select(Job).where(Job.kind.in_(JOB_KINDS)).order_by(Job.id.desc()).limit(limit)))
