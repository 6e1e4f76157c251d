"""The job queue and its worker: the work and its "selesai" are one transaction, progress never commits the
work, a job whose process died is taken up again (or failed) after its lease, and the worker outlives a
database that is briefly locked."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.exc import OperationalError

from sempelmas.extensions import db
from sempelmas.models.audit import AuditEntry
from sempelmas.models.base import utcnow
from sempelmas.models.jobs import Job, JobStatus
from sempelmas.models.residents import Resident
from sempelmas.services.kelurahan.demo import make_nik
from sempelmas.services.operations import jobs
from sempelmas.services.people import register_apply
from sempelmas.services.people import register_import as ri
from tests.services.test_register_import import write_csv

ROWS = 12
CHUNK = 5


def register(n: int) -> list[list[str]]:
    """``n`` valid register rows, every one new."""
    rows = []
    for i in range(n):
        birth = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
        rows.append([make_nik(birth, i % 2 == 1, 1000 + i), f"3576031203{150001 + i // 3:06d}", f"WARGA {i}",
                     "Mojokerto", birth.strftime("%d-%m-%Y"), "P" if i % 2 else "L", "Jl. Uji", "1", "1", "Islam",
                     "Kawin", "Wiraswasta", "WNI"])
    return rows


def residents() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Resident))


def imports_audited() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "register.import"))


def queue_apply(tmp_path: Path, n: int = ROWS) -> Job:
    path = write_csv(tmp_path / "register.csv", register(n))
    job = jobs.enqueue("register_apply", {"path": str(path), "filename": "register.csv"})
    db.session.commit()
    return job


def reload(job: Job | int) -> Job:
    job_id = job if isinstance(job, int) else job.id
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(Job, job_id)


# --------------------------------------------------------------------------------- one transaction


def test_an_import_failing_half_way_saves_no_row_and_fails_the_job(app, tmp_path, monkeypatch):
    app.config["IMPORT_CHUNK_SIZE"] = CHUNK  # three chunks: the failure comes after two were written
    job = queue_apply(tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(register_apply.audit, "record", disk_full)  # the last step of the apply, after every chunk
    assert jobs.run_pending() == 1
    assert residents() == 0, "the chunks written before the failure were committed"
    job = reload(job)
    assert job.status == JobStatus.FAILED and "No space left on device" in job.error


def test_progress_reports_never_commit_the_work(app, tmp_path, db_url, monkeypatch):
    app.config["IMPORT_CHUNK_SIZE"] = CHUNK
    job = queue_apply(tmp_path)
    outside = create_engine(db_url)  # what every other process sees while the import runs
    seen = []
    real_report = jobs.report_progress

    def report_and_look(*args, **kwargs):
        written = real_report(*args, **kwargs)
        with outside.connect() as conn:
            seen.append(conn.scalar(text("SELECT count(*) FROM residents")))
        return written

    monkeypatch.setattr(jobs, "report_progress", report_and_look)
    try:
        jobs.run_pending()
    finally:
        outside.dispose()
    assert len(seen) == 3 and seen == [0, 0, 0]  # the three chunks, none of them visible before the end
    assert reload(job).status == JobStatus.DONE and residents() == ROWS and imports_audited() == 1


# --------------------------------------------------------------------------------- killed mid-way


def _worker_killed_after_the_first_chunk(url: str, instance: str, upload_dir: str) -> None:
    """A worker process that dies (SIGKILL, as kill -9 or the OOM killer) as soon as its first chunk is written."""
    from sempelmas import create_app
    from tests.conftest import test_config

    app = create_app(test_config(url, Path(instance), UPLOAD_DIR=upload_dir, IMPORT_CHUNK_SIZE=CHUNK))
    with app.app_context():
        from sempelmas.services.operations import job_kinds

        job_kinds.load()
        real = jobs.HANDLERS["register_apply"]

        def dying(job, report):
            def report_then_die(done, total=None):
                report(done, total)
                os.kill(os.getpid(), signal.SIGKILL)

            return real.fn(job, report_then_die)

        jobs.HANDLERS["register_apply"] = jobs.Kind(dying, real.retry)
        jobs.run_pending()
    os._exit(3)  # never reached: the handler killed this process


def test_an_import_killed_half_way_saves_no_row_and_is_taken_up_again(app, tmp_path, db_url):
    job = queue_apply(tmp_path).id
    db.session.remove()
    db.engine.dispose()  # no connection crosses the fork
    ctx = multiprocessing.get_context("fork")
    worker = ctx.Process(target=_worker_killed_after_the_first_chunk,
                         args=(db_url, str(tmp_path / "worker"), app.config["UPLOAD_DIR"]))
    worker.start()
    worker.join(timeout=120)
    assert worker.exitcode == -signal.SIGKILL
    assert residents() == 0, "the first chunk was committed before the worker died"
    job = reload(job)
    assert job.status == JobStatus.RUNNING and job.attempts == 1  # as the dead worker left it
    # the next worker round sees its process gone (same machine) and runs it again, from the start
    assert jobs.run_pending() == 1
    job = reload(job)
    assert job.status == JobStatus.DONE and job.attempts == 2 and job.result["new"] == ROWS
    assert residents() == ROWS and imports_audited() == 1


def test_a_job_whose_lease_ran_out_is_retried_then_failed_after_the_last_attempt(app, tmp_path):
    """A worker on another machine stopped beating: after JOB_LEASE_SECONDS its job is taken up again; a job
    that died on every attempt fails, and says why."""
    job = queue_apply(tmp_path)
    stale = utcnow() - timedelta(seconds=app.config["JOB_LEASE_SECONDS"] + 1)
    fresh = utcnow()
    for attempts, beat, expected in ((1, fresh, JobStatus.RUNNING), (1, stale, JobStatus.QUEUED),
                                     (app.config["JOB_MAX_ATTEMPTS"], stale, JobStatus.FAILED)):
        db.session.execute(update(Job).where(Job.id == job.id).values(
            status=JobStatus.RUNNING, lease_token="server-lain:4242:00ff00ff", heartbeat_at=beat, attempts=attempts))
        db.session.commit()
        jobs.recover_stale()
        assert reload(job).status == expected
    job = reload(job)
    assert job.error == "Proses berhenti sebelum selesai." and job.lease_token is None
    assert residents() == 0


def test_a_long_step_keeps_its_lease_through_the_heartbeat(app, tmp_path, monkeypatch):
    """A step three leases long (checking a 200,000-row file) is not taken over by another worker meanwhile."""
    app.config.update(JOB_HEARTBEAT_SECONDS=0.1, JOB_LEASE_SECONDS=0.5)
    job = queue_apply(tmp_path)
    real_analyse = ri.analyse
    recovered = []

    def slow_analyse(*args, **kwargs):
        analysis = real_analyse(*args, **kwargs)
        for _ in range(10):  # 1.5 s: another worker's recovery rounds meanwhile
            time.sleep(0.15)
            t = threading.Thread(target=lambda: recovered.append(_recover_in(app)))
            t.start()
            t.join()
        return analysis

    monkeypatch.setattr(ri, "analyse", slow_analyse)
    assert jobs.run_pending() == 1
    assert recovered == [0] * 10
    job = reload(job)
    assert job.status == JobStatus.DONE and job.attempts == 1 and residents() == ROWS


def _recover_in(app) -> int:
    with app.app_context():
        try:
            return jobs.recover_stale()
        finally:
            db.session.remove()


# --------------------------------------------------------------------------------- a locked database


@pytest.fixture
def short_busy_timeout(app):
    """SQLite's busy timeout (10 s in the app) down to 0.2 s for every connection, so a test can hold the write
    lock longer than it without waiting 10 s; PostgreSQL waits for row locks instead (no such error)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("'database is locked' is SQLite's: PostgreSQL waits on row locks")

    def shorten(dbapi_connection, record, proxy):
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    db.engine.dispose()
    event.listen(db.engine, "checkout", shorten)
    yield Path(db.engine.url.database)
    event.remove(db.engine, "checkout", shorten)
    db.engine.dispose()


