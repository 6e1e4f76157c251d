"""requests: letter requests, history, tracking counters

Revision ID: 0003_requests
Revises: 0002_catalogue
Create Date: 2026-11-27 22:04:52.076195

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_requests'
down_revision = '0002_catalogue'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('tracking_counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_counters')),
    sa.UniqueConstraint('prefix', 'year', name=op.f('uq_tracking_counters_prefix'))
    )
    op.create_table('letter_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tracking_number', sa.String(length=24), nullable=False),
    sa.Column('service_version_id', sa.Integer(), nullable=False),
    sa.Column('applicant_user_id', sa.Integer(), nullable=False),
    sa.Column('subject_resident_id', sa.Integer(), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('needs_paper_pengantar', sa.Boolean(), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=True),
    sa.Column('fix_request', sa.JSON(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['applicant_user_id'], ['users.id'], name=op.f('fk_letter_requests_applicant_user_id_users')),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_letter_requests_claimed_by_id_users')),
    sa.ForeignKeyConstraint(['service_version_id'], ['service_versions.id'], name=op.f('fk_letter_requests_service_version_id_service_versions')),
    sa.ForeignKeyConstraint(['subject_resident_id'], ['residents.id'], name=op.f('fk_letter_requests_subject_resident_id_residents')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_letter_requests_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_requests')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_letter_requests_idempotency_key')),
    sa.UniqueConstraint('tracking_number', name=op.f('uq_letter_requests_tracking_number'))
    )
    with op.batch_alter_table('letter_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_requests_applicant_user_id'), ['applicant_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_requests_claimed_by_id'), ['claimed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_requests_service_version_id'), ['service_version_id'], unique=False)
        batch_op.create_index('ix_letter_requests_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_requests_subject_resident_id'), ['subject_resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_letter_requests_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('request_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('on_behalf_of_id', sa.Integer(), nullable=True),
    sa.Column('from_status', sa.String(length=24), nullable=True),
    sa.Column('to_status', sa.String(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_request_events_actor_id_users')),
    sa.ForeignKeyConstraint(['on_behalf_of_id'], ['users.id'], name=op.f('fk_request_events_on_behalf_of_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['letter_requests.id'], name=op.f('fk_request_events_request_id_letter_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_events'))
    )
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_events_request_id'), ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('request_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_events_request_id'))

    op.drop_table('request_events')
    with op.batch_alter_table('letter_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_requests_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_letter_requests_subject_resident_id'))
        batch_op.drop_index('ix_letter_requests_status_due_at')
        batch_op.drop_index(batch_op.f('ix_letter_requests_service_version_id'))
        batch_op.drop_index(batch_op.f('ix_letter_requests_claimed_by_id'))
        batch_op.drop_index(batch_op.f('ix_letter_requests_applicant_user_id'))

    op.drop_table('letter_requests')
    op.drop_table('tracking_counters')
