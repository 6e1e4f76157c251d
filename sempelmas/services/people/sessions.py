"""Signed-in sessions kept on the server, so that logging out ends them wherever their cookies were copied.

Flask's session cookie and Flask-Login's remember-me cookie are signed, not stored: before, a copied cookie
kept working after logout (the remember-me one for a year). Now each login opens a ``UserSession`` row and
its random id travels inside Flask-Login's user id (``User.get_id`` = "<user id>.<session id>"), which both
cookies carry. ``load_user`` accepts the cookie only while that row is open and not expired, in the one
query it already made for the user, its roles and its register entry.

Refreshing ``last_seen_at`` (at most every SESSION_TOUCH_SECONDS) is the only write a signed-in GET makes;
it runs on a connection of its own and commits at once (a GET's own session commits nothing).
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from sempelmas.domain import digits
from sempelmas.domain.i18n import lazy as _
from sempelmas.extensions import db
from sempelmas.models.accounts import User, UserSession
from sempelmas.models.base import utcnow
from sempelmas.services.accountability import audit

log = logging.getLogger(__name__)

#: ended and expired rows are kept this long for the account page and the owner's questions, then pruned
KEEP_ENDED = timedelta(days=30)


def _seconds(value) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=int(value))


def lifetime(remember: bool) -> timedelta:
    """How long a session lives: a remembered one as long as its remember-me cookie (counted from login),
    any other one until it has been idle as long as Flask's own session cookie lives."""
    cfg = current_app.config
    if remember:
        return _seconds(cfg.get("REMEMBER_COOKIE_DURATION") or timedelta(days=365))
    return _seconds(cfg["PERMANENT_SESSION_LIFETIME"])


def _expired(row: UserSession | tuple, now: datetime) -> bool:
    created_at, last_seen_at, remember = (row.created_at, row.last_seen_at, row.remember) \
        if isinstance(row, UserSession) else row
    if remember:
        return now - created_at > lifetime(True)
    return now - last_seen_at > lifetime(False)


def start(user: User, *, remember: bool = False, user_agent: str | None = None, ip: str | None = None) -> UserSession:
    """Open a session for ``user`` (call before ``login_user``: its id goes into the cookies).

    Also prunes this account's sessions that ended or expired more than KEEP_ENDED ago."""
    now = utcnow()
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id, or_(
        UserSession.ended_at < now - KEEP_ENDED,
        UserSession.remember.is_(False) & (UserSession.last_seen_at < now - lifetime(False) - KEEP_ENDED),
        UserSession.created_at < now - lifetime(True) - KEEP_ENDED,
    )).execution_options(synchronize_session=False))
    row = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now, last_seen_at=now,
                      remember=bool(remember), user_agent=(user_agent or "")[:200] or None, ip=(ip or None))
    db.session.add(row)
    db.session.flush()
    user.session_id = row.id
    return row


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader for "<user id>.<session id>": the account, while that session is open and not
    expired; one query (the user, its roles, its register entry and the session), on every signed-in request."""
    uid_text, _dot, session_id = (user_id or "").partition(".")
    uid = digits.to_int(uid_text, low=1)
    if uid is None or not session_id or len(session_id) > 43:
        return None  # also the "<id>.<auth version>" cookies of before: those sign in again, once
    row = db.session.execute(
        select(User, UserSession.created_at, UserSession.last_seen_at, UserSession.remember)
        .join(UserSession, UserSession.user_id == User.id)
        .options(joinedload(User.roles), joinedload(User.resident))
        .where(User.id == uid, UserSession.id == session_id, UserSession.ended_at.is_(None))
    ).unique().one_or_none()
    if row is None:
        return None
    user, created_at, last_seen_at, remember = row
    now = utcnow()
    if _expired((created_at, last_seen_at, remember), now) or not user.is_active:
        return None
    user.session_id = session_id
    if now - last_seen_at > timedelta(seconds=current_app.config["SESSION_TOUCH_SECONDS"]):
        _touch(session_id, now)
    return user


def _touch(session_id: str, now: datetime) -> None:
    """Note that the session is in use, on a connection of its own."""
    if _holds_sqlite_write_lock():
        return  # a second connection would wait for this request's own write lock; next time
    try:
        with db.engine.begin() as conn:
            conn.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))
    except SQLAlchemyError:  # informational only: never fail a page for it
        log.warning("could not refresh last_seen_at of a session", exc_info=True)


def _holds_sqlite_write_lock() -> bool:
    """Whether this request's transaction has written on SQLite, i.e. holds the database's write lock (pysqlite
    opens its transaction at the first write). PostgreSQL locks rows: the touch never waits for this request."""
    if not db.session.registry.has():
        return False
    session = db.session()
    if not session.in_transaction():
        return False
    raw = session.connection().connection.dbapi_connection
    return isinstance(raw, sqlite3.Connection) and raw.in_transaction


def current(user: User) -> UserSession | None:
    return db.session.get(UserSession, user.session_id) if user.session_id else None


def active(user: User) -> list[UserSession]:
    """The account's open, unexpired sessions, the most recently used first."""
    now = utcnow()
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                        UserSession.ended_at.is_(None))
                              .order_by(UserSession.last_seen_at.desc())).all()
    return [r for r in rows if not _expired(r, now)]