def test_the_worker_survives_a_write_lock_held_past_the_busy_timeout(app, tmp_path, short_busy_timeout):
    job = queue_apply(tmp_path).id
    db.session.remove()
    holder = sqlite3.connect(short_busy_timeout, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a backup, a long write elsewhere: the lock stays held for 1.5 s
    stop = threading.Event()
    died = []

    def worker():
        with app.app_context():
            try:
                jobs.work_forever(0.05, stop=stop, max_backoff=0.2)
            except BaseException as e:  # noqa: BLE001 - the test reports it
                died.append(e)
            finally:
                db.session.remove()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    time.sleep(1.5)
    assert thread.is_alive(), f"the worker exited: {died}"
    assert residents() == 0
    holder.execute("ROLLBACK")
    holder.close()
    try:
        done = _wait(lambda: reload(job).status == JobStatus.DONE, 20)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert done and died == [] and residents() == ROWS


def test_a_job_meeting_a_locked_database_is_retried_not_failed(app, tmp_path, monkeypatch):
    job = queue_apply(tmp_path)
    real = jobs.HANDLERS["register_apply"]
    calls = []

    def locked_once(job, report):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT INTO residents …", {}, sqlite3.OperationalError("database is locked"))
        return real.fn(job, report)

    monkeypatch.setitem(jobs.HANDLERS, "register_apply", jobs.Kind(locked_once, True))
    jobs.run_pending()
    job = reload(job)
    assert job.status == JobStatus.QUEUED and job.run_after > utcnow() and job.attempts == 1
    assert "sibuk" in job.error
    assert jobs.run_pending() == 0  # it waits out its backoff
    db.session.execute(update(Job).where(Job.id == job.id).values(run_after=utcnow()))
    db.session.commit()
    assert jobs.run_pending() == 1
    job = reload(job)
    assert job.status == JobStatus.DONE and job.attempts == 2 and residents() == ROWS


def _wait(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_job_the_database_keeps_refusing_fails_after_the_last_attempt(app, tmp_path, monkeypatch):
    app.config["JOB_MAX_ATTEMPTS"] = 2
    job = queue_apply(tmp_path)

    def always_locked(job, report):
        raise OperationalError("INSERT INTO residents …", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setitem(jobs.HANDLERS, "register_apply", jobs.Kind(always_locked, True))
    for _ in range(2):
        db.session.execute(update(Job).where(Job.id == job.id).values(run_after=None))
        db.session.commit()
        assert jobs.run_pending() == 1
    job = reload(job)
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert job.error == "Basis data terus sibuk; pekerjaan ini gagal setelah 2 percobaan. Coba lagi nanti."
    assert residents() == 0
