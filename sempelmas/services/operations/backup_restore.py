"""Restoring a backup archive (the layout is in ``backup``): every checksum checked before anything changes,
the database restored, each folder swapped in by renaming, then the stores swept of what the archive's
database does not name.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import make_url

from sempelmas.extensions import db
from sempelmas.services.operations.backup import (
    FOLDERS,
    BackupError,
    Manifest,
    backup_dir,
    database_kind,
    pg_args,
    utc_now,
    verify,
    walk,
)
from sempelmas.services.operations.backup_create import sweep_letters, sweep_uploads


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

    stamp = f"{utc_now():%Y%m%d%H%M%S%f}"
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

            walk(path, manifest, extract)  # checked again: the archive may have changed since verify()
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
    sweep_letters()
    sweep_uploads()
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
    args, env = pg_args(url)
    done = _tool(["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1", *args,
                  # a running app holding locks makes this fail after 30 s instead of waiting for ever
                  "--command", "SET lock_timeout = '30s'",
                  "--command", "DROP SCHEMA public CASCADE",
                  "--command", "CREATE SCHEMA public",
                  "--file", str(script)], env)
    if done.returncode != 0:
        raise BackupError("Pemulihan PostgreSQL gagal; basis data tidak diubah (hentikan aplikasi lalu ulangi): "
                          f"{done.stderr.strip()[:500]}")
