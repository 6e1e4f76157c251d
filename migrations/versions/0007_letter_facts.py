"""letter facts as printed: the signer's name and position and the resident's name and NIK, kept on the letter

The verification page must show what the letter says. Officials are edited in place (a new lurah, a corrected
title) and the register changes (a corrected name), so reading them through joins would let an old letter's
page drift from its PDF. Existing letters are filled from the joins once.

Revision ID: 0007_letter_facts
Revises: 0006_letters
Create Date: 2026-11-28 02:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_letter_facts'
down_revision = '0006_letters'
branch_labels = None
depends_on = None

COLUMNS = (("signer_name", 120), ("signer_position", 120), ("subject_name", 120), ("subject_nik", 16))


def upgrade():
    with op.batch_alter_table('letters', schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=''))
    # portable correlated subqueries (SQLite and PostgreSQL)
    op.execute(
        "UPDATE letters SET "
        "signer_name = COALESCE((SELECT o.name FROM officials o WHERE o.id = letters.official_id),"
        " (SELECT u.full_name FROM users u WHERE u.id = letters.signer_user_id), ''), "
        "signer_position = COALESCE((SELECT o.position_title FROM officials o WHERE o.id = letters.official_id), ''), "
        "subject_name = COALESCE((SELECT r.full_name FROM letter_requests q JOIN residents r"
        " ON r.id = q.subject_resident_id WHERE q.id = letters.request_id), ''), "
        "subject_nik = COALESCE((SELECT r.nik FROM letter_requests q JOIN residents r"
        " ON r.id = q.subject_resident_id WHERE q.id = letters.request_id), '')"
    )


def downgrade():
    with op.batch_alter_table('letters', schema=None) as batch_op:
        for name, _length in reversed(COLUMNS):
            batch_op.drop_column(name)
