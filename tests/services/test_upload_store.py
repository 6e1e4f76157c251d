"""Uploads and their records. A file stored for a record lives and dies with the transaction that saves the record;
a process killed with SIGKILL (kill -9) in between leaves a file no record names, which no backup carries and the
sweep deletes once no transaction can still commit it; backups carry only the uploads their database copy names.
The kills are real: a child process goes through the real form and kills itself at the chosen point (a patch made
in the child only; the application carries no test hook)."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import re
import signal
import tarfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.complaints import Complaint
from sempelmas.models.data_rights import DataRightsRequest
from sempelmas.models.registration_uploads import RegistrationUpload
from sempelmas.models.requests import LetterRequest, RequestAttachment, RequestStatus
from sempelmas.services.accountability import complaints, data_corrections
from sempelmas.services.files import upload_store, uploads
from sempelmas.services.files.uploads import (
    COMPLAINT_PHOTOS,
    CORRECTION_EVIDENCE,
    DOCUMENTS,
    KTP,
    KTP_PENDING,
    save_image,
)
from sempelmas.services.operations import backup_create, backup_restore, retention
from sempelmas.services.requests import attachments
from tests.conftest import PASSWORD, jpeg_bytes
from tests.failing_commit import files_in
from tests.request_factory import make_profile, make_service, submit

CTX = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
HOUR = 3600
DAY = 24 * HOUR


def folder(kind: str) -> Path:
    return uploads.upload_dir(kind)


def _age(path: Path, seconds: float) -> Path:
    t = time.time() - seconds
    os.utime(path, (t, t))
    return path


def _orphan(kind: str, *, age: float) -> str:
    """A file as a process killed before its commit leaves it: an upload's name and content, no record."""
    name = os.urandom(16).hex() + ".jpg"
    (folder(kind) / name).write_bytes(jpeg_bytes())
    _age(folder(kind) / name, age)
    return name


def _swept() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "upload.files_swept")
                                   .order_by(AuditEntry.id)))


def _archive_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


@pytest.fixture
def backups(app, tmp_path):
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=14, BACKUP_COPY_TARGET=None)


@pytest.fixture
def world(app, factory):
    """One committed upload of every kind, each older than the grace period: a record names every one."""
    make_profile()
    make_service(needs_rt=False)
    warga = factory.warga(ktp=True)
    draft = attachments.store(jpeg_bytes(), requirement_code="kk", owner=warga, draft_key="k" * 20)
    complaint, _created = complaints.file_complaint(
        complaints.Filing(name="Budi", category="pelayanan", subject="Antrean", body="Lama sekali.",
                          phone="081234567890"), idempotency_key=None, photo=save_image(COMPLAINT_PHOTOS, jpeg_bytes()))
    correction = data_corrections.request_correction(warga, "address", "Jl. Pemuda 12", "Pindah",
                                                evidence_photo=save_image(CORRECTION_EVIDENCE, jpeg_bytes()))
    db.session.commit()
    named = {KTP: warga.registration.ktp_photo, DOCUMENTS: draft.stored_name, COMPLAINT_PHOTOS: complaint.photo,
             CORRECTION_EVIDENCE: correction.evidence_photo}
    for kind, name in named.items():
        _age(folder(kind) / name, 30 * DAY)
    return {"warga": warga, "named": named}


# ------------------------------------------------------------------ a file follows its transaction

def test_a_stored_file_stays_only_if_its_transaction_commits(app, factory):
    warga = factory.warga()

    def store() -> str:
        return attachments.store(jpeg_bytes(), requirement_code="kk", owner=warga, draft_key="k" * 20).stored_name

    kept = store()
    db.session.commit()
    store()
    db.session.rollback()
    store()
    db.session.close()  # ended without a commit (a request torn down after an error nobody caught)
    assert files_in(folder(DOCUMENTS)) == [kept]


def test_a_file_stored_in_a_released_savepoint_follows_the_outer_transaction(app):
    with db.session.begin_nested():
        dropped = save_image(COMPLAINT_PHOTOS, jpeg_bytes())
    assert files_in(folder(COMPLAINT_PHOTOS)) == [dropped]  # released, not committed
    db.session.rollback()
    with db.session.begin_nested():
        kept = save_image(COMPLAINT_PHOTOS, jpeg_bytes())
    db.session.commit()
    assert files_in(folder(COMPLAINT_PHOTOS)) == [kept]


