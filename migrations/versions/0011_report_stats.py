"""report statistics: covering indexes on letter requests for the dashboard and the monthly recap

Revision ID: 0011_report_stats
Revises: 0010_retention
Create Date: 2026-11-28 05:10:00

"""
from alembic import op


revision = '0011_report_stats'
down_revision = '0010_retention'
branch_labels = None
depends_on = None


def upgrade():
    # services.accountability.service_stats groups requests closed (and submitted) in a period: with these the queries read
    # the index only, instead of one table lookup per row through the status index (bench/bench_dashboard.py)
    with op.batch_alter_table('letter_requests', schema=None) as batch_op:
        batch_op.create_index('ix_letter_requests_closed_stats',
                              ['closed_at', 'status', 'service_version_id', 'submitted_at', 'due_at'], unique=False)
        batch_op.create_index('ix_letter_requests_submitted_stats',
                              ['submitted_at', 'service_version_id', 'status', 'subject_resident_id'], unique=False)


def downgrade():
    with op.batch_alter_table('letter_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_letter_requests_submitted_stats')
        batch_op.drop_index('ix_letter_requests_closed_stats')
