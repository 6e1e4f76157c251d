"""Counting the SQL statements a piece of code sends (SQLAlchemy's before_cursor_execute event)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from sempelmas.extensions import db


@contextmanager
def count_queries():
    """``with count_queries() as statements:`` collects the SQL text of every statement sent."""
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
