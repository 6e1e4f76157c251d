"""Backups: one archive (tar.gz) with a consistent copy of the database, the uploads, the signed letters and the
PKI folder, plus a manifest of checksums; restore checks every checksum before it changes anything.

Layout of an archive::

    manifest.json                 first member: created_at, alembic revision, app version, database kind,
                                  audit anchor, and path + size + sha256 of every other member
    database/sempelmas.sqlite3    SQLite: a copy made with the online backup API (consistent while the app runs)
    database/sempelmas.pgdump     PostgreSQL: ``pg_dump --format=custom`` (one snapshot transaction)
    uploads/…  letters/…  pki/…   UPLOAD_DIR, LETTER_DIR, PKI_DIR

``letters/`` holds exactly the letters of the database copy: the stored names are read from the copy itself
(SQLite) or in the snapshot ``pg_dump`` dumps (an exported snapshot), each taken under its final name (one a
process killed after its commit left pending is published first). A file without a row there (a letter signed
while the archive is written, an orphan of a crash while signing) is not a letter of that database and is left
out: restored, it would be a validly signed PDF whose number the restored counter hands out again. ``uploads/``
likewise holds, of each kind of upload (services/files/upload_store.py), the files named by the rows of the copy: a
file stored while the archive is written, or one a crash left without its row, is personal data no record
names, which a restore would bring back beyond the reach of retention and erasure. Register files count as
uploads: only those of an import still waiting (a preview not yet applied) are taken, none done with; other
folders of UPLOAD_DIR (put there by hand) are taken whole. The manifest also records the audit chain's last
entry in that copy (``audit_anchor``, ``<seq>:<hash>``), an anchor for ``flask audit-verify --anchor`` kept
wherever the archive goes. Archives hold keys and personal data: mode 0600, written to a temporary name and
renamed when complete, so a crash never leaves a half archive that looks whole.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import tomllib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sempelmas.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
#: archive folder name → config key of the folder it holds
FOLDERS = {"uploads": "UPLOAD_DIR", "letters": "LETTER_DIR", "pki": "PKI_DIR"}
SQLITE_MEMBER = "database/sempelmas.sqlite3"
PG_MEMBER = "database/sempelmas.pgdump"
#: only archives this module wrote are ever pruned (a copy kept by hand under another name stays)
ARCHIVE_RE = re.compile(r"^sempelmas-\d{8}-\d{6}-\d{3}\.tar\.gz$")
REMOTE_RE = re.compile(r"^(?:[^@/\s:]+@)?[^@/\s:]+:.+$")
CHUNK = 1024 * 1024

#: how the copy to a remote target runs rsync and ssh (tests replace it to see the commands built)
run_command: Callable[..., subprocess.CompletedProcess] = subprocess.run


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the operator (Indonesian)."""


@dataclass
class Manifest:
    created_at: str
    database: str
    alembic_revision: str | None
    app_version: str
    files: dict[str, dict] = field(default_factory=dict)  # path → {"size", "sha256"}
    #: "<seq>:<entry_hash>" of the audit log's last entry in the database copy (None: empty log, older archive)
    audit_anchor: str | None = None

    def as_json(self) -> bytes:
        return json.dumps({"format": FORMAT, "created_at": self.created_at, "database": self.database,
                           "alembic_revision": self.alembic_revision, "app_version": self.app_version,
                           "audit_anchor": self.audit_anchor,
                           "files": [{"path": p, **v} for p, v in sorted(self.files.items())]},
                          indent=1, ensure_ascii=False).encode()

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise BackupError(f"Versi manifest {raw.get('format')!r} tidak dikenal.")
            files = {}
            for f in raw["files"]:
                if not isinstance(f["size"], int) or not re.fullmatch(r"[0-9a-f]{64}", f["sha256"]):
                    raise ValueError
                files[_safe_member(f["path"])] = {"size": f["size"], "sha256": f["sha256"]}
            return cls(created_at=str(raw["created_at"]), database=str(raw["database"]),
                       alembic_revision=raw.get("alembic_revision"), app_version=str(raw.get("app_version", "")),
                       files=files, audit_anchor=_anchor_or_none(raw.get("audit_anchor")))
        except BackupError:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise BackupError("Manifest cadangan rusak atau tidak dapat dibaca.") from e


def _anchor_or_none(value) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9]+:[0-9a-f]{64}", value) else None


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


# --------------------------------------------------------------------------- helpers

def backup_dir() -> Path:
    path = Path(current_app.config["BACKUP_DIR"])
    for key in FOLDERS.values():
        folder = Path(current_app.config[key]).resolve()
        if path.resolve() == folder or folder in path.resolve().parents:
            # archives would be backed up into each other and swapped away by a restore
            raise BackupError(f"BACKUP_DIR ({path}) tidak boleh berada di dalam {key} ({folder}).")
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def database_kind() -> str:
    return "postgresql" if db.engine.url.get_backend_name() == "postgresql" else "sqlite"


