"""Work that outlives the web request starting it, in a process of its own that holds a secret in memory only.

Why not the job queue: the work needs something that must never be stored (a batch's unlocked signing key,
PP 71/2019), and any queue that another process reads is storage. So the request that has the secret starts
the process that uses it, and that process reports through a Job row (services/operations/jobs.py) like any job.

How (``start``), following services/files/isolation.py's rules for forking a gunicorn worker:

- a double fork: the web worker waits only for the first child, which exits at once; the second is
  adopted by init, so nothing is left for the web worker to reap and a worker restart does not end it;
- nothing inherited is used or finalised: ``gc.freeze``; the database pool it inherited is set aside
  (``dispose(close=False)``, kept referenced) and it opens its own connections; the inherited sockets (the
  listening socket, the request's connection, the parent's PostgreSQL connections) are closed at the file
  descriptor level, which sends nothing on them and frees the port when gunicorn restarts; on SQLite the
  parent closes its pooled connections before forking, so no SQLite file is open across the fork (SQLite
  forbids that); it leaves with ``os._exit``;
- it is niced (``nice``) so the web workers keep the CPU when both want it, keeps no core file
  (RLIMIT_CORE 0: a crash never writes the key to disk), and ends after ``max_seconds`` whatever it does;
- SIGTERM, SIGINT, SIGHUP and the alarm raise ``Stopped`` in it, so the step in progress rolls back.

Forking is only safe from a single-threaded process (gunicorn's sync workers, as deployed): another
thread may hold a lock or an open SQLite connection at that moment. Short-lived timer threads (the rate
limiter's ``memory://`` store arms one after a hit) are waited for (``forkable``). In a threaded server (the
development server, the browser tests' live server) the work runs in a thread of that process instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import os
import resource
import signal
import stat
import threading
import time
from collections.abc import Callable

from flask import current_app

from sempelmas.extensions import db

log = logging.getLogger(__name__)

#: signals a gunicorn worker or a development server handles itself: the detached process gets its own
_RESET_SIGNALS = ("SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCHLD", "SIGABRT", "SIGTTIN", "SIGTTOU")
_STOP_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGALRM")
#: the pools set aside in the detached process: referenced until it exits, so none is ever finalised there
_set_aside: list = []


class Stopped(BaseException):  # noqa: N818 - a BaseException like SystemExit: "except Exception" lets it through
    """The detached process was told to stop (or ran out of time): the step in progress must roll back."""


#: how long ``forkable`` waits for timer threads to end before the work runs in a thread instead
TIMER_WAIT_SECONDS = 1.0


def forkable() -> bool:
    """Whether this process may fork the work: only when the calling thread is its only one (see above).

    Timer threads are waited for first. The rate limiter's ``memory://`` store (the ``limits`` library's
    MemoryStorage) re-arms a 10 ms ``threading.Timer`` after a hit to sweep expired counters, so a gunicorn
    sync worker that has just counted a login or a scan may have one alive for a moment. Such a timer holds
    only the store's own locks, which the forked child never uses; but rather than rely on what a library's
    thread holds, the fork waits until it has ended (within milliseconds), so the rule stays exact. A timer
    still running after TIMER_WAIT_SECONDS (someone else's, longer) means a thread, as any other thread does."""
    if not hasattr(os, "fork"):
        return False
    deadline = time.monotonic() + TIMER_WAIT_SECONDS
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer) and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return threading.active_count() == 1


def start(fn: Callable, *args, nice: int = 10, max_seconds: int = 1800) -> str:
    """Run ``fn(*args)`` inside an app context, detached from the current request; returns "process" (a
    process of its own, see the module docstring) or "thread" (a threaded server). Call it after the
    request committed what ``fn`` reads."""
    app = current_app._get_current_object()
    if not forkable():
        # expected under a threaded server; under gunicorn's sync workers it means something started a thread
        log.warning("detached work runs in a thread of this process: other threads are running (%s)",
                    ", ".join(t.name for t in threading.enumerate() if t is not threading.current_thread()))
        threading.Thread(target=_in_thread, args=(app, fn, args), name="detached", daemon=True).start()
        return "thread"
    if db.engine.dialect.name == "sqlite":
        db.engine.dispose()  # the request committed: no connection is checked out, all pooled ones close
    pid = os.fork()
    if pid == 0:  # the first child: fork the worker process and leave at once
        status = 0
        try:
            if os.fork() == 0:
                _detached(app, fn, args, nice, max_seconds)
        except BaseException:  # noqa: BLE001 - whatever happened here must not return into the request
            status = 70
        finally:
            os._exit(status)
    os.waitpid(pid, 0)
    return "process"


def _in_thread(app, fn: Callable, args: tuple) -> None:
    with app.app_context():
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - logged; the job's lease then marks it failed
            log.exception("detached work failed")
        finally:
            db.session.remove()


def _in_app(app, fn: Callable, args: tuple) -> None:
    with app.app_context():
        for engine in db.engines.values():
            _set_aside.append(engine.pool)
            engine.dispose(close=False)
        try:
            fn(*args)
        except Stopped:
            log.warning("detached work stopped")
        except Exception:  # noqa: BLE001 - logged; the job's lease then marks it failed
            log.exception("detached work failed")


#: set by the stop signal's handler: the work checks it between steps, so a Stopped that some library swallowed
#: (an "except BaseException" or a thread pool inside pyHanko's event loop) still stops it
_stopping = threading.Event()


def _stop(signum, frame) -> None:
    _stopping.set()
    raise Stopped(signal.Signals(signum).name)


def stop_requested() -> bool:
    """Whether this (detached) process was told to stop."""
    return _stopping.is_set()


def raise_if_stopped() -> None:
    if _stopping.is_set():
        raise Stopped("stop requested")


@contextlib.contextmanager
def stop_deferred():
    """A step that is finished or rolled back whole: a stop signal arriving inside is delivered as it ends.
    Raised in the middle of a library (pyHanko's event loop while it signs and embeds validation data), the stop
    could be swallowed or leave the process hung with the database's write lock held."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    stops = {getattr(signal, name) for name in _STOP_SIGNALS}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a pending stop is raised here, between steps


def _close_inherited_sockets() -> None:
    """Close every inherited socket at the descriptor level (no shutdown: the parent's copies stay usable)."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:  # pragma: no cover - not Linux
        return
    for fd in fds:
        if fd < 3:
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)


def _detached(app, fn: Callable, args: tuple, nice: int, max_seconds: int) -> None:
    gc.freeze()  # inherited objects are the parent's: never collect (finalise) them here
    for name in _RESET_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    for name in _STOP_SIGNALS:
        signal.signal(getattr(signal, name), _stop)
    asyncio.events._set_running_loop(None)  # a loop running in the parent's thread is not running here
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _close_inherited_sockets()
    with contextlib.suppress(OSError):
        os.nice(nice)
    signal.alarm(max(1, int(max_seconds)))
    # an empty context: the request being answered in the parent is not this process's request
    contextvars.Context().run(_in_app, app, fn, args)
