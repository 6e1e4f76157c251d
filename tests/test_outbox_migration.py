"""0018: every outbox message already queued gets its own stable id; claims move to one message at a time."""

import uuid

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from tests.migration_db import insert, migration_db


def test_existing_outbox_messages_get_their_own_ids_and_the_downgrade_removes_them(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0017_family_trust")
        with mig.engine.begin() as conn:
            for i in range(3):
                insert(conn, "outbox_messages", channel="gateway", recipient=f"+6281234500{i}", body=f"Pesan {i}",
                       status="antri")
        mig.flask("db", "upgrade", "0018_outbox_message_ids")
        with mig.engine.connect() as conn:
            rows = conn.execute(text("SELECT uid, claimed_by FROM outbox_messages ORDER BY id")).all()
        assert len({uid for uid, _ in rows}) == 3 and all(uuid.UUID(uid).version == 4 for uid, _ in rows)
        assert all(claimed is None for _, claimed in rows)
        # the id is unique: a second message cannot take another's
        with pytest.raises(IntegrityError), mig.engine.begin() as conn:
            insert(conn, "outbox_messages", channel="email", recipient="a@b.id", body="x", uid=rows[0][0])
        mig.flask("db", "downgrade", "0017_family_trust")
        columns = {c["name"] for c in inspect(mig.engine).get_columns("outbox_messages")}
        assert "uid" not in columns and "claimed_by" not in columns
        with mig.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outbox_messages")).scalar() == 3