def test_a_commit_whose_outcome_is_unknown_leaves_its_file_to_the_sweep(app, factory, monkeypatch):
    """The COMMIT reached the database and its answer was lost (the connection broke on the way back): the row
    may well be saved, so its file is not deleted on the spot. The sweep keeps what a row names."""
    warga = factory.warga()
    dialect = db.engine.dialect
    real_commit = dialect.do_commit

    def commit_then_lose_the_answer(dbapi_connection):
        real_commit(dbapi_connection)
        raise dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")

    name = attachments.store(jpeg_bytes(), requirement_code="kk", owner=warga, draft_key="u" * 20).stored_name
    monkeypatch.setattr(dialect, "do_commit", commit_then_lose_the_answer)
    with pytest.raises(DBAPIError):
        db.session.commit()
    monkeypatch.undo()
    db.session.rollback()
    assert db.session.scalar(select(RequestAttachment.stored_name)) == name  # it was committed after all
    assert files_in(folder(DOCUMENTS)) == [name]
    _age(folder(DOCUMENTS) / name, 2 * HOUR)
    assert upload_store.sweep().removed == {} and files_in(folder(DOCUMENTS)) == [name]


# ------------------------------------------------------------------ the sweep

def test_the_sweep_deletes_old_uploads_no_record_names_and_nothing_else(app, world):
    named = world["named"]
    orphans = {kind: _orphan(kind, age=2 * HOUR) for kind in (KTP, DOCUMENTS, COMPLAINT_PHOTOS, CORRECTION_EVIDENCE)}
    young = _orphan(KTP, age=60)  # may still be about to be committed
    # a row whose file retention let go (marked, then killed before the file went)
    gone = attachments.store(jpeg_bytes(), requirement_code="kk", owner=world["warga"], draft_key="p" * 20)
    gone.purged_at = utcnow()
    db.session.commit()
    purged = _age(folder(DOCUMENTS) / gone.stored_name, 400 * DAY).name
    # not uploads of a known kind: left alone
    (folder(KTP) / "catatan-admin.txt").write_text("bukan unggahan")
    _age(folder(KTP) / "catatan-admin.txt", DAY)
    (folder("imports") / "register.csv").write_text("nik,nama\n")
    _age(folder("imports") / "register.csv", DAY)

    result = upload_store.sweep()
    assert result.removed == {KTP: 1, DOCUMENTS: 2, COMPLAINT_PHOTOS: 1, CORRECTION_EVIDENCE: 1}
    assert result.young == {KTP: 1} and result.missing == {}
    assert result.others == {KTP: 1, "imports": 1}
    assert files_in(folder(KTP)) == sorted([named[KTP], young, "catatan-admin.txt"])
    for kind in (DOCUMENTS, COMPLAINT_PHOTOS, CORRECTION_EVIDENCE):
        assert files_in(folder(kind)) == [named[kind]], kind
    assert files_in(folder("imports")) == ["register.csv"]

    # audited with counts and kinds only: a file name says nothing to the reader and is not kept
    [entry] = _swept()
    assert entry.actor_id is None
    assert entry.details["removed"] == 5 and entry.details["by_kind"] == result.removed
    assert entry.details["bytes"] == result.removed_bytes > 0
    logged = json.dumps(entry.details)
    assert not any(name in logged for name in [*orphans.values(), purged])

    # nothing left to do: no second entry
    assert upload_store.sweep().removed == {} and len(_swept()) == 1


