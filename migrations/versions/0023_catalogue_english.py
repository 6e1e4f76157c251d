"""catalogue English: each service, requirement and form field gets an English text next to the Indonesian one
(issue 15, "English throughout")

Revision ID: 0023_catalogue_english
Revises: 0022_views_pending_user_status
Create Date: 2026-12-07 16:00:00

Shown to a reader who chose English; empty means the Indonesian text is shown. Letters stay Indonesian. Existing
service versions (the snapshots requests keep) are not rewritten: without the English keys they show Indonesian.
Downgrading drops the English texts.
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_catalogue_english'
down_revision = '0022_views_pending_user_status'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('description_en', sa.Text(), server_default='', nullable=False))
    with op.batch_alter_table('service_requirements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label_en', sa.String(length=200), nullable=True))
    with op.batch_alter_table('service_fields', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label_en', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('help_text_en', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('choices_en', sa.JSON(), nullable=True))


def downgrade():
    # SQLite drops these plain columns in place (3.35+): copying the tables would trip over the foreign keys
    # that point at services
    with op.batch_alter_table('service_fields', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('choices_en')
        batch_op.drop_column('help_text_en')
        batch_op.drop_column('label_en')
    with op.batch_alter_table('service_requirements', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('label_en')
    with op.batch_alter_table('services', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('description_en')
        batch_op.drop_column('name_en')
