"""Where signed letters live: ``LETTER_DIR`` (default ``instance/letters``), one file per letter under a
random name, and the random verification codes of the QR URLs.

A letter's file exists under its final name (``<random>.pdf``, the ``stored_name`` of its row) only once the
transaction that inserted the row has committed, so a process killed while signing never leaves a validly signed
PDF that looks issued (its number would go to the next letter):

1. ``new_stored_name()``; the Letter row is inserted (flushed) with it;
2. ``stage_pdf(name, data)`` writes and fsyncs ``<name>.pending``;
3. the transaction commits;
4. ``publish_pdf(name)`` renames it to ``<name>``. On a rollback ``discard_pdf(name)`` removes it.

A kill between 2 and 3 leaves a pending file without a row (an orphan); a kill between 3 and 4 leaves a row whose
file is still pending. ``path_of`` finishes step 4 for a row that has one, and ``sweep`` (the worker's start,
``flask doctor``, ``flask backup create`` and restore) finishes it for every row and removes orphans. Nothing
serves, verifies or backs up a file without a committed row: downloads and checks go through a row, and the
backup takes the letters named by the rows of its own database copy.

``sweep`` may remove a pending file without a row only while no signing transaction can be between steps 2
and 3: it holds what every signer holds over those steps (SQLite's write lock, taken by ``BEGIN IMMEDIATE`` before
the number; on PostgreSQL a SHARE lock on ``letters``, which waits for every transaction that inserted a row —
hence the row is flushed before the file is staged)."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from sempelmas.extensions import db
from sempelmas.models.letters import Letter
from sempelmas.services import sequences
from sempelmas.services.accountability import audit
from sempelmas.services.files.disk import fsync_dir

#: 15 random bytes = 120 bits, 20 URL-safe characters (the contract asks for at least 80 bits)
CODE_BYTES = 15
#: a staged letter whose transaction has not committed (or never will)
PENDING = ".pending"
#: what the store before staged writes (save_pdf) left behind when killed between its write and its rename
LEGACY_TMP = ".tmp"


def letter_dir() -> Path:
    return Path(current_app.config["LETTER_DIR"])


def new_verify_code() -> str:
    """A random code for /v/<code>: from ``secrets`` (never sequential, never derived from the number)."""
    return secrets.token_urlsafe(CODE_BYTES)


def new_stored_name() -> str:
    """A random file name for a new letter (the row's ``stored_name``)."""
    return secrets.token_hex(16) + ".pdf"


def _final(name: str) -> Path:
    # a bare file name: no path from the database can leave LETTER_DIR
    return letter_dir() / Path(name).name


def _pending(name: str) -> Path:
    return letter_dir() / (Path(name).name + PENDING)



def stage_pdf(name: str, data: bytes) -> Path:
    """Write a signed PDF under its pending name (fsynced); call after the row is flushed, before the commit."""
    folder = letter_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = _pending(name)
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def publish_pdf(name: str) -> bool:
    """Give a committed letter's staged file its final name (durably); True when it is there now.

    Idempotent: a sweep or a reader may have published it already."""
    final, pending = _final(name), _pending(name)
    try:
        os.replace(pending, final)
    except FileNotFoundError:
        return final.exists()
    fsync_dir(final.parent)
    return True


def discard_pdf(name: str) -> None:
    """Remove a staged file whose transaction rolled back (letters that were issued are never deleted)."""
    _pending(name).unlink(missing_ok=True)


def path_of(letter) -> Path:
    """The stored PDF of a (committed) letter."""
    return published_path(letter.stored_name)


def published_path(stored_name: str) -> Path:
    """The final path of a committed letter's PDF; a file left pending by a process killed after the commit is
    published first (only a committed row names it, so it is a letter)."""
    final = _final(stored_name)
    if not final.exists() and _pending(stored_name).exists():
        publish_pdf(stored_name)
    return final


def read_pdf(letter) -> bytes:
    return path_of(letter).read_bytes()


# ------------------------------------------------------------------------------------------- the sweep

#: how long a sweep waits for the signing transactions in flight before it leaves unclaimed pending files
SWEEP_LOCK_WAIT_SECONDS = 5.0
#: an audit entry lists at most this many file names (the counts are always complete)
_LISTED = 50


@dataclass
class SweepResult:
    """What a sweep found and did in LETTER_DIR."""

    #: staged files of committed letters, now under their final name
    published: list[str] = field(default_factory=list)
    #: files no committed letter names (a crash while signing, or a copy from an older backup): deleted
    removed: list[str] = field(default_factory=list)
    #: pending files left alone: the signing transactions in flight could not be waited for
    left_pending: list[str] = field(default_factory=list)
    #: letters whose row names a file that is not there at all (restore it from a backup)
    missing: list[str] = field(default_factory=list)
    #: other files in the folder (not the app's): never served or backed up, left alone
    foreign: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.published or self.removed)


