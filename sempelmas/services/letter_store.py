"""Where signed letters live: ``LETTER_DIR`` (default ``instance/letters``), one file per letter under a
random name, and the random verification codes of the QR URLs."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

#: 15 random bytes = 120 bits, 20 URL-safe characters (the contract asks for at least 80 bits)
CODE_BYTES = 15


def letter_dir() -> Path:
    return Path(current_app.config["LETTER_DIR"])


def new_verify_code() -> str:
    """A random code for /v/<code>: from ``secrets`` (never sequential, never derived from the number)."""
    return secrets.token_urlsafe(CODE_BYTES)


def save_pdf(data: bytes) -> str:
    """Store a signed PDF under a new random name (written to a temp file, then renamed); returns the name."""
    folder = letter_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + ".pdf"
    tmp = folder / (name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / name)
    return name


def path_of(letter) -> Path:
    """The stored PDF of a letter (a bare file name: no path from the database can leave LETTER_DIR)."""
    return letter_dir() / Path(letter.stored_name).name


def read_pdf(letter) -> bytes:
    return path_of(letter).read_bytes()


def delete_pdf(stored_name: str) -> None:
    """Remove a stored file (only for a signing transaction that rolled back: letters are never deleted)."""
    (letter_dir() / Path(stored_name).name).unlink(missing_ok=True)
