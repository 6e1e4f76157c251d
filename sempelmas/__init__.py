"""SemPelMas: online administrative services for a kelurahan or desa."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent.parent


def instance_path(test_config: dict | None) -> str:
    """The deployment's ``instance/`` (its config, secret key, uploads, letters, CA, backups): a test's own,
    else ``SEMPELMAS_INSTANCE`` (many kelurahan served from one code folder, deploy/sempelmas-city), else
    ``instance/`` beside the code."""
    if test_config is not None and test_config.get("INSTANCE_PATH"):
        return test_config["INSTANCE_PATH"]
    if test_config is None and os.environ.get("SEMPELMAS_INSTANCE"):
        return os.environ["SEMPELMAS_INSTANCE"]
    return str(ROOT / "instance")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, errors, CLI. No I/O beyond reading config."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=instance_path(test_config),
    )
    from sempelmas.config import load_config

    load_config(app, test_config)

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_prefix=n)

    _init_extensions(app)
    # what follows a request's move (its audit entry, an endorsement's number, the notifications, the survey
    # invitation) subscribes to lifecycle.request_moved at this import: once per process, web, CLI and workers;
    # the OpenDK connector subscribes to issuing.letter_issued the same way
    from sempelmas.services.integration import opendk  # noqa: F401
    from sempelmas.services.requests import subscriptions  # noqa: F401

    _register_blueprints(app)
    from sempelmas.web import api

    api.register(app)  # /api/v1: the integration API, its OpenAPI document and reference page

    from sempelmas import cli
    from sempelmas.web import audit_origin, errors, security, static_versions, templating

    audit_origin.install()  # the audit log's actor and address in a request: the signed-in user, the client
    errors.register(app)
    security.register(app)
    templating.register(app)
    static_versions.register(app)
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from sempelmas import models  # noqa: F401  (registers the tables)
    from sempelmas.domain import i18n
    from sempelmas.extensions import (
        babel,
        babel_gettext,
        babel_ngettext,
        compress,
        csrf,
        db,
        limiter,
        login_manager,
        migrate,
    )
    from sempelmas.web.i18n import select_locale, select_timezone

    compress.init_app(app)  # first: its after_request hook runs last, on the finished response
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # the domain's messages in the chosen language (the domain itself has no Flask)
    i18n.install(babel_gettext, babel_ngettext)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.session_protection = "basic"

    from sempelmas.services.people.accounts import load_user

    login_manager.user_loader(load_user)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """WAL, foreign keys and a busy timeout on every SQLite connection (no-op on PostgreSQL)."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@event.listens_for(Engine, "savepoint")
def _sqlite_begin_before_savepoint(conn, name) -> None:
    """Open the transaction before a SAVEPOINT that would otherwise open it itself (pysqlite only).

    pysqlite's legacy mode emits BEGIN before INSERT/UPDATE/DELETE only. A SAVEPOINT as the first
    write of a transaction (``db.session.begin_nested()``) then starts SQLite's transaction, and its
    RELEASE commits it: a later rollback of the request kept what the savepoint wrote (a half-save).
    Emitting here the BEGIN pysqlite would emit for a DML statement keeps everything else as it is:
    reads still start no transaction, and the first write still waits on the busy timeout. SQLAlchemy's
    recipe (isolation_level=None + BEGIN on every "begin") would instead start a deferred transaction at
    the first read, whose later write fails at once with "database is locked" when another worker wrote
    meanwhile, and would defeat sequences.begin_immediate (tests/test_transactions.py; figures in
    bench/bench_sqlite_transactions.py).
    """
    import sqlite3

    raw = conn.connection.dbapi_connection
    if not isinstance(raw, sqlite3.Connection) or raw.in_transaction or raw.isolation_level is None:
        return  # PostgreSQL; already in a transaction; a connection in autocommit mode
    # Python 3.12+: only the legacy mode needs it (autocommit=False begins by itself; True never commits it)
    if getattr(raw, "autocommit", -1) != getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", -1):
        return
    conn.exec_driver_sql(f"BEGIN {raw.isolation_level}".rstrip())


def _register_blueprints(app: Flask) -> None:
    from sempelmas.web.admin import bp as admin_bp
    from sempelmas.web.auth.routes import bp as auth_bp
    from sempelmas.web.complaints.routes import bp as complaints_bp
    from sempelmas.web.dash.routes import bp as dash_bp
    from sempelmas.web.data_rights.resident import bp as data_rights_bp
    from sempelmas.web.data_rights.staff import bp as data_rights_staff_bp
    from sempelmas.web.files.routes import bp as files_bp
    from sempelmas.web.letters.routes import bp as letters_bp
    from sempelmas.web.letters.verify import bp as verify_bp
    from sempelmas.web.notifications.routes import bp as notifications_bp
    from sempelmas.web.office.routes import bp as office_bp
    from sempelmas.web.public.routes import bp as public_bp
    from sempelmas.web.push.routes import bp as push_bp
    from sempelmas.web.pwa.routes import bp as pwa_bp
    from sempelmas.web.questions.routes import bp as questions_bp
    from sempelmas.web.resident.routes import bp as resident_bp
    from sempelmas.web.rt.routes import bp as rt_bp
    from sempelmas.web.signer import bp as signer_bp
    from sempelmas.web.staff.routes import bp as staff_bp
    from sempelmas.web.survey.routes import bp as survey_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(resident_bp, url_prefix="/warga")
    app.register_blueprint(rt_bp, url_prefix="/rt")
    app.register_blueprint(staff_bp, url_prefix="/petugas")
    app.register_blueprint(signer_bp, url_prefix="/penandatangan")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(notifications_bp, url_prefix="/notifikasi")
    app.register_blueprint(push_bp, url_prefix="/notifikasi/hp")
    app.register_blueprint(verify_bp)
    app.register_blueprint(letters_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(survey_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(data_rights_bp, url_prefix="/warga/data-saya")
    app.register_blueprint(data_rights_staff_bp, url_prefix="/petugas/permintaan-data")
    app.register_blueprint(dash_bp)
    app.register_blueprint(questions_bp)
    app.register_blueprint(office_bp)
