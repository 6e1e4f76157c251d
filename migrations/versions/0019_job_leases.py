"""job leases: a running job has an owner token and a heartbeat, so a job whose process died is taken up
again or marked failed (issue 13); retried jobs count their attempts and wait out a backoff

Revision ID: 0019_job_leases
Revises: 0018_outbox_message_ids
Create Date: 2026-12-09 09:00:00

Jobs already "berjalan" when this runs have no heartbeat: the worker's first recovery round treats them as
abandoned (their worker was stopped for the upgrade) and retries or fails them by their kind's rule.
"""
from alembic import op
import sqlalchemy as sa


revision = '0019_job_leases'
down_revision = '0018_outbox_message_ids'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_token', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('run_after', sa.DateTime(), nullable=True))
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.alter_column('attempts', server_default=None)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('run_after')
        batch_op.drop_column('attempts')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('lease_token')
