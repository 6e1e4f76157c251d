"""test letters ("Surat uji"): signed while going live, in a table of their own (never a letter)

Revision ID: 0035_test_letters
Revises: 0033_api_letter_index
Create Date: 2026-12-07 20:10:00

Their numbers come from the counter scope "uji" in letter_counters (no new counter table); the PDF is kept in the
row. Nothing else changes.
"""
import sqlalchemy as sa
from alembic import op


revision = '0035_test_letters'
down_revision = "0033_api_letter_index"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'test_letters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=80), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('verify_code', sa.String(length=40), nullable=False),
        sa.Column('signed_at', sa.DateTime(), nullable=False),
        sa.Column('signer_user_id', sa.Integer(), nullable=False),
        sa.Column('official_id', sa.Integer(), nullable=True),
        sa.Column('certificate_id', sa.Integer(), nullable=True),
        sa.Column('capacity', sa.String(length=6), nullable=False),
        sa.Column('signer_name', sa.String(length=120), nullable=False),
        sa.Column('signer_position', sa.String(length=120), nullable=False),
        sa.Column('pdf', sa.LargeBinary(), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
        sa.Column('pdf_size', sa.Integer(), nullable=False),
        sa.Column('first_viewed_at', sa.DateTime(), nullable=True),
        sa.Column('first_view_agent', sa.String(length=300), nullable=True),
        sa.Column('phone_viewed_at', sa.DateTime(), nullable=True),
        sa.Column('phone_view_agent', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['certificate_id'], ['signing_certificates.id']),
        sa.ForeignKeyConstraint(['official_id'], ['officials.id']),
        sa.ForeignKeyConstraint(['signer_user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
        sa.UniqueConstraint('verify_code'),
    )
    with op.batch_alter_table('test_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_letters_signer_user_id'), ['signer_user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('test_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_letters_signer_user_id'))
    op.drop_table('test_letters')
