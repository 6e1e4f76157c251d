"""Writing a backup archive (the layout is in ``backup``): a consistent copy of the database, the letters and
uploads its rows name, the other folders, a manifest of checksums; kept ``BACKUP_KEEP`` deep, and copied
off the machine (a local folder, or rsync over ssh) when ``BACKUP_COPY_TARGET`` is set.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app

from sempelmas.extensions import db
from sempelmas.services.files.disk import fsync_dir
from sempelmas.services.operations.backup import (
    ARCHIVE_RE,
    CHUNK,
    FOLDERS,
    MANIFEST,
    PG_MEMBER,
    SQLITE_MEMBER,
    BackupError,
    Manifest,
    alembic_revision,
    app_version,
    archives,
    backup_dir,
    database_kind,
    pg_args,
    utc_now,
)

REMOTE_RE = re.compile(r"^(?:[^@/\s:]+@)?[^@/\s:]+:.+$")

#: how the copy to a remote target runs rsync and ssh (tests replace it to see the commands built)
run_command: Callable[..., subprocess.CompletedProcess] = subprocess.run


@dataclass
class DatabaseCopy:
    """What the archive's database copy holds that the rest of the archive follows."""

    member: str
    #: the stored names of its letters: the only files ``letters/`` takes
    letter_names: set[str]
    audit_anchor: str | None
    #: per kind of upload, the stored names its rows hold: the only files of those folders ``uploads/`` takes
    upload_names: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class CreateResult:
    path: Path
    manifest: Manifest
    size: int
    pruned: list[str]
    copied_to: str | None = None
    copy_pruned: list[str] = field(default_factory=list)


class _HashingReader(io.RawIOBase):
    """Reads a file for tarfile while hashing what was read."""

    def __init__(self, f):
        self.f, self.sha, self.n = f, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(size)
        self.sha.update(data)
        self.n += len(data)
        return data


def _hash_file(path: Path) -> tuple[int, str]:
    sha, n = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
            n += len(chunk)
    return n, sha.hexdigest()


