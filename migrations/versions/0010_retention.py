"""attachments deleted under the retention policy keep their row with the time the file went

Revision ID: 0010_retention
Revises: 0009_audit_chain
Create Date: 2026-11-28 05:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_retention'
down_revision = '0009_audit_chain'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('request_attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('request_attachments', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
