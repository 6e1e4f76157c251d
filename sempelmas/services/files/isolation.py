"""Running a parser of untrusted input with a time and memory budget: a forked child with rlimits.

Why a fork of the running worker and not a fresh interpreter: the child starts with pyHanko, pypdf and
the app already imported, so an ordinary check pays ~2-5 ms for the fork instead of the ~1 s an interpreter
needs to import them (bench/bench_hostile_files.py prints both costs). Why it is safe here:

- the child never touches the database, the session or anything it inherited: the function it runs gets
  plain bytes and gives back plain data;
- it freezes the garbage collector's view of everything inherited (``gc.freeze``), so no inherited object
  (a pooled PostgreSQL connection, an SQLite handle) is ever finalised in the child, which could otherwise
  send the server a goodbye on the parent's connection;
- it leaves with ``os._exit``: no atexit hooks (the scan counter's flush), no buffered output written twice;
- gunicorn's sync workers run one request at a time in one thread; under a threaded development server the
  child holds only the forking thread, and a lock left held by another thread can at worst stall the child,
  which the wall-clock limit then kills;
- its answer comes back as JSON through a pipe, never pickle: nothing the child writes can run code in the
  worker.

Limits: RLIMIT_AS (address space: what the child already maps plus ``memory_bytes``), RLIMIT_CPU (a backstop
that also ends a child whose parent died) and a wall-clock deadline after which the parent kills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import select
import signal
import time
from collections.abc import Callable

#: signals a gunicorn worker or a development server handles itself: the child gets the defaults back
_RESET_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGCHLD",
                  "SIGALRM", "SIGABRT", "SIGTTIN", "SIGTTOU")
_MAX_ANSWER = 1024 * 1024


class BudgetExceeded(Exception):
    """The work was stopped: ``reason`` is "time" or "memory" (or "crash" when the child died otherwise)."""

    def __init__(self, reason: str, elapsed: float):
        super().__init__(f"{reason} budget exceeded after {elapsed:.2f} s")
        self.reason = reason
        self.elapsed = elapsed


def available() -> bool:
    return hasattr(os, "fork")


def _vm_size() -> int:
    """The child's current address space (VmSize), the base its memory budget is added to."""
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _lower(which: int, soft: int, hard: int) -> None:
    """Set a limit, never above the one the service manager already set (LimitAS= in a systemd unit)."""
    _soft, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    resource.setrlimit(which, (soft, hard))


def _child(fn: Callable, args: tuple, write_fd: int, cpu_seconds: int, wall_seconds: float,
           memory_bytes: int) -> None:
    gc.freeze()  # inherited objects are the parent's: never collect (finalise) them here
    for name in _RESET_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    asyncio.events._set_running_loop(None)  # a loop running in the parent's thread is not running here
    signal.alarm(max(1, math.ceil(wall_seconds)) + 1)  # ends the child even if the parent is gone
    _lower(resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1)
    if memory_bytes:
        limit = _vm_size() + memory_bytes
        _lower(resource.RLIMIT_AS, limit, limit)
    try:
        answer = {"ok": fn(*args)}
    except MemoryError:
        answer = {"exceeded": "memory"}
    except RecursionError:
        answer = {"error": "RecursionError"}
    body = json.dumps(answer, default=str).encode()
    if len(body) > _MAX_ANSWER:
        body = b'{"error": "answer too large"}'
    view = memoryview(body)
    while view:
        view = view[os.write(write_fd, view):]


def run_isolated(fn: Callable, *args, wall_seconds: float, memory_bytes: int) -> object:
    """``fn(*args)`` in a forked child: its JSON-able return value, or BudgetExceeded.

    Rules: at most ``wall_seconds`` of wall-clock time (and as many CPU seconds, rounded up), at most
    ``memory_bytes`` of address space beyond what the child inherits. An exception inside ``fn`` other than
    running out of memory comes back as BudgetExceeded("crash") — the caller answers "cannot be checked"."""
    if not available():  # pragma: no cover - Linux always forks; elsewhere run it in-process
        return fn(*args)
    read_fd, write_fd = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: nothing here may return into the caller's code
        status = 0
        try:
            os.close(read_fd)
            _child(fn, args, write_fd, max(1, math.ceil(wall_seconds)), wall_seconds, memory_bytes)
        except BaseException:  # noqa: BLE001 - whatever happened, the parent reads "no answer"
            status = 70
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks: list[bytes] = []
    received = 0
    exceeded = None
    answered = False
    try:
        deadline = started + wall_seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                exceeded = "time"
                break
            ready, _w, _x = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 65536)
            if not chunk:
                answered = True
                break
            received += len(chunk)
            if received > _MAX_ANSWER:
                exceeded = "crash"
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not answered:  # over budget, or the worker itself is being stopped: the child goes too
            with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
                os.kill(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
    elapsed = time.monotonic() - started
    if exceeded is not None:
        raise BudgetExceeded(exceeded, elapsed)
    if os.WIFSIGNALED(status):
        # SIGXCPU/SIGKILL from RLIMIT_CPU, SIGALRM: time; SIGSEGV and the like: a crash
        sig = os.WTERMSIG(status)
        raise BudgetExceeded("time" if sig in (signal.SIGXCPU, signal.SIGKILL, signal.SIGALRM) else "crash",
                             elapsed)
    try:
        answer = json.loads(b"".join(chunks))
    except ValueError:
        raise BudgetExceeded("crash", elapsed) from None
    if "ok" in answer:
        return answer["ok"]
    raise BudgetExceeded(answer.get("exceeded", "crash"), elapsed)
