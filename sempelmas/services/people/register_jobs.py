"""The register import as background jobs: an admin uploads a file (``start_preview``), the worker analyses it
(the preview job), the admin confirms (``start_apply``) and the worker saves it (the apply job). The file is
personal data: kept only while a job needs it, and deleted once applied, failed or expired
(``expire_files``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.base import utcnow
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import IMPORTS, delete_after_commit, store_file
from sempelmas.services.operations import jobs
from sempelmas.services.people import register_apply, register_import
from sempelmas.services.people.register_import import ImportFileError, sniff_upload


def file_of(job: Job) -> Path:
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
        analysis = register_import.analyse(file_of(job), report=lambda n: report(n))
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
        summary = register_apply.apply(file_of(job), actor_id=job.created_by_id, report=report,
                        filename=job.payload.get("filename"), chunk=current_app.config["IMPORT_CHUNK_SIZE"])
    except ImportFileError as e:
        raise jobs.JobFailed(str(e)) from e
    if job.import_file:
        jobs.release_file(job.import_file, reason="applied", job_id=job.id)
    return summary


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