def _folder_files(root: Path) -> Iterator[Path]:
    """Regular files under root, sorted; symbolic links are not followed (nothing outside the folder)."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                yield p


_LETTER_NAMES_SQL = "SELECT stored_name FROM letters"

_LAST_AUDIT_SQL = "SELECT seq, entry_hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"


def _copy_facts(query: Callable[[str], list], member: str) -> DatabaseCopy:
    """The letters' and the uploads' stored names and the audit anchor, read from the database copy through
    ``query``."""
    from sempelmas.services.files import upload_store

    names = {row[0] for row in query(_LETTER_NAMES_SQL)}
    last = query(_LAST_AUDIT_SQL)
    return DatabaseCopy(member, names, f"{last[0][0]}:{last[0][1]}" if last else None,
                        upload_store.named_files(query))


def _dump_database(dest: Path) -> DatabaseCopy:
    """Write a consistent copy of the database to dest, and read from that same moment what follows it."""
    url = db.engine.url
    if database_kind() == "postgresql":
        args, env = pg_args(url)
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # pg_dump dumps this transaction's snapshot; the letters and the anchor are read in it too
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
                try:
                    done = subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",  # noqa: S603, S607
                                           f"--snapshot={snapshot}", "--file", str(dest), *args],
                                          env=env, capture_output=True, text=True, timeout=3600)
                except FileNotFoundError as e:
                    raise BackupError("pg_dump tidak terpasang (paket Debian postgresql-client).") from e
                if done.returncode != 0:
                    raise BackupError(f"pg_dump gagal: {done.stderr.strip()[:500]}")
                return _copy_facts(lambda sql: conn.exec_driver_sql(sql).all(), PG_MEMBER)
    if not url.database or url.database == ":memory:":
        raise BackupError("Basis data SQLite di memori tidak dapat dicadangkan.")
    src = sqlite3.connect(url.database, timeout=current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
    dst = sqlite3.connect(dest)
    try:
        # one step: the whole copy is read under one read lock, so it is one moment of the database
        src.backup(dst)
        return _copy_facts(lambda sql: dst.execute(sql).fetchall(), SQLITE_MEMBER)
    finally:
        dst.close()
        src.close()


def _letter_members(names: set[str]) -> list[tuple[str, Path]]:
    """The files of the copy's letters, each under ``letters/<stored name>`` (one still pending is published:
    its row is in the copy, so it committed)."""
    from sempelmas.services.letters import store as letter_store

    out = []
    for name in sorted(names):
        path = letter_store.published_path(name)
        if path.is_file() and not path.is_symlink():
            out.append((f"letters/{path.name}", path))
    return out


def _upload_members(named: dict[str, set[str]]) -> list[tuple[str, Path]]:
    """UPLOAD_DIR's files under ``uploads/…``: of each kind of upload only those the copy's rows name (anything
    else in those folders is no record's upload); other folders whole."""
    root = Path(current_app.config["UPLOAD_DIR"])
    out = []
    for path in _folder_files(root):
        rel = path.relative_to(root)
        kind = rel.parts[0] if len(rel.parts) > 1 else None
        if kind in named and (len(rel.parts) != 2 or rel.parts[1] not in named[kind]):
            continue
        out.append((f"uploads/{rel.as_posix()}", path))
    return out


def create_backup(*, now: datetime | None = None) -> CreateResult:
    """Write one archive into BACKUP_DIR, prune old archives beyond BACKUP_KEEP, copy it to BACKUP_COPY_TARGET.

    Audited as ``backup.create`` (committed). Nothing is left behind when it fails before the rename."""
    now = now or utc_now()
    out_dir = backup_dir()
    name = f"sempelmas-{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}.tar.gz"
    final = out_dir / name
    if final.exists():
        raise BackupError(f"Arsip {name} sudah ada.")
    manifest = Manifest(created_at=now.isoformat(timespec="seconds"), database=database_kind(),
                        alembic_revision=alembic_revision(), app_version=app_version())
    sweep_letters()  # also ends our transaction: none holds the database while it is copied
    sweep_uploads()

    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".work-") as work:
        dump = Path(work) / "database"
        copy = _dump_database(dump)
        manifest.audit_anchor = copy.audit_anchor
        members: list[tuple[str, Path]] = [(copy.member, dump)]
        for top, key in FOLDERS.items():
            if top == "letters":
                members += _letter_members(copy.letter_names)
                continue
            if top == "uploads":
                members += _upload_members(copy.upload_names)
                continue
            root = Path(current_app.config[key])
            members += [(f"{top}/{p.relative_to(root).as_posix()}", p) for p in _folder_files(root)]
        for arcname, path in members:
            size, digest = _hash_file(path)
            manifest.files[arcname] = {"size": size, "sha256": digest}

        tmp = out_dir / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw:
                # gzip level 1: photos and PDFs are compressed already (higher levels cost 3-4x the time for ~nothing;
                # the database still shrinks several-fold)
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1, format=tarfile.PAX_FORMAT) as tar:
                    data = manifest.as_json()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mtime, info.mode = len(data), int(now.timestamp()), 0o600
                    tar.addfile(info, io.BytesIO(data))
                    for arcname, path in members:
                        _add_checked(tar, arcname, path, manifest.files[arcname])
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    fsync_dir(out_dir)

    result = CreateResult(path=final, manifest=manifest, size=final.stat().st_size,
                          pruned=prune(out_dir, current_app.config["BACKUP_KEEP"]))
    target = current_app.config.get("BACKUP_COPY_TARGET")
    copy_error = None
    if target:
        keep = current_app.config.get("BACKUP_COPY_KEEP")
        keep = current_app.config["BACKUP_KEEP"] if keep is None else keep
        try:
            result.copy_pruned = copy_to_target(final, target, keep)
            result.copied_to = target
        except (BackupError, OSError) as e:
            copy_error = str(e)

    from sempelmas.services.accountability import audit

    audit.record("backup.create", None, object_type="backup", object_id=name, size=result.size,
                 files=len(manifest.files), database=manifest.database, revision=manifest.alembic_revision,
                 pruned=result.pruned, copied_to=result.copied_to, copy_pruned=result.copy_pruned,
                 copy_error=copy_error, audit_anchor=manifest.audit_anchor)
    db.session.commit()
    if copy_error:
        # the archive is good and kept; the operator (or the systemd unit's failure) must still hear of it
        raise BackupError(f"Cadangan dibuat ({final}), tetapi penyalinan ke {target} gagal: {copy_error}")
    return result


