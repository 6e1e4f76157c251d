"""signer backends: per official, who signs their letters (the kelurahan CA or BSrE) and the NIK BSrE knows

Revision ID: 0036_signer_backends
Revises: 0035_test_letters
Create Date: 2026-12-08 01:00:00

Every existing official keeps signing with the kelurahan CA ("local"): nothing changes until the admin chooses.
"""
import sqlalchemy as sa
from alembic import op


revision = '0036_signer_backends'
down_revision = "0035_test_letters"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('officials') as batch_op:
        batch_op.add_column(sa.Column('signing_backend', sa.String(length=10), nullable=False,
                                      server_default='local'))
        batch_op.add_column(sa.Column('bsre_nik', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('officials') as batch_op:
        batch_op.drop_column('bsre_nik')
        batch_op.drop_column('signing_backend')
