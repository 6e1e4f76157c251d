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

This module holds the format and reading and checking an archive (``read_manifest``, ``verify``); writing one
is ``backup_create``, restoring one ``backup_restore``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import tomllib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import text

from sempelmas.extensions import db

FORMAT = 1

MANIFEST = "manifest.json"

#: archive folder name → config key of the folder it holds
FOLDERS = {"uploads": "UPLOAD_DIR", "letters": "LETTER_DIR", "pki": "PKI_DIR"}

SQLITE_MEMBER = "database/sempelmas.sqlite3"

PG_MEMBER = "database/sempelmas.pgdump"

#: only archives this module wrote are ever pruned (a copy kept by hand under another name stays)
ARCHIVE_RE = re.compile(r"^sempelmas-\d{8}-\d{6}-\d{3}\.tar\.gz$")

CHUNK = 1024 * 1024


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
                files[safe_member(f["path"])] = {"size": f["size"], "sha256": f["sha256"]}
            return cls(created_at=str(raw["created_at"]), database=str(raw["database"]),
                       alembic_revision=raw.get("alembic_revision"), app_version=str(raw.get("app_version", "")),
                       files=files, audit_anchor=_anchor_or_none(raw.get("audit_anchor")))
        except BackupError:
            raise
        except (ValueError, KeyError, TypeError) as e:
            raise BackupError("Manifest cadangan rusak atau tidak dapat dibaca.") from e


def _anchor_or_none(value) -> str | None:
    return value if isinstance(value, str) and re.fullmatch(r"[0-9]+:[0-9a-f]{64}", value) else None


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


def safe_member(name: str) -> str:
    """A member path that stays inside the restore folder: relative, no '..', under a known top folder."""
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts)
            or (name != MANIFEST and parts[0] not in (*FOLDERS, "database"))):
        raise BackupError(f"Arsip berisi jalur yang tidak diizinkan: {name!r}.")
    return name


def pg_args(url) -> tuple[list[str], dict]:
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


def utc_now() -> datetime:
    return datetime.now(UTC)


def archives(folder: Path) -> list[Path]:
    """This module's archives in a folder, oldest first (the name sorts by time)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if ARCHIVE_RE.match(p.name) and p.is_file())


def open_archive(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r|gz")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise BackupError(f"Arsip {path.name} rusak atau bukan arsip cadangan SemPelMas.") from e


def read_manifest(path: Path) -> Manifest:
    """The manifest (first member) without reading the rest of the archive."""
    tar = open_archive(path)
    try:
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            raise BackupError(f"Arsip {path.name} tidak berisi manifest; bukan arsip cadangan SemPelMas.")
        return Manifest.parse(tar.extractfile(first).read())
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise BackupError(f"Arsip {path.name} rusak atau bukan arsip cadangan SemPelMas.") from e
    finally:
        tar.close()


def walk(path: Path, manifest: Manifest, sink: Callable[[str, tarfile.TarInfo, Iterator[bytes]], None]) -> None:
    """Stream every member after the manifest through its checksum; ``sink`` consumes the chunks.

    Raises BackupError on a member that is not in the manifest, a wrong size or hash, a missing member, a link
    or device, or a broken archive."""
    tar = open_archive(path)
    seen: set[str] = set()
    try:
        for index, info in enumerate(tar):
            if index == 0:
                if info.name != MANIFEST:
                    raise BackupError(f"Arsip {path.name} tidak berisi manifest; bukan arsip cadangan SemPelMas.")
                continue
            name = safe_member(info.name)
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

    walk(path, manifest, discard)
    return manifest
