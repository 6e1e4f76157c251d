"""The loop both background workers run (``flask worker``, ``flask notify-worker``): rounds of work, and a
growing wait after a round that failed.

A round that raises (the database locked past its busy timeout, a PostgreSQL server restarting, a bug) is logged,
its session rolled back, and the next round waits 1 s, 2 s, 4 s … ``max_backoff`` (±20 % jitter, so workers that
failed together do not all retry at the same moment); the first round that succeeds resets the wait. A worker
therefore outlives an outage without hammering the database or filling its log, and is back at work within
``max_backoff`` of the database's return. ``stop`` ends the loop between rounds (tests; in production a signal
ends the process).

``run_together`` runs several such loops in one thread, each round when its own wait is over (``flask background``:
the job worker and the notifier in one process, ~100 MB less per deployment, issue 17). One thread, not one per
loop: a job may fork (services/files/isolation.py, detached.py), which is only safe from a single-threaded
process. The price: a long round of one (a register import, a slow gateway) delays the other's next round.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
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
    run_together({name: one_round}, stop=stop, max_backoff=max_backoff)


def run_together(rounds: dict[str, Callable[[], float]], *, stop: threading.Event | None = None,
                 max_backoff: float = 60.0) -> None:
    """Run each named round until ``stop`` is set, in this thread, each when its own wait (or backoff) is over;
    a round that raises delays only its own loop."""
    stop = stop or threading.Event()
    failures = dict.fromkeys(rounds, 0)
    due = dict.fromkeys(rounds, 0.0)
    while not stop.is_set():
        for name, one_round in rounds.items():
            if stop.is_set() or time.monotonic() < due[name]:
                continue
            try:
                wait = one_round()
            except Exception as e:  # noqa: BLE001 - the loop must outlive a database outage
                with contextlib.suppress(Exception):  # the connection may be gone: the next round gets another
                    db.session.rollback()
                failures[name] += 1
                wait = backoff_seconds(failures[name], max_backoff)
                if is_transient(e):
                    log.warning("%s: database busy or away (%s); next try in %.1f s", name, type(e).__name__, wait)
                else:
                    log.exception("%s: round failed; next try in %.1f s", name, wait)
            else:
                failures[name] = 0
                heartbeat.beat(name)  # `flask doctor` reads it: this loop is alive and its rounds succeed
            due[name] = time.monotonic() + max(0.0, wait)
        stop.wait(max(0.0, min(due.values()) - time.monotonic()))