def end_all(user: User, reason: str, *, keep: str | None = None) -> int:
    """End every open session of ``user`` (but ``keep``); returns how many. Flushes; the caller audits."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep:
        stmt = stmt.where(UserSession.id != keep)
    result = db.session.execute(stmt.values(ended_at=utcnow(), end_reason=reason)
                                .execution_options(synchronize_session=False))
    return result.rowcount or 0


def logout(user: User) -> None:
    """End the session this request runs in (its cookies, copied or not, stop working) and audit it."""
    if user.session_id:
        db.session.execute(update(UserSession).where(UserSession.id == user.session_id,
                                                     UserSession.ended_at.is_(None))
                           .values(ended_at=utcnow(), end_reason="keluar")
                           .execution_options(synchronize_session=False))
    audit.record("auth.logout", user, actor=user)
    db.session.flush()


def logout_everywhere(user: User) -> int:
    """End every session of the account, this one included, and stop trusting its devices for login
    (``auth_version``; services/people/login_guard.py). Audited with the number of sessions ended."""
    ended = end_all(user, "keluar_semua")
    user.auth_version = (user.auth_version or 0) + 1
    audit.record("auth.logout_all", user, actor=user, sessions=ended)
    db.session.flush()
    return ended


def end_other(user: User, session_id: str) -> bool:
    """End one other session of the account from the account page; False when there is no such open one."""
    row = db.session.get(UserSession, session_id or "")
    if row is None or row.user_id != user.id or row.ended_at is not None or row.id == user.session_id:
        return False
    row.ended_at, row.end_reason = utcnow(), "diakhiri"
    audit.record("auth.session_end", user, actor=user, device=device_label(row.user_agent), ip=row.ip)
    db.session.flush()
    return True


# a coarse label for the account page: the browser and the system, enough to recognise one's own phone
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "Mac"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))
_BROWSERS = (("SamsungBrowser", "Samsung Internet"), ("Edg", "Edge"), ("OPR", "Opera"), ("Firefox", "Firefox"),
             ("Chrome", "Chrome"), ("Safari", "Safari"))


def device_label(user_agent: str | None) -> str:
    """"Chrome di Android" from a User-Agent header (a hint for the owner, not an identification)."""
    ua = user_agent or ""
    system = next((label for token, label in _SYSTEMS if token in ua), None)
    browser = next((label for token, label in _BROWSERS if re.search(rf"\b{token}/", ua)), None)
    if browser and system:
        return str(_("%(browser)s di %(system)s", browser=browser, system=system))
    return browser or system or str(_("Perangkat tidak dikenal"))
