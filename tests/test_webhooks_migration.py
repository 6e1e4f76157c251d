"""0031: the webhook tables, up, down (dropping the webhook messages still queued) and up again."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db

TABLES = {"webhook_endpoints", "webhook_events", "webhook_deliveries", "webhook_attempts"}


def test_webhooks_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0031_webhooks")
        assert set(inspect(mig.engine).get_table_names()) >= TABLES
        with mig.engine.begin() as conn:
            insert(conn, "outbox_messages", channel="webhook", recipient="1", body="{}", status="antri", uid="u1")
            insert(conn, "outbox_messages", channel="email", recipient="b@c.id", body="x", status="antri", uid="u2")
        mig.flask("db", "downgrade", "0030_api_clients")
        assert not TABLES & set(inspect(mig.engine).get_table_names())
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT channel FROM outbox_messages")).scalars().all() == ["email"]
        mig.flask("db", "upgrade", "0031_webhooks")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("webhook_endpoints")}
        assert {"url", "events", "secret", "paused_at", "consecutive_failures"} <= columns
