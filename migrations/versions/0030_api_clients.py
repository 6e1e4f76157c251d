"""api clients: the integration API's callers, their hashed keys, scopes, allowed addresses, rate limits (issue 16)

Revision ID: 0030_api_clients
Revises: 0029_question_photo_retention
Create Date: 2026-12-07 18:45:00

One new table; nothing existing changes.
"""
from alembic import op
import sqlalchemy as sa


revision = '0030_api_clients'
down_revision = "0029_question_photo_retention"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_clients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('key_prefix', sa.String(length=16), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.JSON(), nullable=False),
        sa.Column('allowed_sources', sa.JSON(), nullable=False),
        sa.Column('rate_limit', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('rotated_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_clients_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
        sa.UniqueConstraint('key_prefix', name=op.f('uq_api_clients_key_prefix')),
        sa.UniqueConstraint('name', name=op.f('uq_api_clients_name')),
    )


def downgrade():
    op.drop_table('api_clients')
