"""0016 on an install with data: accounts with lockouts, a login_failures row and two active accounts sharing
a phone (which the app allowed before). The upgrade keeps every account (no unique index on the phone to
trip over), and the downgrade brings the old columns and table back."""

import os
import subprocess
import sys
from datetime import datetime

from sqlalchemy import create_engine, inspect, text

from tests.test_cli import ROOT, _insert, _migration_url


def test_sessions_migration_upgrades_an_install_with_shared_phones_and_lockouts_and_downgrades(tmp_path):
    url, drop = _migration_url(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "mig-test", "SEMPELMAS_ENV": "development"}

    def flask_db(*args):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    try:
        flask_db("upgrade", "0015_data_version")
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                for name in ("Ibu", "Anak"):
                    _insert(conn, "users", full_name=name, phone="+6281211112222", status="terverifikasi",
                            failed_logins=3, password_hash="x")
                _insert(conn, "users", full_name="Lurah", username="lurah", password_hash="x", failed_logins=0,
                        locked_until=datetime(2099, 1, 1))
                _insert(conn, "login_failures", identifier="tidakada", count=4,
                        updated_at=datetime(2026, 3, 4))
            flask_db("upgrade")
            with engine.connect() as conn:
                phones = conn.execute(text("SELECT phone FROM users WHERE phone IS NOT NULL")).scalars().all()
                columns = {c["name"] for c in inspect(conn).get_columns("users")}
                tables = set(inspect(conn).get_table_names())
            assert phones == ["+6281211112222", "+6281211112222"]
            assert "locked_until" not in columns and "failed_logins" not in columns
            assert {"user_sessions", "login_throttles"} <= tables and "login_failures" not in tables
            flask_db("downgrade", "0015_data_version")
            with engine.connect() as conn:
                columns = {c["name"] for c in inspect(conn).get_columns("users")}
                tables = set(inspect(conn).get_table_names())
                users = conn.execute(text("SELECT count(*) FROM users")).scalar()
            assert {"locked_until", "failed_logins"} <= columns and "login_failures" in tables
            assert "user_sessions" not in tables and users == 3
        finally:
            engine.dispose()
    finally:
        drop()