_NAME = re.compile(r"^[A-Za-z0-9_-]{1,60}\.pdf$")


def _classify(filename: str) -> tuple[str, str]:
    """("final" | "pending" | "legacy_tmp" | "foreign", the letter name it stands for)."""
    for suffix, kind in ((PENDING, "pending"), (LEGACY_TMP, "legacy_tmp")):
        if filename.endswith(suffix) and _NAME.match(filename[: -len(suffix)]):
            return kind, filename[: -len(suffix)]
    if _NAME.match(filename):
        return "final", filename
    return "foreign", filename


def sweep(*, wait_seconds: float = SWEEP_LOCK_WAIT_SECONDS, audit_it: bool = True) -> SweepResult:
    """Bring LETTER_DIR in line with the committed letters; commits.

    Rules: a pending file whose row committed is published; a file (final, pending or an old ``.tmp``) that no
    committed row names is deleted — pending ones only while no signing transaction is in flight (see the module
    docstring), else they are left for the next sweep; a row without any file is reported. Audited as
    ``letter.files_swept`` when it published or deleted anything."""
    result = SweepResult()
    folder = letter_dir()
    db.session.rollback()  # nothing of the caller's is held while signers are held off
    quiet = _hold_off_signing(wait_seconds)
    try:
        # the folder first, the rows after: a file published before the listing has its row committed before it
        entries = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        listed = set(entries)
        rows = set(db.session.scalars(select(Letter.stored_name)))
        present = set()
        for filename in entries:
            kind, name = _classify(filename)
            if kind == "foreign":
                result.foreign.append(filename)
            elif name in rows and kind in ("final", "pending"):
                present.add(name)
                if kind == "pending":
                    if name in listed:  # published beside it already: this copy is no letter
                        result.removed.append(filename)
                    else:
                        result.published.append(name)
            elif kind != "pending" or quiet:
                # final: published only after its row committed, so it never had one; an old .tmp was never
                # named by any row; pending: no transaction is between staging and committing now
                result.removed.append(filename)
            else:
                result.left_pending.append(filename)
        result.missing = sorted(rows - present)
        for name in result.published:
            publish_pdf(name)
    finally:
        db.session.rollback()  # the lock released (nothing was written)
    if audit_it and result.changed:
        # in a transaction of its own: holding the lock while waiting for the chain head could deadlock with a
        # revocation, which holds the head and then updates a letter
        audit.record("letter.files_swept", None, object_type="letter_store", object_id="letters",
                     published=len(result.published), removed=len(result.removed),
                     published_names=result.published[:_LISTED], removed_names=result.removed[:_LISTED])
        db.session.commit()
    # decided under the lock: none of these can gain a row now (their transactions are gone)
    for filename in result.removed:
        (folder / filename).unlink(missing_ok=True)
    if result.removed:
        fsync_dir(folder)
    return result


def sweep_at_start() -> SweepResult | None:
    """``sweep`` for a process starting up (the worker): logged, and never a reason not to start."""
    try:
        result = sweep()
    except (SQLAlchemyError, OSError):
        current_app.logger.exception("letter files not swept at start; `flask doctor` does it")
        return None
    if result.changed or result.left_pending or result.missing:
        current_app.logger.warning(
            "letter files: %d published, %d orphans removed, %d pending left, %d letters without a file",
            len(result.published), len(result.removed), len(result.left_pending), len(result.missing))
    return result


def _hold_off_signing(wait_seconds: float) -> bool:
    """Start a transaction in which no signing transaction is between staging its file and committing; False
    (and a plain transaction) when the ones in flight did not finish within ``wait_seconds``."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        usual_ms = raw.execute("PRAGMA busy_timeout").fetchone()[0]
        raw.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        try:
            # the signer's own lock: it takes it before its number and holds it to its commit
            sequences.begin_immediate()
            held = True
        except OperationalError as e:
            if "locked" not in str(e).lower():
                raise
            held = False
        finally:
            raw.execute(f"PRAGMA busy_timeout={usual_ms}")
        if not held:
            db.session.rollback()
        return held
    try:
        db.session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_seconds * 1000)}ms'"))
        # conflicts with the ROW EXCLUSIVE lock a signer takes when it inserts its row (before staging the file):
        # granted once those transactions ended, and it holds new ones off until this one ends
        db.session.execute(text("LOCK TABLE letters IN SHARE MODE"))
        db.session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
        return True
    except OperationalError as e:
        if "lock" not in str(e).lower():
            raise
        db.session.rollback()
        return False
