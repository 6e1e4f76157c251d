"""Register files uploaded for an import (the kelurahan's population data: NIKs, KKs, names) live only as long as
the import needs them: stored with the commit of their preview, deleted once applied, when a job of them fails
for good, when their preview changes nothing, and by the retention run when a preview is left unapplied past
IMPORT_PREVIEW_DAYS; audited with counts only; backups carry only the files of imports still waiting."""

from __future__ import annotations

import json
import os
import tarfile
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.residents import Resident
from sempelmas.services.files import upload_store, uploads
from sempelmas.services.files.uploads import IMPORTS
from sempelmas.services.operations import backup_create, jobs, retention
from sempelmas.services.people import register_import as ri
from sempelmas.services.people import register_jobs
from tests.failing_commit import fail_commit_saving, files_in
from tests.services.test_register_import import ROWS, write_csv

DAY = 24 * 3600


@pytest.fixture
def admin(factory):
    user = factory.staff("admin", "adm")
    db.session.commit()
    return user


@pytest.fixture
def register_bytes(tmp_path) -> bytes:
    return write_csv(tmp_path / "warga.csv", ROWS).read_bytes()


def imports() -> list[str]:
    return files_in(uploads.upload_dir(IMPORTS))


def reload(job_id: int) -> Job:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Job, job_id)


def deletions() -> list[dict]:
    db.session.rollback()
    return [e.details for e in db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "register.import_files_deleted").order_by(AuditEntry.id))]


def previewed(data: bytes, admin) -> Job:
    """An uploaded register whose preview the worker has run: waiting to be applied."""
    preview = register_jobs.start_preview(data, "warga.csv", actor=admin)
    db.session.commit()
    assert jobs.run_pending() == 1
    preview = reload(preview.id)
    assert preview.status == JobStatus.DONE and preview.result["new"] == 3
    return preview


def applied(preview: Job, admin) -> Job:
    job = register_jobs.start_apply(preview, actor=admin)
    db.session.commit()
    assert jobs.run_pending() == 1
    return reload(job.id)


# --------------------------------------------------------------------------------- stored with its commit


def test_an_uploaded_register_file_is_kept_only_if_the_commit_of_its_preview_succeeds(app, admin, register_bytes,
                                                                                      monkeypatch):
    failing = fail_commit_saving(monkeypatch, Job)
    register_jobs.start_preview(register_bytes, "warga.csv", actor=admin)
    with pytest.raises(Exception, match="database is locked"):
        db.session.commit()
    db.session.rollback()
    assert failing["failed"] == 1 and db.session.scalar(select(Job)) is None
    assert imports() == []  # no orphan of the population data left behind
    monkeypatch.undo()

    preview = register_jobs.start_preview(register_bytes, "warga.csv", actor=admin)
    db.session.commit()
    assert imports() == [preview.import_file]
    assert (uploads.upload_dir(IMPORTS) / preview.import_file).read_bytes() == register_bytes


# --------------------------------------------------------------------------------- let go when done with


def test_an_applied_import_deletes_its_file_and_audits_the_deletion_without_names(app, admin, register_bytes):
    preview = previewed(register_bytes, admin)
    name = preview.import_file
    assert imports() == [name]  # kept while the preview waits to be applied
    job = applied(preview, admin)
    assert job.status == JobStatus.DONE and db.session.query(Resident).count() == 3
    assert imports() == []
    assert reload(preview.id).import_file is None and job.import_file is None
    [entry] = deletions()
    assert (entry["reason"], entry["files"], entry["bytes"]) == ("applied", 1, len(register_bytes))
    assert name not in json.dumps(entry) and "warga.csv" not in json.dumps(entry)
    # asked again (a second click), the preview leads to its finished apply: nothing is queued
    assert register_jobs.start_apply(reload(preview.id), actor=admin).id == job.id