def test_a_file_whose_transaction_has_not_committed_yet_is_never_taken(app, factory):
    """The sweep cannot see uncommitted rows: what protects a file stored for one is its age."""
    warga = factory.warga()
    warga_id = warga.id
    stored, release, finished = threading.Event(), threading.Event(), threading.Event()
    names = []

    def upload_in_another_request():
        with app.app_context():
            owner = db.session.get(User, warga_id)
            names.append(attachments.store(jpeg_bytes(), requirement_code="kk", owner=owner,
                                           draft_key="t" * 20).stored_name)
            stored.set()
            release.wait(30)
            db.session.commit()
            db.session.remove()
        finished.set()

    db.session.remove()
    worker = threading.Thread(target=upload_in_another_request)
    worker.start()
    try:
        assert stored.wait(30)
        result = upload_store.sweep()
        assert result.young == {DOCUMENTS: 1} and result.removed == {}
    finally:
        release.set()
        worker.join(30)
    assert finished.is_set()
    assert files_in(folder(DOCUMENTS)) == names
    assert db.session.scalar(select(RequestAttachment.stored_name)) == names[0]


def test_doctor_deletes_old_orphans_and_reports_records_without_their_file(app, world):
    _orphan(KTP, age=2 * HOUR)
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 0, result.output
    assert "dihapus: 1 foto KTP tanpa catatan" in result.output
    assert files_in(folder(KTP)) == [world["named"][KTP]]

    (folder(COMPLAINT_PHOTOS) / world["named"][COMPLAINT_PHOTOS]).unlink()
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 1
    assert "HILANG: 1 foto pengaduan tercatat di basis data" in result.output


def test_doctor_says_all_is_well_when_every_upload_has_its_record(app, world):
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 0, result.output
    assert "baik: setiap unggahan punya catatannya, setiap catatan punya berkasnya." in result.output


def test_the_worker_deletes_old_orphans_when_it_starts(app, world):
    _orphan(DOCUMENTS, age=2 * HOUR)
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert files_in(folder(DOCUMENTS)) == [world["named"][DOCUMENTS]]
    assert _swept()[0].details["by_kind"] == {DOCUMENTS: 1}


# ------------------------------------------------------------------ backups carry only named uploads

def _uploads_in(archive: Path) -> list[str]:
    return sorted(m for m in _archive_members(archive) if m.startswith("uploads/"))


def test_a_backup_carries_only_the_uploads_its_database_copy_names(app, world, backups):
    named = world["named"]
    young = _orphan(KTP, age=60)  # a kill a minute ago: too young for the sweep, still no record's
    gone = attachments.store(jpeg_bytes(), requirement_code="kk", owner=world["warga"], draft_key="p" * 20)
    gone.purged_at = utcnow()
    db.session.commit()
    purged = gone.stored_name  # marked by retention, the file not yet deleted (and young)
    # register files are uploads too: only those an import still waiting names (tests/services/test_import_files.py)
    (folder("imports") / "register.csv").write_text("nik,nama\n")

    made = backup_create.create_backup()
    assert _uploads_in(made.path) == sorted(f"uploads/{kind}/{name}" for kind, name in named.items())
    # left on disk for a later sweep, never in an archive
    assert young in files_in(folder(KTP)) and purged in files_in(folder(DOCUMENTS))


def test_an_upload_committed_after_the_database_copy_is_not_in_the_archive(app, world, backups, monkeypatch):
    real_dump = backup_create._dump_database
    late = []

    def dump_then_upload(dest):
        copy = real_dump(dest)
        late.append(save_image(COMPLAINT_PHOTOS, jpeg_bytes()))
        db.session.get(Complaint, db.session.scalar(select(Complaint.id))).photo = late[0]
        db.session.commit()
        return copy

    monkeypatch.setattr(backup_create, "_dump_database", dump_then_upload)
    made = backup_create.create_backup()
    members = _uploads_in(made.path)
    assert f"uploads/{COMPLAINT_PHOTOS}/{world['named'][COMPLAINT_PHOTOS]}" in members
    assert not any(late[0] in m for m in members)


def test_a_restore_drops_the_orphans_an_older_archive_carried(app, world, backups, tmp_path):
    made = backup_create.create_backup()
    # an archive as the backup before this fix wrote it: an orphan of a crash among the uploads, a day old
    orphan_name, orphan = os.urandom(16).hex() + ".jpg", jpeg_bytes(color=(200, 10, 10))
    old = tmp_path / "lama.tar.gz"
    members = _archive_members(made.path)
    manifest = json.loads(members.pop("manifest.json"))
    members[f"uploads/{KTP}/{orphan_name}"] = orphan
    manifest["files"].append({"path": f"uploads/{KTP}/{orphan_name}", "size": len(orphan),
                              "sha256": hashlib.sha256(orphan).hexdigest()})
    with tarfile.open(old, "w:gz") as tar:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time() - DAY)
            tar.addfile(info, io.BytesIO(data))

    backup_restore.restore(old)
    assert files_in(folder(KTP)) == [world["named"][KTP]]
    for kind in (DOCUMENTS, COMPLAINT_PHOTOS, CORRECTION_EVIDENCE):
        assert files_in(folder(kind)) == [world["named"][kind]]


