"""push subscriptions: the phones a resident asked to be told on by Web Push, the outbox's fourth channel
(issue 15)

Revision ID: 0027_push_subscriptions
Revises: 0026_request_questions
Create Date: 2026-12-12 10:00:00

A new table only; the outbox's push messages are ordinary outbox rows (channel "push", the recipient being the
subscription's id). Downgrading drops the table and the push messages still queued (they have nowhere to go).
"""
from alembic import op
import sqlalchemy as sa


revision = '0027_push_subscriptions'
down_revision = "0026_request_questions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'push_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=43), nullable=True),
        sa.Column('endpoint', sa.String(length=1000), nullable=False),
        sa.Column('p256dh', sa.String(length=120), nullable=False),
        sa.Column('auth', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_success_at', sa.DateTime(), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_subscriptions_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['user_sessions.id'],
                                name=op.f('fk_push_subscriptions_session_id_user_sessions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
        sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint')),
    )
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscriptions_user_id'), ['user_id'], unique=False)


def downgrade():
    outbox = sa.table('outbox_messages', sa.column('channel', sa.String))
    op.execute(sa.delete(outbox).where(outbox.c.channel == 'push'))
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscriptions_user_id'))
    op.drop_table('push_subscriptions')
