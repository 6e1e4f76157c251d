"""0016 on an install with data: accounts with lockouts, a login_failures row and two active accounts sharing
a phone (which the app allowed before). The upgrade keeps every account (no unique index on the phone to
trip over), and the downgrade brings the old columns and table back."""

from datetime import datetime

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_sessions_migration_upgrades_an_install_with_shared_phones_and_lockouts_and_downgrades(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0015_data_version")
        with mig.engine.begin() as conn:
            for name in ("Ibu", "Anak"):
                insert(conn, "users", full_name=name, phone="+6281211112222", status="terverifikasi",
                       failed_logins=3, password_hash="x")
            insert(conn, "users", full_name="Lurah", username="lurah", password_hash="x", failed_logins=0,
                   locked_until=datetime(2099, 1, 1))
            insert(conn, "login_failures", identifier="tidakada", count=4, updated_at=datetime(2026, 3, 4))
        mig.flask("db", "upgrade")
        with mig.engine.connect() as conn:
            phones = conn.execute(text("SELECT phone FROM users WHERE phone IS NOT NULL")).scalars().all()
            columns = {c["name"] for c in inspect(conn).get_columns("users")}
            tables = set(inspect(conn).get_table_names())
        assert phones == ["+6281211112222", "+6281211112222"]
        assert "locked_until" not in columns and "failed_logins" not in columns
        assert {"user_sessions", "login_throttles"} <= tables and "login_failures" not in tables
        mig.flask("db", "downgrade", "0015_data_version")
        with mig.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("users")}
            tables = set(inspect(conn).get_table_names())
            users = conn.execute(text("SELECT count(*) FROM users")).scalar()
        assert {"locked_until", "failed_logins"} <= columns and "login_failures" in tables
        assert "user_sessions" not in tables and users == 3