# ------------------------------------------------------------------ a process killed before its commit

REGISTRATION = {
    "nik": "3576034403920077", "kk_number": "3576031203150077", "full_name": "Rina Ayu",
    "birth_place": "Mojokerto", "birth_date": "1992-03-04", "gender": "P", "address": "Jl. Empunala 7",
    "rt": "2", "rw": "1", "phone": "0812 3456 7890", "email": "", "password": "sandi-rina-1",
    "password2": "sandi-rina-1", "consent": "y",
}
COMPLAINT = {"name": "Budi Santoso", "phone": "0812-3456-7890", "email": "", "category": "pelayanan",
             "subject": "Antrean terlalu lama", "body": "Saya menunggu dua jam di loket tanpa nomor antrean."}


def _flow_register(client, nik):
    client.post("/daftar", data={**REGISTRATION, "ktp_photo": (io.BytesIO(jpeg_bytes()), "ktp.jpg")},
                content_type="multipart/form-data")


def _flow_request_form(client, nik):
    client.post("/login", data={"identifier": nik, "password": PASSWORD})
    html = client.get("/warga/ajukan/domisili").get_data(as_text=True)
    key = re.search(r'name="kunci" value="([^"]+)"', html).group(1)
    client.post(f"/warga/ajukan/domisili?kunci={key}", content_type="multipart/form-data", data={
        "kunci": key, "f_keperluan": "Melamar pekerjaan", "berkas_kk": (io.BytesIO(jpeg_bytes()), "kk.jpg")})


def _flow_correction(client, nik):
    client.post("/login", data={"identifier": nik, "password": PASSWORD})
    client.post("/warga/data-saya/koreksi", content_type="multipart/form-data", data={
        "field": "address", "value": "Jl. Pemuda No. 12", "explanation": "Pindah",
        "photo": (io.BytesIO(jpeg_bytes()), "bukti.jpg")})


def _flow_complaint(client, nik):
    html = client.get("/pengaduan").get_data(as_text=True)
    key = re.search(r'name="kunci" type="hidden" value="([^"]+)"', html).group(1)
    client.post("/pengaduan", content_type="multipart/form-data",
                data={**COMPLAINT, "kunci": key, "photo": (io.BytesIO(jpeg_bytes()), "bukti.jpg")})


#: flow → (what the child sends, the kind of upload it stores, the table of the record that names it)
FLOWS = {
    # the photo is held first (committed alone, so a refused form keeps it: registration_uploads)
    "register": (_flow_register, KTP_PENDING, RegistrationUpload),
    "request_form": (_flow_request_form, DOCUMENTS, RequestAttachment),
    "correction": (_flow_correction, CORRECTION_EVIDENCE, DataRightsRequest),
    "complaint": (_flow_complaint, COMPLAINT_PHOTOS, Complaint),
}


def _all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _uploading_process(url: str, instance: str, upload_dir: str, flow: str, nik: str, reached) -> None:
    """Send ``flow``'s form; when its commit comes with a new upload on disk, kill this process with SIGKILL."""
    from sqlalchemy.orm import Session

    from sempelmas import create_app
    from tests.conftest import test_config

    app = create_app(test_config(url, Path(instance), UPLOAD_DIR=upload_dir))
    root = Path(upload_dir)
    before = _all_files(root)
    real_commit = Session.commit

    def commit(self):
        if _all_files(root) - before:
            reached.set()
            os.kill(os.getpid(), signal.SIGKILL)  # no rollback, no finally, no atexit: the process is gone
        return real_commit(self)

    Session.commit = commit
    with app.app_context():
        FLOWS[flow][0](app.test_client(), nik)