def test_an_apply_that_rolls_back_keeps_the_file_for_its_retry(app, admin, register_bytes, monkeypatch):
    """The deletion follows the apply's commit: an apply whose work is rolled back (here its lease is lost, as when
    the worker was thought dead) leaves the file for the run that will save the rows."""
    preview = previewed(register_bytes, admin)
    job = register_jobs.start_apply(preview, actor=admin)
    db.session.commit()
    real_end = jobs._end

    def lease_lost(job_id, token, **values):
        if values.get("status") == JobStatus.DONE:
            return False
        return real_end(job_id, token, **values)

    monkeypatch.setattr(jobs, "_end", lease_lost)
    jobs.run_pending()
    monkeypatch.undo()
    assert db.session.query(Resident).count() == 0
    assert imports() == [preview.import_file] and reload(job.id).import_file == preview.import_file
    assert deletions() == []


def test_a_preview_of_a_broken_file_fails_for_good_and_lets_go_of_its_file(app, admin, tmp_path):
    data = write_csv(tmp_path / "salah.csv", [["1", "2"]], header=["Nama", "Alamat"]).read_bytes()
    preview = register_jobs.start_preview(data, "salah.csv", actor=admin)
    db.session.commit()
    assert imports() == [preview.import_file]
    jobs.run_pending()
    preview = reload(preview.id)
    assert preview.status == JobStatus.FAILED and "Kolom wajib" in preview.error
    assert imports() == [] and preview.import_file is None
    assert [e["reason"] for e in deletions()] == ["failed"]


def test_an_apply_that_fails_for_good_lets_go_of_the_file_and_the_preview_asks_for_it_again(
        app, admin, register_bytes, monkeypatch):
    preview = previewed(register_bytes, admin)

    def broken(job, report):
        raise RuntimeError("disk rusak")

    monkeypatch.setitem(jobs.HANDLERS, "register_apply", jobs.Kind(broken, True))
    job = register_jobs.start_apply(preview, actor=admin)
    db.session.commit()
    jobs.run_pending()
    assert reload(job.id).status == JobStatus.FAILED
    assert imports() == [] and reload(preview.id).import_file is None
    assert [e["reason"] for e in deletions()] == ["failed"]
    with pytest.raises(ri.ImportFileError, match="Unggah berkasnya lagi"):
        register_jobs.start_apply(reload(preview.id), actor=admin)


def test_a_job_recovered_as_failed_after_its_last_attempt_lets_go_of_its_file(app, admin, register_bytes):
    preview = register_jobs.start_preview(register_bytes, "warga.csv", actor=admin)
    db.session.commit()
    # its worker died on the last allowed attempt: no heartbeat for longer than the lease
    stale = utcnow() - timedelta(hours=1)
    db.session.execute(update(Job).where(Job.id == preview.id).values(
        status=JobStatus.RUNNING, attempts=app.config["JOB_MAX_ATTEMPTS"], started_at=stale, heartbeat_at=stale,
        lease_token="elsewhere:1:ab"))
    db.session.commit()
    assert jobs.recover_stale() == 1
    assert reload(preview.id).status == JobStatus.FAILED and imports() == []


def test_a_preview_that_changes_nothing_lets_go_of_its_file(app, admin, register_bytes):
    applied(previewed(register_bytes, admin), admin)
    again = register_jobs.start_preview(register_bytes, "warga.csv", actor=admin)
    db.session.commit()
    jobs.run_pending()
    again = reload(again.id)
    assert again.status == JobStatus.DONE and again.result["unchanged"] == 3
    assert imports() == [] and again.import_file is None
    assert [e["reason"] for e in deletions()] == ["applied", "nothing_to_apply"]


def test_an_apply_whose_file_was_removed_fails_saying_to_upload_again(app, admin, register_bytes):
    preview = previewed(register_bytes, admin)
    job = register_jobs.start_apply(preview, actor=admin)
    db.session.commit()
    (uploads.upload_dir(IMPORTS) / preview.import_file).unlink()  # lost meanwhile (a restore, a hand)
    jobs.run_pending()
    job = reload(job.id)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("Berkas impor ini sudah dihapus dari server")
    assert "Unggah berkasnya lagi di Impor data penduduk." in job.error
    assert db.session.query(Resident).count() == 0


# --------------------------------------------------------------------------------- a preview never applied


