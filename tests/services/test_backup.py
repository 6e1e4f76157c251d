"""Backups: create → wipe → restore gives back a letter that still verifies; refused archives change nothing;
archive retention; the copy off the machine (a local folder, and the rsync/SSH commands for a remote one)."""

from __future__ import annotations

import io
import json
import shutil
import stat
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.letters import Letter
from sempelmas.models.residents import Resident
from sempelmas.services.letters import issuing
from sempelmas.services.letters import signing as letter_signing
from sempelmas.services.letters import store as letter_store
from sempelmas.services.operations import backup
from sempelmas.services.requests import attachments
from tests.conftest import clear_database, jpeg_bytes
from tests.signing_setup import LURAH_PASS, Desk, configure


@pytest.fixture
def desk(app, factory, tmp_path):
    configure(app, tmp_path)
    app.config.update(BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP=14, BACKUP_COPY_TARGET=None,
                      BACKUP_COPY_KEEP=None)
    return Desk(factory)


@pytest.fixture
def signed(desk):
    """A request with an uploaded document and its signed letter."""
    (request,) = desk.awaiting(1)
    doc = attachments.store(jpeg_bytes(), requirement_code="kk", owner=desk.warga, request=request)
    db.session.commit()
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    return {"request": request, "doc": doc.stored_name, "code": letter.verify_code,
            "pdf": letter_store.path_of(letter).read_bytes(), "pdf_name": letter.stored_name}


def _folders(app) -> list[Path]:
    return [Path(app.config[k]) for k in ("UPLOAD_DIR", "LETTER_DIR", "PKI_DIR")]


def _snapshot(app) -> dict[str, bytes]:
    """Every file of the three folders (and nothing beside them) by path."""
    out = {}
    for root in _folders(app):
        for p in sorted(root.rglob("*")) if root.exists() else []:
            if p.is_file():
                out[str(p)] = p.read_bytes()
    for root in _folders(app):
        out[f"siblings of {root.name}"] = sorted(x.name for x in root.parent.iterdir()
                                                 if x.name.startswith(root.name)).__repr__().encode()
    return out


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def repack(src: Path, dst: Path, *, edit=None, manifest_edit=None, extra: dict | None = None,
           drop: str | None = None) -> Path:
    """Write a modified copy of an archive: ``edit(name, data)`` changes members, the manifest stays as it was
    unless ``manifest_edit`` changes it."""
    members = _members(src)
    manifest = json.loads(members.pop("manifest.json"))
    if manifest_edit:
        manifest_edit(manifest)
    with tarfile.open(dst, "w:gz") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for name, data in {**members, **(extra or {})}.items():
            if name == drop:
                continue
            data = edit(name, data) if edit else data
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dst


def _create(runner) -> Path:
    return _create_with_output(runner)[0]


def _create_with_output(runner) -> tuple[Path, str]:
    result = runner.invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    return Path(result.output.split("Cadangan dibuat: ")[1].split(" (")[0]), result.output


