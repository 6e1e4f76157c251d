"""The background workers' "still alive" mark: a file per worker under ``<instance>/run/`` whose modification
time the worker's loop refreshes after each round that succeeded (at most every ``EVERY_SECONDS``).

A job's own heartbeat (``jobs.Heartbeat``, a column of its row) says a job is still running; this one says the
process that takes up jobs and sends messages is: ``flask doctor`` reads it (services/operations/doctor.py). A
file, not a row: one ``utime`` per round costs nothing, writes nothing the database must lock, and a worker
whose rounds fail (the database away) stops refreshing it, which is what the doctor should see.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app

#: the loop's names (worker_loop.run_rounds) the doctor watches
WORKER = "worker"
NOTIFIER = "notify worker"
EVERY_SECONDS = 5.0

_last: dict[str, float] = {}


def path(name: str) -> Path:
    """The heartbeat file of the loop called ``name`` (e.g. ``instance/run/notify-worker.alive``)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return Path(current_app.instance_path) / "run" / f"{slug}.alive"


def beat(name: str, *, force: bool = False) -> None:
    """Mark the loop ``name`` alive now (skipped when marked less than EVERY_SECONDS ago, unless ``force``).
    Never raises: a read-only instance folder must not stop the work (the doctor reports the stale mark)."""
    try:
        file = path(name)
    except RuntimeError:  # no app context (a loop run outside a command): nothing to mark
        return
    now = time.monotonic()
    if not force and now - _last.get(str(file), -EVERY_SECONDS) < EVERY_SECONDS:
        return
    _last[str(file)] = now
    with contextlib.suppress(OSError):
        file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        file.touch(mode=0o600)
        os.utime(file)


def last_beat(name: str) -> datetime | None:
    """When the loop ``name`` last marked itself alive (UTC), or None when it never has here."""
    try:
        return datetime.fromtimestamp(path(name).stat().st_mtime, UTC)
    except OSError:
        return None
