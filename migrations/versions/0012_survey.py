"""satisfaction survey (IKM): one anonymous response per finished request

Revision ID: 0012_survey
Revises: 0011_report_stats
Create Date: 2026-11-28 05:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_survey'
down_revision = '0011_report_stats'
branch_labels = None
depends_on = None

ANSWERS = [f'u{i}' for i in range(1, 10)]


def upgrade():
    op.create_table(
        'survey_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=False),
        *[sa.Column(c, sa.SmallInteger(), nullable=False) for c in ANSWERS],
        sa.Column('comment', sa.Text(), nullable=True),
        *[sa.CheckConstraint(f'{c} BETWEEN 1 AND 4', name=op.f(f'ck_survey_responses_{c}')) for c in ANSWERS],
        sa.ForeignKeyConstraint(['request_id'], ['letter_requests.id'],
                                name=op.f('fk_survey_responses_request_id_letter_requests'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
        sa.UniqueConstraint('request_id', name=op.f('uq_survey_responses_request_id')),
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_responses_answered_at'), ['answered_at'], unique=False)


def downgrade():
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_responses_answered_at'))
    op.drop_table('survey_responses')
