"""0027: the push subscriptions table, up, down (dropping the push messages still queued) and up again."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_push_subscriptions_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0027_push_subscriptions")
        assert "push_subscriptions" in inspect(mig.engine).get_table_names()
        with mig.engine.begin() as conn:
            user_id = insert(conn, "users", full_name="Budi", status="terverifikasi")
            insert(conn, "push_subscriptions", user_id=user_id, endpoint="https://push.example.org/1",
                   p256dh="k", auth="a", label="Chrome di Android")
            insert(conn, "outbox_messages", channel="push", recipient="1", body="{}", status="antri", uid="u1")
            insert(conn, "outbox_messages", channel="email", recipient="b@c.id", body="x", status="antri", uid="u2")
        mig.flask("db", "downgrade", "0026_request_questions")
        assert "push_subscriptions" not in inspect(mig.engine).get_table_names()
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT channel FROM outbox_messages")).scalars().all() == ["email"]
        mig.flask("db", "upgrade", "0027_push_subscriptions")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("push_subscriptions")}
        assert {"user_id", "session_id", "endpoint", "p256dh", "auth", "label", "created_at", "last_success_at",
                "last_failure_at", "last_error"} <= columns
