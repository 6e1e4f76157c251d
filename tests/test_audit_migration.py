"""0009 chains the audit entries written before it, in id order, exactly as the app would."""

from datetime import datetime

from sqlalchemy import text

from tests.migration_db import insert, migration_db


def test_audit_chain_migration_back_fills_existing_entries_so_they_verify(tmp_path):
    with migration_db(tmp_path) as mig:
        mig.flask("db", "upgrade", "0008_pwa")
        with mig.engine.begin() as conn:
            user = insert(conn, "users", full_name="Admin", username="admin", password_hash="x")
            for i, (action, details) in enumerate([("auth.login", {}), ("profile.update", {"nama": "Jagalan"}),
                                                   ("letter.revoke", {"alasan": "salah ketik — ganti"})]):
                insert(conn, "audit_log", created_at=datetime(2026, 3, 4, 5, 6, 7, 890 + i), actor_id=user,
                       ip="192.0.2.1", action=action, object_type="users", object_id=str(user), details=details)
        mig.flask("db", "upgrade")
        with mig.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, prev_hash, entry_hash FROM audit_log ORDER BY id")).all()
            head = conn.execute(text("SELECT seq, last_hash FROM audit_chain_head")).all()
        assert [r.seq for r in rows] == [1, 2, 3]
        assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == rows[0].entry_hash
        assert [tuple(h) for h in head] == [(3, rows[2].entry_hash)]
        result = mig.flask("audit-verify", "--quiet")
        assert "Log audit utuh: 3 entri" in result.stdout
        with mig.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET ip = '192.0.2.99' WHERE seq = 2"))
        broken = mig.flask("audit-verify", "--quiet", check=False)
        assert broken.returncode == 1 and "urutan 2" in broken.stderr and "telah diubah" in broken.stderr
