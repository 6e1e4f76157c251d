"""One background process for jobs and notifications (``flask background``, issue 17): the loops run together in
one thread, each on its own wait and its own backoff."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.jobs import JobStatus
from sempelmas.models.notifications import OutboxMessage, OutboxStatus
from sempelmas.services.operations import delivery, jobs, worker_loop
from tests.notify_helpers import make_people
from tests.request_factory import submit
from tests.services.test_delivery import http_gateway
from tests.services.test_jobs import ROWS, queue_apply, reload, residents


def run_for(rounds: dict, seconds: float, **kw) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=worker_loop.run_together, args=(rounds,), kwargs={"stop": stop, **kw},
                              daemon=True)
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive(), "the loop did not end when told to"


def test_each_loop_runs_on_its_own_wait():
    calls = {"fast": 0, "slow": 0}

    def fast():
        calls["fast"] += 1
        return 0.05

    def slow():
        calls["slow"] += 1
        return 10.0

    run_for({"fast": fast, "slow": slow}, 0.6)
    assert calls["slow"] == 1
    assert calls["fast"] >= 6


def test_a_failing_loop_backs_off_and_does_not_hold_up_the_other():
    calls = {"ok": 0, "broken": 0}

    def ok():
        calls["ok"] += 1
        return 0.05

    def broken():
        calls["broken"] += 1
        raise RuntimeError("a bug")

    run_for({"broken": broken, "ok": ok}, 1.2, max_backoff=60.0)
    assert calls["broken"] == 2  # at once, then after ~1 s: not every poll
    assert calls["ok"] >= 10


@pytest.fixture
def people(app, factory):
    return make_people(factory)


def test_one_background_process_runs_the_jobs_and_delivers_the_messages(app, tmp_path, people):
    """What ``flask background`` runs: the worker's and the notifier's rounds, together, on the real queue and
    outbox (a real register import job, a real message to a local gateway)."""
    with http_gateway() as (url, received):
        app.config.update(NOTIFY_GATEWAY_URL=url)
        before = residents()  # the applicant is one
        job = queue_apply(tmp_path).id
        submit(people["applicant"])
        db.session.commit()
        db.session.remove()
        stop, died = threading.Event(), []

        def run():
            with app.app_context():
                try:
                    worker_loop.run_together({"worker": jobs.worker_round(0.05),
                                              "notify worker": delivery.notify_round(0.05)}, stop=stop)
                except BaseException as e:  # noqa: BLE001 - the test reports it
                    died.append(e)
                finally:
                    db.session.remove()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (received and reload(job).status == JobStatus.DONE):
                time.sleep(0.1)
            time.sleep(0.3)  # the message's outcome recorded
        finally:
            stop.set()
            thread.join(timeout=10)
        assert died == []
        assert reload(job).status == JobStatus.DONE and residents() == before + ROWS
        assert len(received) == 1
        db.session.rollback()
        assert db.session.scalars(select(OutboxMessage.status)).all() == [OutboxStatus.SENT]
