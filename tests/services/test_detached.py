"""When detached work may fork (services/operations/detached.py): only with no other thread at the fork. The rate
limiter's memory:// store arms a short ``threading.Timer`` after every hit; those are waited for, any other
thread still means a thread."""

from __future__ import annotations

import threading

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from sempelmas.services.operations import detached


def others() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t is not threading.current_thread()]


def test_the_memory_stores_timer_threads_are_waited_for():
    assert not others(), f"the test process has threads already: {others()}"
    limiter = FixedWindowRateLimiter(MemoryStorage())
    assert limiter.hit(parse("5 per minute"), "login", "127.0.0.1")
    assert any(isinstance(t, threading.Timer) for t in others())  # the store's sweep, armed by the hit
    assert detached.forkable()
    assert not others()


def test_another_thread_or_a_long_timer_means_no_fork(monkeypatch):
    monkeypatch.setattr(detached, "TIMER_WAIT_SECONDS", 0.05)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, name="someone-elses")
    worker.start()
    try:
        assert not detached.forkable()
    finally:
        stop.set()
        worker.join()
    timer = threading.Timer(30, lambda: None)
    timer.start()
    try:
        assert not detached.forkable()
    finally:
        timer.cancel()
        timer.join()
    assert detached.forkable()
