"""data_version: a number every writing transaction changes, for the whole-page cache

Revision ID: 0015_data_version
Revises: 0014_data_rights
Create Date: 2026-11-28 08:10:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0015_data_version'
down_revision = '0014_data_rights'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'data_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version')),
    )
    # a random start: a restored or re-created database never repeats another one's numbers
    op.bulk_insert(table, [{'id': 1, 'version': secrets.randbelow(2**62)}])


def downgrade():
    op.drop_table('data_version')
