"""residents' requests about their personal data: correction and deletion (UU PDP)

Revision ID: 0014_data_rights
Revises: 0013_complaints
Create Date: 2026-11-28 05:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014_data_rights'
down_revision = '0013_complaints'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'data_rights_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('field', sa.String(length=30), nullable=True),
        sa.Column('old_value', sa.String(length=255), nullable=True),
        sa.Column('requested_value', sa.String(length=255), nullable=True),
        sa.Column('explanation', sa.Text(), nullable=True),
        sa.Column('evidence_photo', sa.String(length=80), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('applied_value', sa.String(length=255), nullable=True),
        sa.Column('outcome_note', sa.Text(), nullable=True),
        sa.Column('summary', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'],
                                name=op.f('fk_data_rights_requests_resolved_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_data_rights_requests_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_rights_requests')),
    )
    with op.batch_alter_table('data_rights_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_rights_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_rights_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_rights_requests_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('data_rights_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_rights_requests_user_id'))
        batch_op.drop_index(batch_op.f('ix_data_rights_requests_status'))
        batch_op.drop_index(batch_op.f('ix_data_rights_requests_created_at'))
    op.drop_table('data_rights_requests')
