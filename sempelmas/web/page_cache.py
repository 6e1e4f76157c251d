"""Whole-page cache for the pages everybody opens all the time: the login page and the resident's home.

Rendering one of them costs five to ten times a bare Flask request (the layout, the translations, the
forms, the ORM; bench/README.md), while what they show changes seldom. A worker keeps the rendered page
and hands it out again for as long as nothing in the database has changed:

* **Invalidation**: every transaction that writes anything through the app's engine adds one to the
  single row of ``data_version`` in the same transaction (``watch_writes``). A hit costs one primary-key
  lookup of that number; a page is stored only when the number was the same before and after the view
  made it, so it is never older than the number it is stored under. Numbers start at random
  (``models/data_version.py``): a restored database brings back a number whose pages, if a worker still
  holds any, show those same contents.
* **Key**: the view, the full path and query, the account's session (``_user_id`` carries the id of its
  server-side session, services/people/sessions.py) and whom a pendamping acts for, the language, today's date in
  the kelurahan's time zone, the profile snapshot and the data version. A page is stored only after the
  view answered 200 to that same account, so a hit cannot show anyone a page they could not open. Ending a
  session (logout,
  "log out everywhere", a password change) is a write: the version moves, so a copied cookie of an ended
  session never gets a page cached before, and cannot get one cached after (its view answers a redirect).
* **Not cached**: anything but GET, htmx requests, requests with flash messages waiting, a remembered
  login that Flask-Login still has to restore, and requests made after an uncommitted write.
* The CSRF token is not part of the stored page: each answer gets its own (``generate_csrf``).

Per worker, in memory, at most ``PAGE_CACHE_ENTRIES`` pages (0 turns it off); entries of an older data
version are dropped as soon as a newer one is seen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from flask import current_app, g, make_response, request, session
from flask_wtf.csrf import generate_csrf
from sqlalchemy import event

from sempelmas.extensions import db
from sempelmas.services.kelurahan.profile import current_profile, local_today
from sempelmas.web.acting import ACTING_KEY
from sempelmas.web.i18n import select_locale

_WROTE = "sempelmas_wrote"  # in the DBAPI connection's info: this transaction wrote something
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")  # REPLACE: SQLite's
_BUMP = "UPDATE data_version SET version = version + 1"
_READ_SQL = "SELECT version FROM data_version WHERE id = 1"
_paused: ContextVar[bool] = ContextVar("data_version_paused", default=False)


# ------------------------------------------------------------------ the data version


def watch_writes(engine) -> None:
    """Make every committed transaction on ``engine`` that ran a write statement bump the data version."""
    if event.contains(engine, "before_cursor_execute", _note_write):
        return
    event.listen(engine, "before_cursor_execute", _note_write)
    event.listen(engine, "commit", _bump_on_commit)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "reset", _forget_on_reset)


def _note_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if statement.lstrip()[:6].upper() in _WRITES:
        conn.info[_WROTE] = True


def _bump_on_commit(conn) -> None:
    # runs just before the DBAPI commit, on the same connection: the bump is part of the transaction
    if conn.info.pop(_WROTE, False) and not _paused.get():
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(_BUMP)
        finally:
            cursor.close()


def _forget(conn) -> None:
    conn.info.pop(_WROTE, None)


def _forget_on_reset(dbapi_connection, connection_record, reset_state) -> None:
    connection_record.info.pop(_WROTE, None)


@contextmanager
def paused():
    """Migrations change the schema (the table may not exist yet); workers restart after them anyway."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def peek_version() -> int | None:
    """The committed data version, read on a pooled connection of its own (no ORM session: a cache hit
    never opens one). None when the row is missing."""
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(_READ_SQL)
        row = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()
    return row[0] if row else None


def _pending_writes() -> bool:
    """This request's session (if it has one yet) holds changes not committed: its pages are its own."""
    if not db.session.registry.has():
        return False
    session = db.session()
    if session.new or session.dirty or session.deleted:
        return True
    return session.in_transaction() and bool(session.connection().info.get(_WROTE))


def request_wrote() -> bool:
    """Whether this request has written something not yet committed (for code that writes aside, on a
    connection of its own: on SQLite that connection would wait for this request's write lock)."""
    return _pending_writes()


def session_version() -> int | None:
    """The data version as this request's session sees it; None when this transaction wrote and has
    not committed (its pages must not be kept), or the row is missing."""
    conn = db.session.connection()
    if conn.info.get(_WROTE):
        return None
    return conn.exec_driver_sql(_READ_SQL).scalar()


# ------------------------------------------------------------------ the page cache


class PageCache:
    def __init__(self, size: int):
        self.size = size
        self.version: int | None = None
        self.pages: OrderedDict[tuple, list[str]] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0  # for tests and benchmarks

    def get(self, version: int, key: tuple) -> list[str] | None:
        with self.lock:
            if version != self.version:
                self.pages.clear()
                self.version = version
                return None
            return self.pages.get(key)

    def put(self, version: int, key: tuple, parts: list[str]) -> None:
        with self.lock:
            if version != self.version:
                return
            self.pages[key] = parts
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


def _cache() -> PageCache | None:
    size = current_app.config["PAGE_CACHE_ENTRIES"]
    if size <= 0:
        return None
    cache = current_app.extensions.get("page_cache")
    if cache is None or cache.size != size:
        cache = current_app.extensions["page_cache"] = PageCache(size)
    return cache


def _key() -> tuple | None:
    """The cache key of this request, or None when it must be answered by the view."""
    if request.method != "GET" or "HX-Request" in request.headers or "_flashes" in session:
        return None
    user_key = session.get("_user_id")
    if user_key is None and current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return None  # Flask-Login signs this visitor in from the cookie
    profile = current_profile()
    return (request.endpoint, request.full_path, user_key, session.get(ACTING_KEY), select_locale(), local_today(),
            profile.updated_at if profile else None)


def cached_page(view):
    """Serve the view's 200 text/html answer from the worker's page cache while the data is unchanged.

    The version is read before the view runs and again, in the view's own session, after it: the page is
    kept only when both agree, i.e. when nothing was committed while it was being made. Flask-Limiter's
    hooks pass these pages' GETs by (``sempelmas/__init__.py``): they have no GET limits and the app has
    no default limits.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        cache = _cache()
        key = _key() if cache is not None else None
        version = peek_version() if key is not None and not _pending_writes() else None
        if version is None:
            return view(*args, **kwargs)
        parts = cache.get(version, key)
        if parts is not None:
            cache.hits += 1
            resp = make_response(generate_csrf().join(parts) if len(parts) > 1 else parts[0])
            resp.vary.add("HX-Request")
            return resp
        resp = make_response(view(*args, **kwargs))
        if (resp.status_code == 200 and resp.mimetype == "text/html" and not resp.direct_passthrough
                and session_version() == version):
            body = resp.get_data(as_text=True)
            token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
            cache.put(version, key, body.split(token) if token else [body])
        return resp

    wrapped.page_cached = True
    return wrapped
