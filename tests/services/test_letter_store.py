"""A signing process killed with SIGKILL (kill -9) at the worst moments leaves no letter that is not one: nothing
served, verified or backed up that the database does not hold; a letter committed just before the kill is still
there. The kills are real: a child process signs through the real code and kills itself at the chosen point (a
patch made in the child only; the application carries no test hook)."""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import signal
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter, LetterCounter
from sempelmas.models.requests import LetterRequest, RequestStatus
from sempelmas.services.kelurahan import profile as profile_service
from sempelmas.services.letters import issuing
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.operations import backup_create, backup_restore
from tests.conftest import PASSWORD, login
from tests.letter_fixtures import signed_pdf
from tests.signing_setup import BASE_URL, LURAH_PASS, Desk, configure, page_text, qr_payloads

CTX = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=14, BACKUP_COPY_TARGET=None)
    d = Desk(factory)
    profile_service.profile_row().verify_offers_pdf = True  # the public page hands out the PDF: it must not leak
    db.session.commit()
    return d


# ------------------------------------------------------------------ the signing process

def _signer_process(url: str, instance: str, pki_dir: str, letter_dir: str, request_id: int, point: str,
                    reached, release) -> None:
    """Sign ``request_id`` as the lurah; at ``point`` kill this process with SIGKILL (or wait for ``release``).

    "before_commit": the letter's PDF is on disk (any new file in LETTER_DIR) and the transaction commits next;
    "before_rename": the commit is done and the file is about to get its final name."""
    from sqlalchemy.orm import Session

    from sempelmas import create_app
    from sempelmas.models.accounts import User
    from tests.conftest import test_config

    app = create_app(test_config(url, Path(instance), PKI_DIR=pki_dir, LETTER_DIR=letter_dir,
                                 PKI_CA_PASSPHRASE="ca-passphrase-uji-0123456789", PKI_KEY_SCRYPT_LOG_N=10,
                                 PUBLIC_URL=BASE_URL))
    folder = Path(letter_dir)
    before = set(os.listdir(folder)) if folder.exists() else set()

    def stop_here():
        reached.set()
        if point.startswith("pause"):
            release.wait(60)
        else:
            os.kill(os.getpid(), signal.SIGKILL)  # no rollback, no finally, no atexit: the process is gone

    if point in ("before_commit", "pause_before_commit"):
        real_commit = Session.commit

        def commit(self):
            if folder.exists() and set(os.listdir(folder)) - before:
                stop_here()
            return real_commit(self)

        Session.commit = commit
    elif point == "before_rename":
        letter_store.publish_pdf = lambda name: stop_here()

    with app.app_context():
        lurah = db.session.scalar(select(User).where(User.username == "lurah"))
        issuing.issue_letter(db.session.get(LetterRequest, request_id), lurah, LURAH_PASS)
        db.session.remove()
        db.engine.dispose()


def _start_signer(app, request, point: str):
    request_id = request.id
    db.session.remove()
    db.engine.dispose()  # the child makes its own connections
    reached, release = CTX.Event(), CTX.Event()
    proc = CTX.Process(target=_signer_process, args=(
        app.config["SQLALCHEMY_DATABASE_URI"], str(Path(app.config["LETTER_DIR"]).parent / "signer-instance"),
        app.config["PKI_DIR"], app.config["LETTER_DIR"],
        request_id, point, reached, release))
    proc.start()
    return proc, reached, release


def _sign_and_kill(app, request, point: str) -> None:
    proc, reached, _release = _start_signer(app, request, point)
    proc.join(120)
    assert reached.is_set(), "the signer never reached the kill point"
    assert proc.exitcode == -signal.SIGKILL


def _files() -> list[str]:
    folder = letter_store.letter_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _archive_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


# ------------------------------------------------------------------ killed before the commit

