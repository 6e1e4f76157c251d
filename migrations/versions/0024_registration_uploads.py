"""registration uploads: a KTP photo kept across a registration's failed submit (issue 15)

Revision ID: 0024_registration_uploads
Revises: 0023_catalogue_english
Create Date: 2026-12-07 16:00:00

A registration refused for a password typo or a NIK error used to drop the KTP photo it had already checked and
stored: the person had to pick it again. The photo is now held for an hour under a random token bound to the
browser session (sempelmas.models.registration_uploads). Downgrading drops the table: a held photo is then named
by no row, and the upload sweep deletes its file.
"""
from alembic import op
import sqlalchemy as sa


revision = '0024_registration_uploads'
down_revision = "0023_catalogue_english"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'registration_uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('session_hash', sa.String(length=64), nullable=False),
        sa.Column('stored_name', sa.String(length=80), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_uploads')),
        sa.UniqueConstraint('token', name=op.f('uq_registration_uploads_token')),
        sa.UniqueConstraint('stored_name', name=op.f('uq_registration_uploads_stored_name')),
    )
    with op.batch_alter_table('registration_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registration_uploads_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('registration_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registration_uploads_expires_at'))
    op.drop_table('registration_uploads')
