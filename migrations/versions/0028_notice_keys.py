"""notice keys: a notification stored as a message key plus values, rendered in the reader's language; the user's
chosen language (issue 15)

Revision ID: 0028_notice_keys
Revises: 0027_push_subscriptions
Create Date: 2026-12-13 10:00:00

New nullable columns only: existing notifications keep their stored text (message_key NULL shows ``message`` as
before); every user's language starts as Indonesian. Downgrading drops the columns (the stored Indonesian text
stays in ``message``).
"""
from alembic import op
import sqlalchemy as sa


revision = '0028_notice_keys'
down_revision = "0027_push_subscriptions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('message_values', sa.JSON(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lang', sa.String(length=5), server_default='id', nullable=False))


def downgrade():
    # a plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 too): a batch copy of users would trip over the rows
    # that point at them
    op.drop_column('users', 'lang')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('message_values')
        batch_op.drop_column('message_key')