def test_backup_wipe_restore_and_the_letter_still_verifies_at_its_qr_url(app, client, signed):
    runner = app.test_cli_runner()
    newest = db.session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    anchor = f"{newest.seq}:{newest.entry_hash}"
    archive, output = _create_with_output(runner)
    # the audit chain's anchor at the moment of the database copy: printed for the backup's log, and kept in the
    # manifest wherever the archive is copied
    assert f"Jangkar log audit (simpan di luar server): --anchor {anchor}" in output

    assert archive.parent == Path(app.config["BACKUP_DIR"])
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in archive.parent.iterdir()] == [archive.name]  # no temporary file left
    members = _members(archive)
    manifest = json.loads(members["manifest.json"])
    assert manifest["database"] == backup.database_kind() and manifest["app_version"] == "0.1.0"
    assert manifest["created_at"].startswith(str(datetime.now(UTC).year))
    assert manifest["audit_anchor"] == anchor
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(members) - {"manifest.json"}
    assert {f"letters/{signed['pdf_name']}", f"uploads/dokumen/{signed['doc']}", "pki/ca.pem"} <= set(listed)
    assert any(p.startswith("database/") for p in listed)
    import hashlib

    for name, data in members.items():
        if name != "manifest.json":
            assert listed[name] == {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert members[f"letters/{signed['pdf_name']}"] == signed["pdf"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "backup.create"))
    assert entry.object_id == archive.name and entry.details["files"] == len(listed)

    # the disk dies: database emptied, folders gone
    clear_database()
    for folder in _folders(app):
        shutil.rmtree(folder)
    assert client.get(f"/v/{signed['code']}").status_code == 404

    refused = runner.invoke(args=["backup", "restore", str(archive)], input="n\n")
    assert refused.exit_code != 0 and "Arsip utuh." in refused.output
    assert db.session.scalar(select(func.count(Letter.id))) == 0

    result = runner.invoke(args=["backup", "restore", str(archive)], input="y\n")
    assert result.exit_code == 0, result.output
    assert "Pemulihan selesai." in result.output

    resp = client.get(f"/v/{signed['code']}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="verdict">SAH<' in html
    letter = db.session.scalar(select(Letter).where(Letter.verify_code == signed["code"]))
    data = letter_store.path_of(letter).read_bytes()
    assert data == signed["pdf"]
    check = letter_signing.validate_pdf(data)  # trusted by the restored kelurahan CA
    assert check.intact and check.valid and check.trusted, check.message
    if shutil.which("pdfsig"):
        out = subprocess.run(["pdfsig", str(letter_store.path_of(letter))], capture_output=True, text=True,
                             timeout=60).stdout
        assert "Signature is Valid." in out
    # the uploaded document and its row are back, and the PDF uploaded for checking matches the register
    doc = attachments.by_name(signed["doc"])
    assert doc is not None and attachments.path_of(doc).read_bytes() == members[f"uploads/dokumen/{signed['doc']}"]
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "backup.restore")) == 1
    checked = runner.invoke(args=["audit-verify", "--quiet", "--anchor", anchor])
    assert checked.exit_code == 0 and "Cocok dengan 1 jangkar" in checked.output
    # no staging folder left beside the restored ones
    for folder in _folders(app):
        assert [x.name for x in folder.parent.iterdir() if x.name.startswith(folder.name)] == [folder.name]


def _tamper_byte(name, data):
    return data[:-10] + bytes([data[-10] ^ 1]) + data[-9:] if name.startswith("letters/") else data


@pytest.mark.parametrize("kind, message", [
    ("one byte of a letter changed", "Checksum berkas letters/"),
    ("the database copy replaced", "Checksum berkas database/"),
    ("a file not in the manifest", "tidak tercatat di manifest"),
    ("a file missing", "tidak ada di arsip"),
    ("a path outside the folders", "jalur yang tidak diizinkan"),
    ("another database kind", "Pulihkan ke jenis basis data yang sama"),
    ("truncated", "rusak"),
    ("not an archive", "rusak"),
])
def test_a_corrupted_or_tampered_archive_is_refused_and_nothing_changes(app, factory, signed, tmp_path, kind,
                                                                       message):
    runner = app.test_cli_runner()
    archive = _create(runner)
    bad = tmp_path / "bad.tar.gz"
    if kind == "one byte of a letter changed":
        repack(archive, bad, edit=_tamper_byte)
    elif kind == "the database copy replaced":
        repack(archive, bad, edit=lambda n, d: d[:len(d) // 2] + bytes([d[len(d) // 2] ^ 1]) + d[len(d) // 2 + 1:]
               if n.startswith("database/") else d)
    elif kind == "a file not in the manifest":
        repack(archive, bad, extra={"letters/palsu.pdf": b"%PDF-1.7 palsu"})
    elif kind == "a file missing":
        repack(archive, bad, drop=f"letters/{signed['pdf_name']}")
    elif kind == "a path outside the folders":
        repack(archive, bad, extra={"../../etc/cron.d/x": b"* * * * * root id"})
    elif kind == "another database kind":
        other = "sqlite" if backup.database_kind() == "postgresql" else "postgresql"
        repack(archive, bad, manifest_edit=lambda m: m.update(database=other))
    elif kind == "truncated":
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    else:
        bad.write_bytes(b"bukan arsip sama sekali")

    # the live data moved on after the backup: a restore that went ahead would lose this
    factory.resident(nik="3576034101900099", name="WARGA BARU")
    db.session.commit()
    (Path(app.config["UPLOAD_DIR"]) / "baru.txt").write_text("setelah cadangan")
    before = _snapshot(app)

    result = runner.invoke(args=["backup", "restore", "--yes", str(bad)])
    assert result.exit_code != 0
    assert message in result.output and "Tidak ada yang diubah." in result.output, result.output
    assert "Pemulihan selesai" not in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Resident.id)).where(Resident.nik == "3576034101900099")) == 1
    assert _snapshot(app) == before
    assert not list(Path(app.config["BACKUP_DIR"]).glob(".restore-*"))
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "backup.restore")) == 0


