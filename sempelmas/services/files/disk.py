"""Making a file's name durable: a rename or a new file survives a power cut only once its folder is fsynced."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """fsync ``folder`` itself, so the names it holds (a rename, a new file) are on the disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
