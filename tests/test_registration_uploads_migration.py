"""0024: the table of KTP photos held across a refused registration, up, down and up again; the models match it."""

from datetime import datetime

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_registration_uploads_table_upgrades_downgrades_and_upgrades_again(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0023_catalogue_english")
        assert "registration_uploads" not in inspect(mig.engine).get_table_names()
        mig.flask("db", "upgrade", "0024_registration_uploads")
        with mig.engine.begin() as conn:
            insert(conn, "registration_uploads", token="t" * 32, session_hash="h" * 64, stored_name="a" * 32 + ".jpg",
                   size=10, created_at=datetime(2026, 12, 7), expires_at=datetime(2026, 12, 7, 1))
        insp = inspect(mig.engine)
        assert {"token", "session_hash", "stored_name", "expires_at"} <= {
            c["name"] for c in insp.get_columns("registration_uploads")}
        assert "ix_registration_uploads_expires_at" in {i["name"] for i in insp.get_indexes("registration_uploads")}
        mig.flask("db", "downgrade", "0023_catalogue_english")
        assert "registration_uploads" not in inspect(mig.engine).get_table_names()
        mig.flask("db", "upgrade", "0024_registration_uploads")
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM registration_uploads")).scalar() == 0
        mig.flask("db", "upgrade", "head")
        done = mig.flask("db", "check", check=False)  # the models declare what the migrations made
        assert done.returncode == 0, done.stdout + done.stderr
