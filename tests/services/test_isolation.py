"""The budgeted child that parses untrusted files: its answer, its limits, and a parent left intact."""

from __future__ import annotations

import gc
import os
import time

import pytest
from sqlalchemy import select, text

from sempelmas.extensions import db
from sempelmas.models.accounts import User
from sempelmas.services.files import isolation


def _double(x):
    return {"twice": x * 2, "pid": os.getpid()}


def _grab(mb):
    blocks = [bytearray(1024 * 1024) for _ in range(mb)]
    return len(blocks)


def _spin(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


def _fail():
    raise ValueError("parser bug")


def _collect_everything():
    gc.collect()  # whatever the parent left for the collector must not be finalised here
    return gc.isenabled()


def test_the_child_answers_in_another_process():
    answer = isolation.run_isolated(_double, 21, wall_seconds=5, memory_bytes=64 * 1024 * 1024)
    assert answer["twice"] == 42 and answer["pid"] != os.getpid()


def test_memory_beyond_the_budget_stops_the_child_not_the_worker():
    with pytest.raises(isolation.BudgetExceeded) as stopped:
        isolation.run_isolated(_grab, 512, wall_seconds=10, memory_bytes=64 * 1024 * 1024)
    assert stopped.value.reason == "memory"
    assert isolation.run_isolated(_grab, 8, wall_seconds=10, memory_bytes=64 * 1024 * 1024) == 8


def test_time_beyond_the_budget_is_stopped_at_the_deadline():
    started = time.monotonic()
    with pytest.raises(isolation.BudgetExceeded) as stopped:
        isolation.run_isolated(_spin, 30, wall_seconds=0.5, memory_bytes=64 * 1024 * 1024)
    assert stopped.value.reason == "time"
    assert time.monotonic() - started < 5


def test_a_parser_crash_is_an_answer_not_an_exception_of_the_worker():
    with pytest.raises(isolation.BudgetExceeded) as stopped:
        isolation.run_isolated(_fail, wall_seconds=5, memory_bytes=64 * 1024 * 1024)
    assert stopped.value.reason == "crash"


def test_the_parents_pooled_database_connection_survives_the_child(app, factory):
    """The child inherits the pooled connection (PostgreSQL socket or SQLite handle) and must leave it alone:
    the same connection serves the parent afterwards, also after the child ran the garbage collector."""
    user = factory.warga()
    db.session.commit()
    connection = db.session.connection()
    before = connection.execute(text("SELECT 1")).scalar()
    for _ in range(3):
        assert isolation.run_isolated(_collect_everything, wall_seconds=5, memory_bytes=64 * 1024 * 1024)
    assert db.session.connection() is connection
    assert connection.execute(text("SELECT 1")).scalar() == before == 1
    assert db.session.scalar(select(User.id).where(User.id == user.id)) == user.id
    db.session.commit()