def test_the_retention_run_deletes_the_file_of_a_preview_never_applied_after_the_period(app, admin, register_bytes):
    app.config["IMPORT_PREVIEW_DAYS"] = 7
    waiting = previewed(register_bytes, admin)
    name = waiting.import_file
    assert retention.run(now=utcnow() + timedelta(days=6)).imports.files == 0
    assert imports() == [name]
    dry = retention.run(now=utcnow() + timedelta(days=8), dry_run=True).imports
    assert (dry.files, dry.bytes) == (1, len(register_bytes)) and imports() == [name]

    done = retention.run(now=utcnow() + timedelta(days=8)).imports
    assert (done.files, done.bytes) == (1, len(register_bytes))
    assert imports() == [] and reload(waiting.id).import_file is None
    [entry] = deletions()
    assert (entry["reason"], entry["files"], entry["days"]) == ("expired", 1, 7)
    assert name not in json.dumps(entry)
    with pytest.raises(ri.ImportFileError, match="tidak diterapkan dalam 7 hari"):
        register_jobs.start_apply(reload(waiting.id), actor=admin)
    # nothing more to do: no second entry
    assert retention.run(now=utcnow() + timedelta(days=9)).imports.files == 0 and len(deletions()) == 1


def test_the_retention_run_leaves_the_file_of_an_import_waiting_or_running(app, admin, register_bytes):
    preview = previewed(register_bytes, admin)
    register_jobs.start_apply(preview, actor=admin)  # queued: the worker has not taken it yet
    db.session.commit()
    assert retention.run(now=utcnow() + timedelta(days=30)).imports.files == 0
    assert imports() == [preview.import_file]


def test_the_retention_run_expires_import_files_even_with_attachment_retention_off(app, admin, register_bytes):
    app.config["ATTACHMENT_RETENTION_DAYS"] = 0
    previewed(register_bytes, admin)
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "0 berkas" in result.output and "tidak aktif" in result.output
    app.config["IMPORT_PREVIEW_DAYS"] = 0
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert "Berkas impor data penduduk" in result.output and ": 1 berkas" in result.output
    assert imports() == []


# --------------------------------------------------------------------------------- the sweep and backups


def _aged(path, seconds: float):
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


def test_the_sweep_deletes_an_import_file_no_job_names_and_keeps_one_a_preview_waits_with(app, admin, register_bytes):
    waiting = previewed(register_bytes, admin)
    _aged(uploads.upload_dir(IMPORTS) / waiting.import_file, 2 * DAY)
    # what a web process killed between writing the file and its commit leaves
    orphan = uploads.upload_dir(IMPORTS) / (os.urandom(12).hex() + ".xlsx")
    orphan.write_bytes(b"PK\x03\x04 a register")
    _aged(orphan, 2 * DAY)
    result = upload_store.sweep()
    assert result.removed == {IMPORTS: 1} and result.missing == {}
    assert imports() == [waiting.import_file]


def test_a_backup_carries_the_file_of_an_import_still_waiting_and_none_done_with(app, admin, register_bytes,
                                                                                  tmp_path):
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=14, BACKUP_COPY_TARGET=None)
    done = previewed(register_bytes, admin)
    applied(done, admin)
    other = [list(r) for r in ROWS]
    other[0][2] = "BUDI SANTOSO WIJAYA"
    waiting = register_jobs.start_preview(write_csv(tmp_path / "baru.csv", other).read_bytes(), "baru.csv", actor=admin)
    db.session.commit()
    jobs.run_pending()
    waiting = reload(waiting.id)
    assert waiting.result["changed"] == 1 and imports() == [waiting.import_file]
    stray = uploads.upload_dir(IMPORTS) / "register-lama.csv"  # not the app's name: left alone, never archived
    stray.write_text("nik,nama\n")

    made = backup_create.create_backup()
    with tarfile.open(made.path, "r:gz") as tar:
        members = [m for m in tar.getnames() if m.startswith(f"uploads/{IMPORTS}/")]
    assert members == [f"uploads/{IMPORTS}/{waiting.import_file}"]


def test_doctor_does_not_fail_for_a_register_file_that_can_be_uploaded_again(app, admin, register_bytes):
    preview = previewed(register_bytes, admin)
    (uploads.upload_dir(IMPORTS) / preview.import_file).unlink()
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 0, result.output
    assert "tidak ada: 1 berkas impor data penduduk" in result.output
