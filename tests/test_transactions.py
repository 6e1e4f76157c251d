"""The request's transaction is all or nothing, on SQLite (pysqlite) as on PostgreSQL, with or without a
SAVEPOINT in it; and on SQLite a write after reads still waits for another writer (the busy timeout)."""

import threading

import pytest
from sqlalchemy import func, select, text

from sempelmas.extensions import db
from sempelmas.models.requests import TrackingCounter
from sempelmas.services import sequences
from tests.conftest import in_db


def _rows_seen_elsewhere(app) -> list[str]:
    """What another connection (another worker) sees committed."""
    return in_db(app, lambda: db.session.scalars(select(TrackingCounter.prefix).order_by(TrackingCounter.id)).all())


def test_a_savepoint_as_the_first_write_commits_nothing_and_rolls_back_with_the_transaction(app):
    db.session.scalar(select(func.count(TrackingCounter.id)))  # the request reads first, as views do
    with db.session.begin_nested():
        db.session.add(TrackingCounter(prefix="DALAM", year=2026, last=1))
    assert _rows_seen_elsewhere(app) == []  # released, not committed
    db.session.add(TrackingCounter(prefix="SESUDAH", year=2026, last=1))
    db.session.flush()
    db.session.rollback()  # a later step of the same request failed
    assert _rows_seen_elsewhere(app) == []


def test_a_savepoint_as_the_first_write_commits_with_the_transaction(app):
    with db.session.begin_nested():
        db.session.add(TrackingCounter(prefix="DALAM", year=2026, last=1))
    db.session.add(TrackingCounter(prefix="SESUDAH", year=2026, last=1))
    db.session.commit()
    assert _rows_seen_elsewhere(app) == ["DALAM", "SESUDAH"]


@pytest.mark.parametrize("in_savepoint", [False, True], ids=["plain", "savepoint"])
def test_a_write_after_reads_waits_for_another_writer_instead_of_failing(app, in_savepoint):
    """Why pysqlite's own transaction start is kept (no BEGIN at the first read): a transaction that has
    read holds a snapshot, and SQLite refuses its upgrade to a writer at once ("database is locked"),
    without the busy timeout, when another connection writes meanwhile. Concurrent submitters and
    signers rely on waiting instead."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    locked, release = threading.Event(), threading.Event()
    failures = []

    def other_writer():
        try:
            with app.app_context():
                sequences.begin_immediate()  # as a signer does: the write lock at once
                db.session.add(TrackingCounter(prefix="LAIN", year=2026, last=1))
                db.session.flush()
                locked.set()
                release.wait(5)
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
            locked.set()

    db.session.scalar(select(func.count(TrackingCounter.id)))  # this request reads first
    holder = threading.Thread(target=other_writer)
    holder.start()
    assert locked.wait(5)
    threading.Timer(0.3, release.set).start()  # the other writer commits while this one waits
    if in_savepoint:
        with db.session.begin_nested():
            db.session.add(TrackingCounter(prefix="INI", year=2026, last=1))
    else:
        db.session.add(TrackingCounter(prefix="INI", year=2026, last=1))
        db.session.flush()
    db.session.commit()
    holder.join(5)
    assert not failures
    assert sorted(_rows_seen_elsewhere(app)) == ["INI", "LAIN"]


def test_the_sqlite_connection_is_back_out_of_its_transaction_after_commit_and_rollback(app):
    """The BEGIN emitted for a savepoint ends like pysqlite's own: nothing stays open on the pooled
    connection (a reader left in a transaction would pin an old snapshot of the WAL)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("pysqlite's transaction state")
    for end in (db.session.commit, db.session.rollback):
        with db.session.begin_nested():
            db.session.add(TrackingCounter(prefix=end.__name__[:8], year=2026, last=1))
        raw = db.session.connection().connection.dbapi_connection
        assert raw.in_transaction
        end()
        assert not raw.in_transaction
    assert db.session.execute(text("SELECT prefix FROM tracking_counters")).scalars().all() == ["commit"]
