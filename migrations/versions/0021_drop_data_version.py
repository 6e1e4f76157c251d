"""drop data_version: the whole-page cache it served is gone (issue 14)

Revision ID: 0021_drop_data_version
Revises: 0020_import_files
Create Date: 2026-12-11 09:00:00

Every writing transaction updated this one row, which serialised all writers on it (a row lock every write
waited for on PostgreSQL) only so that two pages could be kept rendered in the web workers' memory. Nothing
reads it any more. Downgrading brings the table back as 0015 made it, with a random first number.
"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = '0021_drop_data_version'
down_revision = '0020_import_files'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('data_version')


def downgrade():
    table = op.create_table(
        'data_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_version')),
    )
    # a random start: a restored or re-created database never repeats another one's numbers
    op.bulk_insert(table, [{'id': 1, 'version': secrets.randbelow(2**62)}])
