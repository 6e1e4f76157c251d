"""An empty database for the Alembic migrations, run the way an install runs them (`flask db` in a subprocess):
a SQLite file, or with TEST_DATABASE_URL a fresh PostgreSQL database beside the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import JSON, Boolean, Date, DateTime, Engine, Integer, MetaData, String, Table, create_engine, text

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class MigrationDB:
    url: str
    engine: Engine
    #: ``flask(*args, check=True)``: ``python -m flask --app app *args`` on this database; with ``check``, asserts
    #: it exited 0 (showing its stderr); returns the CompletedProcess.
    flask: Callable[..., subprocess.CompletedProcess]


def _empty_database(tmp_path) -> tuple[str, Callable[[], None]]:
    """The URL of a fresh empty database and how to drop it again."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'mig.db'}", lambda: None
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    # named after the test database, so runs against different test databases never share one
    name = f"{base.rsplit('/', 1)[1] or 'sempelmas'}_migrations"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = base.rsplit("/", 1)[0] + "/" + name

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return url, drop


@contextmanager
def migration_db(tmp_path) -> Iterator[MigrationDB]:
    """An empty database (no migration applied), its engine and a `flask` runner; disposed and dropped after."""
    url, drop = _empty_database(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "mig-test", "SEMPELMAS_ENV": "development"}

    def flask(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    try:
        engine = create_engine(url)  # connects lazily: the first migration makes the SQLite file
        try:
            yield MigrationDB(url, engine, flask)
        finally:
            engine.dispose()
    finally:
        drop()


def insert(conn, table: str, **values) -> int:
    """One row into a reflected table, required columns without a value filled with something of their type."""
    tbl = Table(table, MetaData(), autoload_with=conn)
    row = dict(values)
    for col in tbl.columns:
        if col.name in row or col.nullable or col.primary_key or col.server_default is not None:
            continue
        kind = col.type
        row[col.name] = (False if isinstance(kind, Boolean) else 0 if isinstance(kind, Integer)
                         else datetime(2026, 3, 4) if isinstance(kind, DateTime | Date)
                         else {} if isinstance(kind, JSON) else "x"[: getattr(kind, "length", None) or 1]
                         if isinstance(kind, String) else "x")
    return conn.execute(tbl.insert().values(**row)).inserted_primary_key[0]
