"""family trust: an account gets its register entry at verification, never at registration

Before this revision registering linked the new, unverified account to the register entry of the NIK it
typed, or made an entry (source "registrasi") from what it typed, KK number included; every family check
then trusted that KK. This revision repairs existing data to the new rules (issue 12):

* accounts waiting for verification or rejected (and disabled ones whose last decision was a rejection or
  that were never verified) lose their register link, so the NIK is free for its real owner;
* entries typed at registration that a verified (or since disabled) account still holds were checked at
  its verification: their source becomes "verifikasi" (trusted);
* entries typed at registration that nothing references any more (no account, no letter request) are
  removed with their KK history. Those a request still names stay, as "registrasi": nobody's family.

Data only, no schema change. The downgrade gives "verifikasi" back its old name; removed links and rows
are not restored (they were the fault).

Revision ID: 0017_family_trust
Revises: 0016_user_sessions
Create Date: 2026-11-29 09:00:00

"""
from alembic import op


revision = '0017_family_trust'
down_revision = '0016_user_sessions'
branch_labels = None
depends_on = None

# portable SQL (SQLite and PostgreSQL): correlated subqueries and NOT EXISTS, no UPDATE … FROM
LAST_DECISION = (
    "(SELECT a.action FROM audit_log a WHERE a.object_type = 'users'"
    " AND a.object_id = CAST(users.id AS VARCHAR(40))"
    " AND a.action IN ('account.verify', 'account.reject') ORDER BY a.id DESC LIMIT 1)"
)


def upgrade():
    op.execute(
        "UPDATE users SET resident_id = NULL WHERE resident_id IS NOT NULL AND ("
        " status IN ('menunggu_verifikasi', 'ditolak')"
        f" OR (status = 'nonaktif' AND (verified_at IS NULL OR {LAST_DECISION} = 'account.reject')))"
    )
    op.execute(
        "UPDATE residents SET source = 'verifikasi' WHERE source = 'registrasi' AND EXISTS ("
        " SELECT 1 FROM users u WHERE u.resident_id = residents.id"
        " AND u.status IN ('terverifikasi', 'nonaktif'))"
    )
    unreferenced = (
        "source = 'registrasi'"
        " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.resident_id = residents.id)"
        " AND NOT EXISTS (SELECT 1 FROM letter_requests q WHERE q.subject_resident_id = residents.id)"
    )
    op.execute(f"DELETE FROM kk_history WHERE resident_id IN (SELECT id FROM residents WHERE {unreferenced})")
    op.execute(f"DELETE FROM residents WHERE {unreferenced}")


def downgrade():
    op.execute("UPDATE residents SET source = 'registrasi' WHERE source = 'verifikasi'")