def test_a_signer_killed_between_the_pdf_write_and_the_commit_leaves_no_letter_served_verified_or_backed_up(
        app, client, desk):
    (request,) = desk.awaiting(1)
    request_id = request.id
    _sign_and_kill(app, request, "before_commit")
    lurah = db.session.scalar(select(User).where(User.username == "lurah"))

    # the transaction died with the process: no letter, the number not taken, the request still waiting
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Letter.id))) == 0
    assert db.session.scalar(select(func.coalesce(func.max(LetterCounter.last), 0))) == 0
    assert db.session.get(LetterRequest, request_id).status == RequestStatus.AWAITING_SIGNATURE
    # what the kill left on disk: a validly signed letter with a QR code, under a name that is no letter's
    (left,) = _files()
    orphan = (letter_store.letter_dir() / left).read_bytes()
    assert letter_signing.validate_pdf(orphan).intact
    (url,) = qr_payloads(orphan)
    code = url.rsplit("/v/", 1)[1]

    # not served: its QR address knows no letter, and neither the PDF download nor any other path hands it out
    assert client.get(f"/v/{code}").status_code == 404
    assert client.get(f"/v/{code}/unduh").status_code == 404

    # not backed up (and the backup's sweep deletes it: no signing transaction is in flight)
    made = backup_create.create_backup()
    members = _archive_members(made.path)
    assert [m for m in members if m.startswith("letters/")] == []
    assert orphan not in members.values()
    assert _files() == []
    swept = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "letter.files_swept"))
    assert swept.details["removed"] == 1 and swept.details["removed_names"] == [left]

    # the number goes to the next letter; the orphan carries that number but is not that letter
    letter = issuing.issue_letter(db.session.get(LetterRequest, request_id), lurah, LURAH_PASS)
    assert letter.sequence == 1 and letter.number in page_text(orphan)
    check = client.post(f"/v/{letter.verify_code}", data={"berkas": (io.BytesIO(orphan), "surat.pdf")},
                        content_type="multipart/form-data").get_data(as_text=True)
    assert "Berkas ini TIDAK sama dengan surat yang diterbitkan" in check
    assert _files() == [letter.stored_name]


def test_flask_doctor_deletes_the_orphan_of_a_killed_signer(app, desk):
    (request,) = desk.awaiting(1)
    _sign_and_kill(app, request, "before_commit")
    (left,) = _files()
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 0, result.output
    assert f"dihapus: {left}" in result.output
    assert _files() == []
    again = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert again.exit_code == 0 and "baik: setiap berkas adalah surat" in again.output


def test_the_worker_sweeps_orphans_when_it_starts(app, desk):
    orphan = letter_store.new_stored_name()
    letter_store.stage_pdf(orphan, signed_pdf())  # as a signer killed before its commit leaves it
    legacy = letter_store.letter_dir() / (letter_store.new_stored_name() + ".tmp")  # the store before this fix
    legacy.write_bytes(signed_pdf())
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert _files() == []


# ------------------------------------------------------------------ killed after the commit

def test_a_signer_killed_after_the_commit_keeps_its_letter_and_it_is_served(app, client, desk):
    (request,) = desk.awaiting(1)
    request_id, tracking_number, nik = request.id, request.tracking_number, desk.warga.resident.nik
    _sign_and_kill(app, request, "before_rename")

    letter = db.session.scalar(select(Letter))
    assert letter is not None and db.session.get(LetterRequest, request_id).status == RequestStatus.DONE
    assert _files() == [letter.stored_name + ".pending"]  # committed, not yet under its final name

    login(client, nik, PASSWORD)
    resp = client.get(f"/warga/permohonan/{tracking_number}/surat")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert hashlib.sha256(resp.data).hexdigest() == letter.pdf_sha256
    assert _files() == [letter.stored_name]
    assert client.get(f"/v/{letter.verify_code}/unduh").data == resp.data


def _committed_but_pending(desk, monkeypatch, n: int) -> list[str]:
    """``n`` letters as a process killed between the commit and the rename leaves them."""
    requests = desk.awaiting(n)
    monkeypatch.setattr(letter_store, "publish_pdf", lambda name: False)
    names = sorted(issuing.issue_letter(r, desk.lurah, LURAH_PASS).stored_name for r in requests)
    monkeypatch.undo()
    assert _files() == sorted(n + ".pending" for n in names)
    return names


