"""0028: notifications' message key and values, users' language; up, down and up again, old rows kept."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_notice_keys_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0027_push_subscriptions")
        with mig.engine.begin() as conn:
            user_id = insert(conn, "users", full_name="Budi", status="terverifikasi")
            insert(conn, "notifications", user_id=user_id, kind="request.submit", message="Permohonan lama.")
        mig.flask("db", "upgrade", "0028_notice_keys")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("notifications")}
        assert {"message_key", "message_values"} <= columns
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT lang FROM users")).scalar_one() == "id"
            row = conn.execute(text("SELECT message, message_key, message_values FROM notifications")).one()
            assert tuple(row) == ("Permohonan lama.", None, None)
        mig.flask("db", "downgrade", "0027_push_subscriptions")
        assert "lang" not in {c["name"] for c in inspect(mig.engine).get_columns("users")}
        assert "message_key" not in {c["name"] for c in inspect(mig.engine).get_columns("notifications")}
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT message FROM notifications")).scalar_one() == "Permohonan lama."
        mig.flask("db", "upgrade", "0028_notice_keys")
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT lang FROM users")).scalar_one() == "id"