def test_backup_list_shows_archives_and_check_flags_a_corrupted_one(app, desk):
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["backup", "list"])
    assert empty.exit_code == 0 and "Belum ada arsip" in empty.output
    good = _create(runner)
    bad = good.with_name("sempelmas-20200101-000000-000.tar.gz")
    repack(good, bad, edit=lambda n, d: d + b"x" if n == "pki/ca.pem" else d)
    listing = runner.invoke(args=["backup", "list"])
    assert listing.exit_code == 0, listing.output
    assert good.name in listing.output and bad.name in listing.output and "berkas" in listing.output
    checked = runner.invoke(args=["backup", "list", "--check"])
    assert checked.exit_code == 1
    lines = {line.split()[0]: line for line in checked.output.splitlines()}
    assert "utuh" in lines[good.name] and "RUSAK" in lines[bad.name] and "pki/ca.pem" in lines[bad.name]


def _at(minute: int) -> datetime:
    return datetime(2026, 11, 28, 1, minute, 0, tzinfo=UTC)


def test_old_archives_beyond_the_retention_count_are_deleted_after_a_successful_backup(app, desk):
    app.config["BACKUP_KEEP"] = 2
    folder = Path(app.config["BACKUP_DIR"])
    folder.mkdir(parents=True)
    (folder / "manual-copy.tar.gz").write_bytes(b"kept by hand")
    made = [backup.create_backup(now=_at(m)) for m in (1, 2, 3)]
    assert made[2].pruned == [made[0].path.name]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["manual-copy.tar.gz", made[1].path.name, made[2].path.name])
    last = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "backup.create")
                              .order_by(AuditEntry.id.desc())).first()
    assert last.details["pruned"] == [made[0].path.name]


def test_a_failed_backup_leaves_no_archive_and_keeps_the_old_ones(app, desk, monkeypatch):
    app.config["BACKUP_KEEP"] = 1
    first = backup.create_backup(now=_at(1))
    real = backup._hash_file

    def lying(path):  # the file seems to change between the manifest and the archive
        size, digest = real(path)
        return (size, "0" * 64) if path.name == "ca.pem" else (size, digest)

    monkeypatch.setattr(backup, "_hash_file", lying)
    result = app.test_cli_runner().invoke(args=["backup", "create"])
    assert result.exit_code != 0 and "berubah selama pencadangan" in result.output
    assert [p.name for p in Path(app.config["BACKUP_DIR"]).iterdir()] == [first.path.name]
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "backup.create")) == 1


def test_each_archive_is_copied_to_a_local_target_which_keeps_its_own_count(app, desk, tmp_path):
    offsite = tmp_path / "usb-disk" / "sempelmas"
    app.config.update(BACKUP_COPY_TARGET=str(offsite), BACKUP_COPY_KEEP=1, BACKUP_KEEP=3)
    first = backup.create_backup(now=_at(1))
    second = backup.create_backup(now=_at(2))
    assert [p.name for p in offsite.iterdir()] == [second.path.name]
    copy = offsite / second.path.name
    assert copy.read_bytes() == second.path.read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert second.copy_pruned == [first.path.name] and first.path.exists()  # the local count is separate
    backup.verify(copy)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "backup.create")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.details["copied_to"] == str(offsite) and entry.details["copy_pruned"] == [first.path.name]


@pytest.mark.parametrize("target, remote", [
    ("backup@nas.jagalan.lan:/srv/cadangan", True), ("nas:/srv/cadangan", True), ("/mnt/usb/cadangan", False),
    ("./cadangan", False), ("cadangan", False),
])
def test_remote_targets_are_told_from_local_folders(target, remote):
    assert backup.is_remote(target) is remote


