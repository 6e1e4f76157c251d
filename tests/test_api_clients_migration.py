"""0030: the API clients table, up, down and up again."""

from sqlalchemy import inspect, text

from tests.migration_db import insert, migration_db


def test_api_clients_up_down_up(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0030_api_clients")
        assert "api_clients" in inspect(mig.engine).get_table_names()
        with mig.engine.begin() as conn:
            insert(conn, "api_clients", name="Portal Data", key_prefix="0123456789ab", key_hash="0" * 64,
                   scopes=["letters:read"], allowed_sources=[])
            assert conn.execute(text("SELECT name FROM api_clients")).scalars().all() == ["Portal Data"]
        mig.flask("db", "downgrade", "0029_question_photo_retention")
        assert "api_clients" not in inspect(mig.engine).get_table_names()
        mig.flask("db", "upgrade", "0030_api_clients")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("api_clients")}
        assert {"name", "key_prefix", "key_hash", "scopes", "allowed_sources", "rate_limit", "created_at",
                "created_by_id", "rotated_at", "revoked_at", "last_used_at"} <= columns
