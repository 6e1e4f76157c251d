"""0032: the OpenDK tables, up, down (dropping the OpenDK messages still queued) and up again."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_opendk_tables_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0032_opendk")
        assert {"opendk_settings", "opendk_letters"} <= set(inspect(mig.engine).get_table_names())
        with mig.engine.begin() as conn:
            insert(conn, "opendk_settings", enabled=True, base_url="https://kec.test", email="a@b.id",
                   password_enc="x", desa_id="35.76.03.1004")
            insert(conn, "outbox_messages", channel="opendk", recipient="surat:1", body="{}", status="antri", uid="u1")
            insert(conn, "outbox_messages", channel="email", recipient="b@c.id", body="x", status="antri", uid="u2")
        mig.flask("db", "downgrade", "0031_webhooks")
        names = set(inspect(mig.engine).get_table_names())
        assert "opendk_settings" not in names and "opendk_letters" not in names
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT channel FROM outbox_messages")).scalars().all() == ["email"]
        mig.flask("db", "upgrade", "0032_opendk")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("opendk_letters")}
        assert {"letter_id", "outbox_id", "held_reason", "answer", "answered_at", "created_at"} <= columns