def _run_killed(app, target, *args) -> None:
    db.session.remove()
    db.engine.dispose()  # the child makes its own connections
    reached = CTX.Event()
    proc = CTX.Process(target=target, args=(app.config["SQLALCHEMY_DATABASE_URI"],
                                           str(Path(app.config["UPLOAD_DIR"]).parent / "child-instance"),
                                           app.config["UPLOAD_DIR"], *args, reached))
    proc.start()
    proc.join(120)
    assert reached.is_set(), "the child never reached the kill point"
    assert proc.exitcode == -signal.SIGKILL


@pytest.mark.parametrize("flow", list(FLOWS))
def test_a_form_killed_between_its_upload_and_its_commit_leaves_a_file_never_backed_up_and_swept_later(
        app, factory, backups, flow):
    make_profile()
    make_service(needs_rt=False)
    warga = factory.warga()
    nik = warga.resident.nik
    _fn, kind, model = FLOWS[flow]
    rows_before = db.session.scalar(select(func.count()).select_from(model))
    _run_killed(app, _uploading_process, flow, nik)

    # the transaction died with the process; the photo or document it had stored is on disk, named by nothing
    assert db.session.scalar(select(func.count()).select_from(model)) == rows_before
    [left] = files_in(folder(kind))

    # a backup now does not carry it (and its sweep leaves it: it could be a request about to commit)
    made = backup_create.create_backup()
    assert not any(left in m for m in _archive_members(made.path))
    assert files_in(folder(kind)) == [left]

    # once older than the grace period, the next sweep deletes it, audited by kind and count
    _age(folder(kind) / left, app.config["UPLOAD_ORPHAN_GRACE_SECONDS"] + 60)
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 0, result.output
    assert files_in(folder(kind)) == []
    [entry] = _swept()
    assert entry.details["by_kind"] == {kind: 1} and left not in json.dumps(entry.details)


# ------------------------------------------------------------------ retention killed between batches

def _retention_process(url: str, instance: str, upload_dir: str, reached) -> None:
    """Run retention in batches of 2 and kill this process right after the first batch commits."""
    from sqlalchemy.orm import Session

    from sempelmas import create_app
    from tests.conftest import test_config

    app = create_app(test_config(url, Path(instance), UPLOAD_DIR=upload_dir, ATTACHMENT_RETENTION_DAYS=365))
    real_commit = Session.commit

    def commit(self):
        real_commit(self)
        reached.set()
        os.kill(os.getpid(), signal.SIGKILL)

    Session.commit = commit
    retention.BATCH = 2
    with app.app_context():
        retention.run()


def test_retention_killed_after_a_batch_commits_leaves_its_audit_entry_and_its_files_to_the_sweep(app, factory):
    make_profile()
    make_service(needs_rt=False)
    warga = factory.warga()
    for i in range(2):
        req = submit(warga)
        for j in range(2):
            attachments.store(jpeg_bytes(color=(40 * i, 40 * j, 90)), requirement_code="kk", owner=warga, request=req)
        req.status, req.closed_at = RequestStatus.DONE, utcnow() - timedelta(days=700)
    db.session.commit()
    for name in files_in(folder(DOCUMENTS)):
        _age(folder(DOCUMENTS) / name, 700 * DAY)  # the documents of requests closed two years ago

    _run_killed(app, _retention_process)

    marked = db.session.scalars(select(RequestAttachment).where(RequestAttachment.purged_at.is_not(None))).all()
    runs = [e.details for e in db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.run"))]
    assert len(marked) == 2 and len(runs) == 1 and (runs[0]["files"], runs[0]["batch"]) == (2, 1)
    # the kill came before the batch's files were deleted: no row names them any more, the sweep takes them
    assert len(files_in(folder(DOCUMENTS))) == 4
    assert upload_store.sweep().removed == {DOCUMENTS: 2}
    unmarked = select(RequestAttachment.stored_name).where(RequestAttachment.purged_at.is_(None))
    assert files_in(folder(DOCUMENTS)) == sorted(db.session.scalars(unmarked))
    assert retention.run().files == 2
    assert files_in(folder(DOCUMENTS)) == []
    assert db.session.scalar(select(func.count(LetterRequest.id))) == 2
