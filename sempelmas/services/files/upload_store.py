"""Which row names each stored upload, and the sweep that deletes the files no row names.

UPLOAD_DIR/<kind>/<random name>: a KTP photo, a request document (draft or not), a complaint photo, a
correction's evidence photo, each named by one row, or a register file an import reads, named by its jobs while
it is needed (``OWNERS``). A file is written before its row and kept only if the row's transaction commits
(uploads.store_file); the files a committed change lets go (an erasure, the purge of abandoned drafts, a replaced
draft, retention, an import applied, failed or expired) are deleted just after that commit. A process killed in
either gap leaves a file no row names: personal data (UU PDP) that nothing serves, since every download goes
through a row, but that backups would carry and retention, which works from rows, would never delete.
``sweep`` deletes those files (the worker's start, ``flask doctor``, ``flask backup create`` and restore), and a
backup takes only the uploads named by the rows of its own database copy (services/operations/backup.py).

A grace period, not a lock (letter_store.sweep holds the signers' lock instead): uploads are not numbered, so
their writers share no lock a sweep could wait for, and making every form with a file take one would put each
upload behind the sweep. A file no row names may still be in a transaction that is about to commit it; that
transaction is bounded: a web request by the server's timeout (gunicorn kills a worker after ``--timeout``
seconds, tens of seconds), and between the first file and the commit a form spends at most the checks of
UPLOAD_MAX_FILES files and a busy wait. UPLOAD_ORPHAN_GRACE_SECONDS (an hour by default) is far above that, so a
file older than it that no committed row names can no longer gain one: it is deleted. A younger one is left for
a later sweep (counted). The folder is listed before the rows are read, so a row committed in between protects
its file. The cost: an orphan lives up to the grace period plus the time to the next sweep, during which no
backup carries it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from sempelmas.extensions import db
from sempelmas.models.accounts import Registration
from sempelmas.models.complaints import Complaint
from sempelmas.models.data_rights import DataRightsRequest
from sempelmas.models.jobs import Job
from sempelmas.models.questions import RequestMessage
from sempelmas.models.registration_uploads import RegistrationUpload
from sempelmas.models.requests import RequestAttachment
from sempelmas.services.accountability import audit
from sempelmas.services.files.uploads import (
    COMPLAINT_PHOTOS,
    CORRECTION_EVIDENCE,
    DOCUMENTS,
    IMPORTS,
    KTP,
    KTP_PENDING,
    QUESTION_PHOTOS,
)

#: kind (folder) → the column naming its files, and when a row no longer names one
OWNERS = {
    KTP: (Registration.ktp_photo, Registration.ktp_photo.is_not(None)),
    # held across a refused registration; expired rows go with their files (registration_uploads.purge_expired)
    KTP_PENDING: (RegistrationUpload.stored_name, RegistrationUpload.stored_name.is_not(None)),
    # a purged attachment keeps its row for the record; its file was deleted under the retention policy
    DOCUMENTS: (RequestAttachment.stored_name, RequestAttachment.purged_at.is_(None)),
    COMPLAINT_PHOTOS: (Complaint.photo, Complaint.photo.is_not(None)),
    QUESTION_PHOTOS: (RequestMessage.photo, RequestMessage.photo.is_not(None)),
    CORRECTION_EVIDENCE: (DataRightsRequest.evidence_photo, DataRightsRequest.evidence_photo.is_not(None)),
    # cleared on every job of an import once its file is done with (services/jobs.release_file)
    IMPORTS: (Job.import_file, Job.import_file.is_not(None)),
}

#: what uploads.save_image, attachments.store and register_jobs.start_preview name a file (token_hex /
#: token_urlsafe); anything else in a kind's folder is not the app's and is left alone
_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(?:jpg|pdf)$")
_NAMES = {IMPORTS: re.compile(r"^[0-9a-f]{24}\.(?:csv|xlsx)$")}


def owner_sql() -> dict[str, str]:
    """Per kind, one SELECT of the names its rows hold (plain SQL that SQLite and PostgreSQL both run: a backup
    reads it from its database copy through a bare connection)."""
    out = {}
    for kind, (column, named) in OWNERS.items():
        out[kind] = str(select(column).where(named).compile(compile_kwargs={"literal_binds": True}))
    return out


def named_files(query: Callable[[str], list]) -> dict[str, set[str]]:
    """Per kind, the stored names the rows hold, read through ``query`` (sql → rows)."""
    return {kind: {row[0] for row in query(sql)} for kind, sql in owner_sql().items()}


@dataclass
class UploadSweep:
    """What a sweep found and did in UPLOAD_DIR (counts per kind: the names say nothing, the files are personal)."""

    #: files no committed row names, older than the grace period: deleted
    removed: dict[str, int] = field(default_factory=dict)
    removed_bytes: int = 0
    #: files no row names yet, younger than the grace period: left (a transaction may be about to commit them)
    young: dict[str, int] = field(default_factory=dict)
    #: rows naming a file that is not there (restore it from a backup)
    missing: dict[str, int] = field(default_factory=dict)
    #: paths under UPLOAD_DIR that are no upload of a known kind (files put there by hand): left alone, counted
    #: per top folder
    others: dict[str, int] = field(default_factory=dict)

    @property
    def removed_count(self) -> int:
        return sum(self.removed.values())


def _bump(counts: dict[str, int], key: str, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def _listing(root: Path, result: UploadSweep) -> dict[str, list[os.DirEntry]]:
    """The regular files of each kind's folder; everything else is counted in ``result.others``."""
    out: dict[str, list[os.DirEntry]] = {kind: [] for kind in OWNERS}
    if not root.is_dir():
        return out
    for top in os.scandir(root):
        if top.name in OWNERS and top.is_dir(follow_symlinks=False):
            for entry in os.scandir(top.path):
                if entry.is_file(follow_symlinks=False) and _NAMES.get(top.name, _NAME).match(entry.name):
                    out[top.name].append(entry)
                else:
                    _bump(result.others, top.name)
        else:
            _bump(result.others, top.name)
    return out


