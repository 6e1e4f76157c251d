"""Gapless per-year counters: letter numbers, tracking numbers and RT/RW endorsement numbers.

One locking rule for all of them. A number is taken inside the caller's transaction by an
``UPDATE … SET last = last + 1 RETURNING last`` on the counter's row: the update holds the row's lock
(PostgreSQL) or the database's write lock (SQLite) until that transaction ends, so a concurrent taker
waits and then reads its own increment (never the same number), and a rollback gives the number back
(no gap). The first number of a key in a year creates the row with an insert that ignores a conflict
(two first takers: one insert wins, the other waits for it, then both update in turn).

On SQLite the update must be the transaction's first write, or the transaction must already hold the
write lock (it wrote before, or called ``begin_immediate`` first): a deferred transaction that read,
then writes after another writer committed, fails at once with "database is locked". pysqlite's legacy
mode starts the transaction at the first write, so a caller that only read before is fine.

Counters live in existing tables, each with a key column, ``year`` and ``last``: ``letter_counters``
(key ``scope``: a letter number scope, or ``pengantar:…`` for endorsements) and ``tracking_counters``
(key ``prefix``). Callers name the key column: ``take(TrackingCounter.prefix, "SPM", 2026)``.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from sempelmas.extensions import db


def begin_immediate() -> None:
    """Make the session's current transaction hold SQLite's write lock from now on (no-op elsewhere).

    Call it first thing in a transaction that reads before it takes a number (the signing
    transaction). pysqlite in its default mode starts a transaction only at the first INSERT/UPDATE,
    with a plain (deferred) BEGIN; a deferred transaction that read first and writes later can fail
    with "database is locked" when another writer committed in between (the busy timeout does not
    help then). BEGIN IMMEDIATE takes the write lock at once, so concurrent signers queue on the busy
    timeout instead. When the connection already has a transaction open it already wrote, so it
    already holds the write lock. On PostgreSQL nothing is needed: the counter UPDATE locks its row
    until the commit.
    """
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def take(key_column, key: str, year: int, *, already_used=None) -> int:
    """The next number (1, 2, 3, …) of the counter ``key`` in ``year``, taken in the caller's transaction.

    ``key_column`` is the counter table's key column (``LetterCounter.scope``,
    ``TrackingCounter.prefix``). ``already_used`` (optional) is a scalar SELECT of the highest
    number handed out before the counter existed; a new counter row starts there instead of at 0.
    The number counts only if the caller's transaction commits. Flushes, never commits.
    """
    counter = key_column.class_
    session = db.session
    where = (key_column == key) & (counter.year == year)
    bump = (update(counter).where(where).values(last=counter.last + 1)
            .returning(counter.last).execution_options(synchronize_session=False))
    seq = session.scalar(bump)
    if seq is None:  # the first number of this key in this year
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        start = already_used if already_used is not None else 0
        session.execute(insert(counter).values({key_column.key: key, "year": year, "last": start})
                        .on_conflict_do_nothing(index_elements=[key_column.key, "year"]))
        seq = session.scalar(bump)
    if seq is None:  # pragma: no cover - the row exists now
        seq = session.scalar(select(counter.last).where(where))
    return int(seq)
