"""0009 chains the audit entries written before it, in id order, exactly as the app would."""

import os
import subprocess
import sys
from datetime import datetime

from sqlalchemy import create_engine, text

from tests.test_cli import ROOT, _insert, _migration_url


def test_audit_chain_migration_back_fills_existing_entries_so_they_verify(tmp_path):
    url, drop = _migration_url(tmp_path)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "mig-test", "SEMPELMAS_ENV": "development"}

    def flask(*args, check=True):
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    try:
        flask("db", "upgrade", "0008_pwa")
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                user = _insert(conn, "users", full_name="Admin", username="admin", password_hash="x")
                for i, (action, details) in enumerate([("auth.login", {}), ("profile.update", {"nama": "Jagalan"}),
                                                       ("letter.revoke", {"alasan": "salah ketik — ganti"})]):
                    _insert(conn, "audit_log", created_at=datetime(2026, 3, 4, 5, 6, 7, 890 + i), actor_id=user,
                            ip="192.0.2.1", action=action, object_type="users", object_id=str(user),
                            details=details)
            flask("db", "upgrade")
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT seq, prev_hash, entry_hash FROM audit_log ORDER BY id")).all()
                head = conn.execute(text("SELECT seq, last_hash FROM audit_chain_head")).all()
            assert [r.seq for r in rows] == [1, 2, 3]
            assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == rows[0].entry_hash
            assert [tuple(h) for h in head] == [(3, rows[2].entry_hash)]
            result = flask("audit-verify", "--quiet")
            assert "Log audit utuh: 3 entri" in result.stdout
            with engine.begin() as conn:
                conn.execute(text("UPDATE audit_log SET ip = '192.0.2.99' WHERE seq = 2"))
            broken = flask("audit-verify", "--quiet", check=False)
            assert broken.returncode == 1 and "urutan 2" in broken.stderr and "telah diubah" in broken.stderr
        finally:
            engine.dispose()
    finally:
        drop()