def test_a_remote_target_gets_the_archive_by_rsync_over_ssh_and_is_pruned_there(app, desk, monkeypatch):
    app.config.update(BACKUP_COPY_TARGET="backup@nas.jagalan.lan:/srv/cadangan sempelmas", BACKUP_COPY_KEEP=1,
                      BACKUP_SSH_COMMAND="ssh -i /etc/sempelmas/backup_key -o BatchMode=yes")
    calls = []
    remote = ["sempelmas-20261126-010000-000.tar.gz", "sempelmas-20261127-010000-000.tar.gz",
              "sempelmas-20261128-010100-000.tar.gz", "catatan.txt"]

    def fake_run(cmd, **kw):
        calls.append(cmd)
        if cmd[0] == "rsync":  # when rsync is installed, the same options copy to a local folder for real
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.CompletedProcess(cmd, 0, "\n".join(remote) + "\n" if "ls -1" in cmd[-1] else "", "")

    monkeypatch.setattr(backup, "run_command", fake_run)
    made = backup.create_backup(now=_at(1))
    ssh = ["ssh", "-i", "/etc/sempelmas/backup_key", "-o", "BatchMode=yes", "backup@nas.jagalan.lan"]
    assert calls == [
        ["rsync", "--archive", "--partial-dir=.rsync-partial", "--chmod=F600",
         "-e", "ssh -i /etc/sempelmas/backup_key -o BatchMode=yes", str(made.path),
         "backup@nas.jagalan.lan:/srv/cadangan sempelmas/"],
        [*ssh, "cd -- '/srv/cadangan sempelmas' && ls -1"],
        [*ssh, "cd -- '/srv/cadangan sempelmas' && rm -f -- sempelmas-20261126-010000-000.tar.gz "
               "sempelmas-20261127-010000-000.tar.gz"],
    ]
    assert made.copy_pruned == remote[:2]


def test_a_failed_copy_is_reported_and_the_local_archive_stays(app, desk, monkeypatch):
    app.config.update(BACKUP_COPY_TARGET="backup@nas:/srv/cadangan")
    monkeypatch.setattr(backup, "run_command", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 255, "", "ssh: connect to host nas port 22: No route to host"))
    result = app.test_cli_runner().invoke(args=["backup", "create"])
    assert result.exit_code != 0 and "No route to host" in result.output and "Cadangan dibuat" in result.output
    assert len(backup.archives(Path(app.config["BACKUP_DIR"]))) == 1
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "backup.create"))
    assert "No route to host" in entry.details["copy_error"] and entry.details["copied_to"] is None


@pytest.mark.skipif(not shutil.which("rsync"), reason="rsync not installed (Debian package rsync)")
def test_the_rsync_command_copies_for_real_to_a_local_path(app, desk, tmp_path):
    made = backup.create_backup(now=_at(1))
    dest = tmp_path / "rsync-target"
    dest.mkdir()
    cmd = backup.rsync_command(made.path, str(dest))
    subprocess.run(cmd, check=True, timeout=60)
    assert (dest / made.path.name).read_bytes() == made.path.read_bytes()
    assert stat.S_IMODE((dest / made.path.name).stat().st_mode) == 0o600


def test_a_restore_replaces_the_whole_database_even_tables_added_since(app, desk):
    from sqlalchemy import inspect, text

    made = backup.create_backup(now=_at(1))
    db.session.execute(text("CREATE TABLE tambahan_baru (id INTEGER PRIMARY KEY)"))
    db.session.commit()
    backup.restore(made.path)
    db.session.remove()
    assert "tambahan_baru" not in inspect(db.engine).get_table_names()
    assert "letters" in inspect(db.engine).get_table_names()


def test_backup_dir_inside_a_backed_up_folder_is_refused(app, desk):
    app.config["BACKUP_DIR"] = str(Path(app.config["UPLOAD_DIR"]) / "cadangan")
    result = app.test_cli_runner().invoke(args=["backup", "create"])
    assert result.exit_code != 0 and "tidak boleh berada di dalam UPLOAD_DIR" in result.output
    assert not (Path(app.config["UPLOAD_DIR"]) / "cadangan").exists()
