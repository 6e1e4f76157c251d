"""holidays: national holidays and cuti bersama, skipped by service-time due dates

Revision ID: 0004_holidays
Revises: 0003_requests
Create Date: 2026-11-27 22:11:43.491380

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_holidays'
down_revision = '0003_requests'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_holidays_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holidays')),
    sa.UniqueConstraint('date', name=op.f('uq_holidays_date'))
    )


def downgrade():
    op.drop_table('holidays')
