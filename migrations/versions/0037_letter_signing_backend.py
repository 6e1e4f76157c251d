"""letters (and test letters) record how they were signed: the signer backend and the signer certificate's issuer CN

Revision ID: 0037_letter_signing_backend
Revises: 0036_signer_backends
Create Date: 2026-12-08 01:30:00

Every existing letter was signed by the kelurahan CA ("local"), the only backend before 0036 took effect; their
issuer CN stays NULL (the verification page then names the kelurahan CA from the profile).
"""
import sqlalchemy as sa
from alembic import op


revision = '0037_letter_signing_backend'
down_revision = "0036_signer_backends"
branch_labels = None
depends_on = None


TABLES = ('letters', 'test_letters')  # a test letter records the same (models/test_letters.py)


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('signing_backend', sa.String(length=10), nullable=False,
                                          server_default='local'))
            batch_op.add_column(sa.Column('issuer_cn', sa.String(length=120), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('issuer_cn')
            batch_op.drop_column('signing_backend')