def sweep_letters() -> None:
    """letter_store.sweep before a backup or after a restore: committed letters published, orphans deleted. A
    sweep that cannot run (a database a restore left at an older revision) waits for the worker's start or
    ``flask doctor``; the archive takes only the copy's letters either way."""
    from sqlalchemy.exc import SQLAlchemyError

    from sempelmas.services.letters import store as letter_store

    try:
        letter_store.sweep()
    except (SQLAlchemyError, OSError):
        db.session.rollback()
        current_app.logger.warning("letter files not swept; run `flask doctor`", exc_info=True)


def sweep_uploads() -> None:
    """upload_store.sweep before a backup or after a restore: uploads no record names deleted once past the grace
    period. One that cannot run waits for the worker's start or ``flask doctor``; the archive takes only the
    uploads of its database copy either way."""
    from sqlalchemy.exc import SQLAlchemyError

    from sempelmas.services.files import upload_store

    try:
        upload_store.sweep()
    except (SQLAlchemyError, OSError):
        db.session.rollback()
        current_app.logger.warning("upload files not swept; run `flask doctor`", exc_info=True)


def _add_checked(tar: tarfile.TarFile, arcname: str, path: Path, expected: dict) -> None:
    """Add one file, refusing it if it changed since it was hashed for the manifest."""
    info = tarfile.TarInfo(arcname)
    st = path.stat()
    info.size, info.mtime, info.mode = expected["size"], int(st.st_mtime), st.st_mode & 0o700 or 0o600
    with open(path, "rb") as f:
        reader = _HashingReader(f)
        try:
            tar.addfile(info, reader)
        except OSError as e:  # tarfile: "unexpected end of data" when the file shrank
            raise BackupError(f"Berkas {arcname} berubah selama pencadangan; ulangi pencadangan.") from e
        if reader.sha.hexdigest() != expected["sha256"] or f.read(1):
            raise BackupError(f"Berkas {arcname} berubah selama pencadangan; ulangi pencadangan.")



def prune(folder: Path, keep: int) -> list[str]:
    """Delete the oldest archives beyond ``keep`` (0 = keep all); returns the names deleted."""
    found = archives(folder)
    if keep <= 0 or len(found) <= keep:
        return []
    gone = found[: len(found) - keep]
    for p in gone:
        p.unlink()
    return [p.name for p in gone]


def is_remote(target: str) -> bool:
    """``user@host:/path`` (rsync over SSH) rather than a local folder."""
    return not target.startswith(("/", ".")) and bool(REMOTE_RE.match(target))


def rsync_command(archive: Path, target: str) -> list[str]:
    """Copy one archive to user@host:/path: rsync writes to a temporary name and renames, keeps mode 0600."""
    return ["rsync", "--archive", "--partial-dir=.rsync-partial", "--chmod=F600",
            "-e", current_app.config["BACKUP_SSH_COMMAND"], str(archive), target.rstrip("/") + "/"]


def remote_list_command(target: str) -> list[str]:
    host, path = target.split(":", 1)
    script = f"cd -- {shlex.quote(path)} && ls -1"
    return [*shlex.split(current_app.config["BACKUP_SSH_COMMAND"]), host, script]


def remote_delete_command(target: str, names: list[str]) -> list[str]:
    host, path = target.split(":", 1)
    script = f"cd -- {shlex.quote(path)} && rm -f -- " + " ".join(shlex.quote(n) for n in names)
    return [*shlex.split(current_app.config["BACKUP_SSH_COMMAND"]), host, script]


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        done = run_command(cmd, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as e:
        raise BackupError(f"{what} gagal: program {cmd[0]!r} tidak terpasang.") from e
    if done.returncode != 0:
        raise BackupError(f"{what} gagal (kode {done.returncode}): {(done.stderr or '').strip()[:500]}")
    return done


def copy_to_target(archive: Path, target: str, keep: int) -> list[str]:
    """Copy the archive off the machine, then prune the target's own old archives; returns names pruned there."""
    if is_remote(target):
        _run(rsync_command(archive, target), "Salin ke " + target)
        if keep <= 0:
            return []
        listed = _run(remote_list_command(target), "Daftar arsip di " + target).stdout.split()
        names = sorted(n for n in listed if ARCHIVE_RE.match(n))
        gone = names[: max(0, len(names) - keep)]
        if gone:
            _run(remote_delete_command(target, gone), "Hapus arsip lama di " + target)
        return gone
    dest_dir = Path(target)
    dest_dir.mkdir(parents=True, exist_ok=True)
    tmp = dest_dir / f".{archive.name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out, open(archive, "rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest_dir / archive.name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dest_dir)
    return prune(dest_dir, keep)
