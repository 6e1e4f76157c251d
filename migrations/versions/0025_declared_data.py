"""declared data: the values a request's applicant gave because the register lacked them, checked by staff; the
office's clock starts at the RT/RW pengantar (issue 15)

Revision ID: 0025_declared_data
Revises: 0024_registration_uploads
Create Date: 2026-12-12 09:00:00

``request_declared_values`` holds, per request, a value of the letter's subject the register lacked (religion,
marital status, occupation, …) as the applicant gave it and as staff confirmed or corrected it
(sempelmas/models/declared.py).

A request's ``due_at`` is now counted from when the office receives it (the last endorsement), not from the
submission (sempelmas/services/requests/promise.py): requests still waiting for the RT/RW, or returned by them, lose
the date they were promised from the submission and get one when endorsed. Those already at the office keep theirs.
Downgrading drops the table; the waiting requests keep no due time (the old code shows none and counts none late).
"""
from alembic import op
import sqlalchemy as sa


revision = '0025_declared_data'
down_revision = "0024_registration_uploads"
branch_labels = None
depends_on = None

WAITING = ('menunggu_pengantar', 'dikembalikan')


def upgrade():
    op.create_table(
        'request_declared_values',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=30), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.Column('declared_value', sa.String(length=255), nullable=False),
        sa.Column('declared_by_id', sa.Integer(), nullable=True),
        sa.Column('declared_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('checked_by_id', sa.Integer(), nullable=True),
        sa.Column('checked_at', sa.DateTime(), nullable=True),
        sa.Column('register_updated', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['letter_requests.id'], ondelete='CASCADE',
                                name=op.f('fk_request_declared_values_request_id_letter_requests')),
        sa.ForeignKeyConstraint(['declared_by_id'], ['users.id'],
                                name=op.f('fk_request_declared_values_declared_by_id_users')),
        sa.ForeignKeyConstraint(['checked_by_id'], ['users.id'],
                                name=op.f('fk_request_declared_values_checked_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_request_declared_values')),
        sa.UniqueConstraint('request_id', 'field', name='uq_request_declared_values_request_field'),
    )
    with op.batch_alter_table('request_declared_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_declared_values_request_id'), ['request_id'], unique=False)
    requests = sa.table('letter_requests', sa.column('status', sa.String), sa.column('due_at', sa.DateTime))
    op.execute(requests.update().where(requests.c.status.in_(WAITING)).values(due_at=None))


def downgrade():
    with op.batch_alter_table('request_declared_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_declared_values_request_id'))
    op.drop_table('request_declared_values')
