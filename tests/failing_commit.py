"""A commit that fails as a real one can at the worst moment (the database locked past its busy timeout, the disk
full, the connection gone): once, for the first transaction that would save a new row of the given table."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sempelmas.extensions import db


def fail_commit_saving(monkeypatch, model) -> dict:
    """Make the commit that would add a row to ``model``'s table raise (once); returns {"failed": n}."""
    def rows(session) -> int:
        return session.scalar(select(func.count()).select_from(model))

    before = rows(db.session)
    db.session.rollback()
    state = {"failed": 0}
    real_commit = Session.commit

    def commit(self):
        if not state["failed"] and rows(self) > before:
            state["failed"] += 1
            raise OperationalError("COMMIT", None, RuntimeError("database is locked"))
        return real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)
    return state


def fail_commit_number(monkeypatch, n: int) -> None:
    """Make the ``n``-th commit from now raise, as a kill or a lost database would stop a run between batches."""
    real_commit = Session.commit
    commits = []

    def commit(self):
        commits.append(self)
        if len(commits) == n:
            raise OperationalError("COMMIT", None, RuntimeError("database is locked"))
        return real_commit(self)

    monkeypatch.setattr(Session, "commit", commit)


def files_in(folder: Path) -> list[str]:
    """The names of the files in an upload folder (none when it was never made)."""
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
