"""The loop both background workers run (``flask worker``, ``flask notify-worker``): rounds of work, and a
growing wait after a round that failed.

A round that raises (the database locked past its busy timeout, a PostgreSQL server restarting, a bug) is logged,
its session rolled back, and the next round waits 1 s, 2 s, 4 s … ``max_backoff`` (±20 % jitter, so workers that
failed together do not all retry at the same moment); the first round that succeeds resets the wait. A worker
therefore outlives an outage without hammering the database or filling its log, and is back at work within
``max_backoff`` of the database's return. ``stop`` ends the loop between rounds (tests; in production a signal
ends the process).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, OperationalError

from sempelmas.extensions import db
from sempelmas.services.operations import heartbeat

log = logging.getLogger(__name__)


def is_transient(error: BaseException) -> bool:
    """A database error that passes: a write lock held past the busy timeout, a dropped connection."""
    return isinstance(error, OperationalError) or (isinstance(error, DBAPIError) and error.connection_invalidated)


def backoff_seconds(failures: int, max_backoff: float) -> float:
    """The wait after ``failures`` failed rounds in a row (1-based): 1 s, 2 s, 4 s … at most ``max_backoff``."""
    return min(max_backoff, 2.0 ** (max(failures, 1) - 1)) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter


def run_rounds(name: str, one_round: Callable[[], float], *, stop: threading.Event | None = None,
               max_backoff: float = 60.0) -> None:
    """Run ``one_round`` until ``stop`` is set. It returns how long to wait before the next round (0: at once);
    when it raises, the next round waits ``backoff_seconds`` instead (the loop itself never ends on an error)."""
    stop = stop or threading.Event()
    failures = 0
    while not stop.is_set():
        try:
            wait = one_round()
        except Exception as e:  # noqa: BLE001 - the loop must outlive a database outage
            with contextlib.suppress(Exception):  # the connection may be gone: the next round gets another
                db.session.rollback()
            failures += 1
            delay = backoff_seconds(failures, max_backoff)
            if is_transient(e):
                log.warning("%s: database busy or away (%s); next try in %.1f s", name, type(e).__name__, delay)
            else:
                log.exception("%s: round failed; next try in %.1f s", name, delay)
            stop.wait(delay)
            continue
        failures = 0
        heartbeat.beat(name)  # `flask doctor` reads it: this process is alive and its rounds succeed
        if wait > 0:
            stop.wait(wait)
