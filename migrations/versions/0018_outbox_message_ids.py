"""outbox message ids and per-message claims: every outbox message gets its own stable id (uid), offered to
the gateway as {id} and Idempotency-Key and used as the e-mail's Message-ID; claimed_by names the notifier
sending a message now (its short lease ends at next_attempt_at)

Revision ID: 0018_outbox_message_ids
Revises: 0017_family_trust
Create Date: 2026-12-09 09:00:00

Existing rows get a random id each (sent ones too: the admin's outbox page shows it). A message that an
older notifier had claimed when the app was stopped keeps the old 15-minute lease in next_attempt_at and is
sent when it ends, as before.
"""
import uuid

from alembic import op
import sqlalchemy as sa


revision = '0018_outbox_message_ids'
down_revision = '0017_family_trust'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uid', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=True))
    conn = op.get_bind()
    ids = conn.execute(sa.text("SELECT id FROM outbox_messages")).scalars().all()
    if ids:
        conn.execute(sa.text("UPDATE outbox_messages SET uid = :uid WHERE id = :id"),
                     [{"uid": str(uuid.uuid4()), "id": i} for i in ids])
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('uid', existing_type=sa.String(length=36), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_messages_uid'), ['uid'])


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbox_messages_uid'), type_='unique')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('uid')