def sweep(*, grace_seconds: float | None = None, now: float | None = None, audit_it: bool = True) -> UploadSweep:
    """Delete the uploads no committed row names once they are older than the grace period; commits.

    Rules: a file named by a row is never touched, whatever its age; a file of a known kind that no row names
    is deleted when older than UPLOAD_ORPHAN_GRACE_SECONDS (``grace_seconds``), else counted and left; other
    files and folders are left alone. Audited as ``upload.files_swept`` with the counts per kind and the bytes
    (no names) when it deleted anything; the entry commits before the files go."""
    grace = current_app.config["UPLOAD_ORPHAN_GRACE_SECONDS"] if grace_seconds is None else grace_seconds
    root = Path(current_app.config["UPLOAD_DIR"])
    result = UploadSweep()
    db.session.rollback()  # nothing of the caller's is committed with the audit entry
    listing = _listing(root, result)  # the folders first: a row committed after this protects its file
    clock = time.time() if now is None else now
    try:
        named = named_files(lambda sql: db.session.execute(text(sql)).all())
    finally:
        db.session.rollback()
    doomed: list[Path] = []
    for kind, entries in listing.items():
        for entry in entries:
            if entry.name in named[kind]:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted meanwhile by whoever let it go
            if clock - st.st_mtime < grace:
                _bump(result.young, kind)
            else:
                doomed.append(Path(entry.path))
                _bump(result.removed, kind)
                result.removed_bytes += st.st_size
    for kind, names in named.items():
        listed = {entry.name for entry in listing[kind]}
        # a file stored after the listing whose row then committed is there: looked up, not counted
        lost = sum(1 for name in names - listed if not (root / kind / Path(name).name).is_file())
        if lost:
            result.missing[kind] = lost
    if audit_it and doomed:
        audit.record("upload.files_swept", None, object_type="upload_store", object_id="uploads",
                     removed=result.removed_count, by_kind=dict(sorted(result.removed.items())),
                     bytes=result.removed_bytes, grace_seconds=int(grace))
        db.session.commit()
    for path in doomed:
        path.unlink(missing_ok=True)
    for folder in {p.parent for p in doomed}:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return result


def sweep_at_start() -> UploadSweep | None:
    """``sweep`` for a process starting up (the worker): logged, and never a reason not to start."""
    try:
        result = sweep()
    except (SQLAlchemyError, OSError):
        db.session.rollback()
        current_app.logger.exception("upload files not swept at start; `flask doctor` does it")
        return None
    if result.removed or result.missing:
        current_app.logger.warning(
            "upload files: %d without a record removed (%s), %d records without their file (%s)",
            result.removed_count, _per_kind(result.removed), sum(result.missing.values()),
            _per_kind(result.missing))
    return result


def _per_kind(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "-"
