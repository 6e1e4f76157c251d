"""questions on a request ("Tanya petugas"), and the office's WhatsApp number in the profile (issue 15)

Revision ID: 0026_request_questions
Revises: 0025_declared_data
Create Date: 2026-12-07 16:00:00

A thread of messages per request between the resident's side and the office (sempelmas.models.questions), each
read once by the other side (the unread counts) and possibly turned into a fix request. The profile gains the
office's WhatsApp number, shown to residents as a wa.me link next to the phone.
"""
from alembic import op
import sqlalchemy as sa


revision = '0026_request_questions'
down_revision = "0025_declared_data"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'request_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('side', sa.String(length=8), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('on_behalf_of_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('photo', sa.String(length=80), nullable=True),
        sa.Column('idempotency_key', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_at', sa.DateTime(), nullable=True),
        sa.Column('fix_requested_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['letter_requests.id'],
                                name=op.f('fk_request_messages_request_id_letter_requests'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_request_messages_author_id_users')),
        sa.ForeignKeyConstraint(['on_behalf_of_id'], ['users.id'],
                                name=op.f('fk_request_messages_on_behalf_of_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_request_messages')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_request_messages_idempotency_key')),
    )
    with op.batch_alter_table('request_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_messages_request_id'), ['request_id'], unique=False)
        batch_op.create_index('ix_request_messages_unread', ['side', 'read_at', 'request_id'], unique=False)
    with op.batch_alter_table('kelurahan_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('whatsapp', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('kelurahan_profile', schema=None) as batch_op:
        batch_op.drop_column('whatsapp')
    with op.batch_alter_table('request_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_request_messages_unread')
        batch_op.drop_index(batch_op.f('ix_request_messages_request_id'))
    op.drop_table('request_messages')