def app_version() -> str:
    try:
        with open(Path(current_app.root_path).parent / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "?"


def alembic_revision() -> str | None:
    try:
        return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # no alembic table (a database built by tests); the manifest says so with null
        db.session.rollback()
        return None


def _safe_member(name: str) -> str:
    """A member path that stays inside the restore folder: relative, no '..', under a known top folder."""
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts)
            or (name != MANIFEST and parts[0] not in (*FOLDERS, "database"))):
        raise BackupError(f"Arsip berisi jalur yang tidak diizinkan: {name!r}.")
    return name


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


def _pg_args(url) -> tuple[list[str], dict]:
    """libpq connection options for pg_dump/pg_restore from the SQLAlchemy URL; the password goes in the
    environment (never on a command line other users can read)."""
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    args += ["--dbname", url.database or ""]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- create

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
        args, env = _pg_args(url)
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
    now = now or _now()
    out_dir = backup_dir()
    name = f"sempelmas-{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}.tar.gz"
    final = out_dir / name
    if final.exists():
        raise BackupError(f"Arsip {name} sudah ada.")
    manifest = Manifest(created_at=now.isoformat(timespec="seconds"), database=database_kind(),
                        alembic_revision=alembic_revision(), app_version=app_version())
    _sweep_letters()  # also ends our transaction: none holds the database while it is copied
    _sweep_uploads()

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
    _fsync_dir(out_dir)

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


def _sweep_letters() -> None:
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