def test_doctor_publishes_a_committed_letter_left_pending(app, desk, monkeypatch):
    names = _committed_but_pending(desk, monkeypatch, 2)
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 0, result.output
    assert f"diterbitkan: {names[0]}" in result.output and f"diterbitkan: {names[1]}" in result.output
    assert _files() == names


def test_a_backup_takes_a_committed_letter_left_pending_even_without_its_sweep(app, desk, monkeypatch):
    names = _committed_but_pending(desk, monkeypatch, 2)
    monkeypatch.setattr(backup_create, "sweep_letters", lambda: db.session.rollback())  # e.g. a sweep that failed
    made = backup_create.create_backup()
    members = _archive_members(made.path)
    assert sorted(m for m in members if m.startswith("letters/")) == [f"letters/{n}" for n in names]
    assert _files() == names


def test_doctor_reports_a_letter_whose_file_is_gone(app, desk):
    (request,) = desk.awaiting(1)
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    letter_store.path_of(letter).unlink()
    result = app.test_cli_runner().invoke(args=["doctor", "--only", "files"])
    assert result.exit_code == 1
    assert f"HILANG: {letter.stored_name}" in result.output


# ------------------------------------------------------------------ a sweep beside a signer at work

def test_a_sweep_leaves_the_file_of_a_signing_transaction_in_flight(app, desk):
    """The sweep cannot know a pending file without a row is dead while a signer may be about to commit it: it
    waits for the signers in flight (SQLite's write lock, a SHARE lock on letters), and leaves it if they take
    too long."""
    (request,) = desk.awaiting(1)
    proc, reached, release = _start_signer(app, request, "pause_before_commit")
    try:
        assert reached.wait(120), "the signer never staged its file"
        with app.app_context():
            result = letter_store.sweep(wait_seconds=0.5)
        (pending,) = _files()
        assert result.left_pending == [pending] and result.removed == []
    finally:
        release.set()
        proc.join(120)
    assert proc.exitcode == 0
    db.session.expire_all()
    letter = db.session.scalar(select(Letter))
    assert _files() == [letter.stored_name]
    assert letter_signing.validate_pdf(letter_store.read_pdf(letter)).intact


# ------------------------------------------------------------------ backups take the database copy's letters

def test_a_letter_signed_while_the_backup_runs_is_not_in_the_archive_without_its_row(app, desk, monkeypatch):
    """The database copy is made first; a letter committed after it has no row in the archive, so its file must
    not be there either (restored, its number would be handed out again)."""
    first, second = desk.awaiting(2)
    kept = issuing.issue_letter(first, desk.lurah, LURAH_PASS)
    kept_name = kept.stored_name
    real_dump = backup_create._dump_database

    def dump_then_sign(dest):
        copy = real_dump(dest)
        issuing.issue_letter(db.session.get(LetterRequest, second.id), desk.lurah, LURAH_PASS)
        return copy

    monkeypatch.setattr(backup_create, "_dump_database", dump_then_sign)
    made = backup_create.create_backup()
    members = _archive_members(made.path)
    assert [m for m in members if m.startswith("letters/")] == [f"letters/{kept_name}"]
    assert db.session.scalar(select(func.count(Letter.id))) == 2  # the late letter itself is fine, and live


def test_a_restore_drops_orphans_an_older_archive_carried(app, desk, tmp_path):
    (request,) = desk.awaiting(1)
    letter_name = issuing.issue_letter(request, desk.lurah, LURAH_PASS).stored_name
    made = backup_create.create_backup()
    # an archive as the backup before this fix wrote it: a crash's orphan among the letters, in the manifest
    orphan_name, orphan = letter_store.new_stored_name(), signed_pdf("Surat yatim")
    old = tmp_path / "lama.tar.gz"
    members = _archive_members(made.path)
    manifest = json.loads(members.pop("manifest.json"))
    members[f"letters/{orphan_name}"] = orphan
    manifest["files"].append({"path": f"letters/{orphan_name}", "size": len(orphan),
                              "sha256": hashlib.sha256(orphan).hexdigest()})
    with tarfile.open(old, "w:gz") as tar:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *members.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

    backup_restore.restore(old)
    assert _files() == [letter_name]
