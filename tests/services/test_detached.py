"""When detached work may fork (services/operations/detached.py): only with no other thread at the fork. The rate
limiter's memory:// store arms a short ``threading.Timer`` after every hit; those are waited for, any other
thread still means a thread."""

from __future__ import annotations

import os
import signal
import threading

import pytest
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


def test_a_stop_arriving_during_a_step_is_raised_once_the_step_is_whole():
    """A batch's letter is signed (or rolled back) whole: SIGTERM during it stops the batch right after it."""
    steps = []
    previous = signal.signal(signal.SIGTERM, detached._stop)
    try:
        with pytest.raises(detached.Stopped):
            with detached.stop_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("the rest of the letter")  # not interrupted
            steps.append("the next letter")  # never reached
    finally:
        signal.signal(signal.SIGTERM, previous)
        detached._stopping.clear()
    assert steps == ["the rest of the letter"]
