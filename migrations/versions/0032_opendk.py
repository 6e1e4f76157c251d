"""OpenDK connector: its settings and the log of signed letters sent to the kecamatan's OpenDK (issue 16)

Revision ID: 0032_opendk
Revises: 0031_webhooks
Create Date: 2026-12-07 19:00:00

Two new tables; the letters themselves travel as ordinary outbox rows (channel "opendk"). Downgrading drops the
tables and the OpenDK messages still in the outbox (they have nowhere to go).
"""
from alembic import op
import sqlalchemy as sa


revision = '0032_opendk'
down_revision = "0031_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'opendk_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('base_url', sa.String(length=300), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('password_enc', sa.Text(), nullable=True),
        sa.Column('api_key_enc', sa.Text(), nullable=True),
        sa.Column('desa_id', sa.String(length=20), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_opendk_settings_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_opendk_settings')),
    )
    op.create_table(
        'opendk_letters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('held_reason', sa.Text(), nullable=True),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_opendk_letters_letter_id_letters')),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox_messages.id'],
                                name=op.f('fk_opendk_letters_outbox_id_outbox_messages'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_opendk_letters')),
        sa.UniqueConstraint('letter_id', name=op.f('uq_opendk_letters_letter_id')),
    )


def downgrade():
    op.drop_table('opendk_letters')
    op.drop_table('opendk_settings')
    outbox = sa.table('outbox_messages', sa.column('channel', sa.String))
    op.execute(sa.delete(outbox).where(outbox.c.channel == 'opendk'))
