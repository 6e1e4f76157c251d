"""One row whose number changes in every transaction that writes anything (see sempelmas/web/page_cache.py)."""

from __future__ import annotations

import secrets

from sqlalchemy import BigInteger, event
from sqlalchemy.orm import Mapped, mapped_column

from sempelmas.extensions import db

ROW_ID = 1


def first_version() -> int:
    """A random start, so two databases (a restored backup, a test database made again) never share a
    number for different contents."""
    return secrets.randbelow(2**62)


class DataVersion(db.Model):
    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


@event.listens_for(DataVersion.__table__, "after_create")
def _first_row(table, connection, **kw) -> None:  # create_all (tests); the migration inserts its own row
    connection.execute(table.insert().values(id=ROW_ID, version=first_version()))