def _sweep_uploads() -> None:
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


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def archives(folder: Path) -> list[Path]:
    """This module's archives in a folder, oldest first (the name sorts by time)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if ARCHIVE_RE.match(p.name) and p.is_file())


def prune(folder: Path, keep: int) -> list[str]:
    """Delete the oldest archives beyond ``keep`` (0 = keep all); returns the names deleted."""
    found = archives(folder)
    if keep <= 0 or len(found) <= keep:
        return []
    gone = found[: len(found) - keep]
    for p in gone:
        p.unlink()
    return [p.name for p in gone]


# --------------------------------------------------------------------------- off-machine copy

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
    _fsync_dir(dest_dir)
    return prune(dest_dir, keep)


# --------------------------------------------------------------------------- read and check

def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r|gz")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BackupError(f"Arsip {path.name} rusak atau bukan arsip cadangan SemPelMas.") from e


def read_manifest(path: Path) -> Manifest:
    """The manifest (first member) without reading the rest of the archive."""
    tar = _open(path)
    try:
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            raise BackupError(f"Arsip {path.name} tidak berisi manifest; bukan arsip cadangan SemPelMas.")
        return Manifest.parse(tar.extractfile(first).read())
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise BackupError(f"Arsip {path.name} rusak atau bukan arsip cadangan SemPelMas.") from e
    finally:
        tar.close()


def _walk(path: Path, manifest: Manifest, sink: Callable[[str, tarfile.TarInfo, Iterator[bytes]], None]) -> None:
    """Stream every member after the manifest through its checksum; ``sink`` consumes the chunks.

    Raises BackupError on a member that is not in the manifest, a wrong size or hash, a missing member, a link
    or device, or a broken archive."""
    tar = _open(path)
    seen: set[str] = set()
    try:
        for index, info in enumerate(tar):
            if index == 0:
                if info.name != MANIFEST:
                    raise BackupError(f"Arsip {path.name} tidak berisi manifest; bukan arsip cadangan SemPelMas.")
                continue
            name = _safe_member(info.name)
            if not info.isfile():
                raise BackupError(f"Arsip berisi {name!r} yang bukan berkas biasa; arsip ditolak.")
            expected = manifest.files.get(name)
            if expected is None:
                raise BackupError(f"Berkas {name} tidak tercatat di manifest: arsip telah diubah.")
            if name in seen:
                raise BackupError(f"Berkas {name} muncul dua kali: arsip telah diubah.")
            seen.add(name)
            f = tar.extractfile(info)
            sha = hashlib.sha256()
            count = 0

            def chunks(f=f, sha=sha):
                nonlocal count
                while chunk := f.read(CHUNK):
                    sha.update(chunk)
                    count += len(chunk)
                    yield chunk

            sink(name, info, chunks())
            for _rest in chunks():  # a sink that stopped early still has the whole member hashed
                pass
            if count != expected["size"] or sha.hexdigest() != expected["sha256"]:
                raise BackupError(f"Checksum berkas {name} tidak cocok dengan manifest: arsip rusak atau telah "
                                  "diubah. Tidak ada yang dipulihkan.")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise BackupError(f"Arsip {path.name} rusak (terpotong atau tidak dapat dibaca). "
                          "Tidak ada yang dipulihkan.") from e
    finally:
        tar.close()
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise BackupError(f"Berkas {missing[0]} tercatat di manifest tetapi tidak ada di arsip "
                          f"({len(missing)} hilang): arsip tidak lengkap. Tidak ada yang dipulihkan.")


def verify(path: Path) -> Manifest:
    """Check every checksum of an archive without changing anything; returns its manifest."""
    manifest = read_manifest(path)
    if not any(n.startswith("database/") for n in manifest.files):
        raise BackupError("Manifest tidak mencantumkan salinan basis data.")

    def discard(_name, _info, chunks):
        for _c in chunks:
            pass

    _walk(path, manifest, discard)
    return manifest


# --------------------------------------------------------------------------- restore

def restore(path: Path) -> Manifest:
    """Replace the database and the folders with an archive's content, after checking every checksum.

    A refused archive (corrupted, tampered, another database kind) changes nothing. The archive is extracted into
    staging folders beside the targets and checked again while extracting; only then is the database restored
    and each folder swapped in by renaming."""
    manifest = verify(path)
    kind = database_kind()
    if manifest.database != kind:
        raise BackupError(f"Arsip berisi basis data {manifest.database}, tetapi aplikasi memakai {kind}. "
                          "Pulihkan ke jenis basis data yang sama.")

    stamp = f"{_now():%Y%m%d%H%M%S%f}"
    staging = {top: Path(current_app.config[key]).with_name(
        Path(current_app.config[key]).name + f".restore-{stamp}") for top, key in FOLDERS.items()}
    with tempfile.TemporaryDirectory(dir=backup_dir(), prefix=".restore-") as work:
        dump = Path(work) / "database"
        try:
            for d in staging.values():
                d.mkdir(parents=True, mode=0o700)

            def extract(name, info, chunks):
                top, _, rest = name.partition("/")
                dest = dump if top == "database" else staging[top] / rest
                dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, (info.mode & 0o700) or 0o600)
                with os.fdopen(fd, "wb") as out:
                    for c in chunks:
                        out.write(c)
                # the file's own time, not the restore's: the upload sweep's grace period counts from it
                os.utime(dest, (info.mtime, info.mtime))

            _walk(path, manifest, extract)  # checked again: the archive may have changed since verify()
            _restore_database(dump)
        except BaseException:
            for d in staging.values():
                shutil.rmtree(d, ignore_errors=True)
            raise

    for top, key in FOLDERS.items():
        target = Path(current_app.config[key])
        old = target.with_name(target.name + f".old-{stamp}")
        if target.exists():
            os.replace(target, old)
        os.replace(staging[top], target)
        shutil.rmtree(old, ignore_errors=True)

    from sempelmas.services.accountability import audit

    audit.record("backup.restore", None, object_type="backup", object_id=path.name,
                 created_at=manifest.created_at, files=len(manifest.files), revision=manifest.alembic_revision)
    db.session.commit()
    # an archive written before letters/ and uploads/ followed the database copy may carry orphans of crashes
    _sweep_letters()
    _sweep_uploads()
    return manifest


def _restore_database(dump: Path) -> None:
    db.session.remove()
    db.engine.dispose()  # no pooled connection holds a lock or an old view of the tables
    url = db.engine.url
    if database_kind() == "postgresql":
        _restore_postgresql(dump, url)
        return
    src = sqlite3.connect(dump)
    try:
        if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError("Salinan basis data SQLite di arsip rusak (integrity_check gagal).")
        dst = sqlite3.connect(make_url(str(url)).database,
                              timeout=current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
        try:
            # page by page into the live file under its write lock: running workers see the restored data
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _tool(cmd: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)  # noqa: S603
    except FileNotFoundError as e:
        raise BackupError(f"{cmd[0]} tidak terpasang (paket Debian postgresql-client).") from e


def _restore_postgresql(dump: Path, url) -> None:
    """The dump becomes SQL (pg_restore, no connection), then one psql transaction empties the schema and runs
    it: all or nothing, and tables a newer schema added do not survive beside the restored ones."""
    script = dump.with_suffix(".sql")
    done = _tool(["pg_restore", "--no-owner", "--no-privileges", "--file", str(script), str(dump)])
    if done.returncode != 0:
        raise BackupError(f"pg_restore gagal; basis data tidak diubah: {done.stderr.strip()[:500]}")
    args, env = _pg_args(url)
    done = _tool(["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1", *args,
                  # a running app holding locks makes this fail after 30 s instead of waiting for ever
                  "--command", "SET lock_timeout = '30s'",
                  "--command", "DROP SCHEMA public CASCADE",
                  "--command", "CREATE SCHEMA public",
                  "--file", str(script)], env)
    if done.returncode != 0:
        raise BackupError("Pemulihan PostgreSQL gagal; basis data tidak diubah (hentikan aplikasi lalu ulangi): "
                          f"{done.stderr.strip()[:500]}")
