"""the installed app's colours on the kelurahan profile (web app manifest, theme-color)

Revision ID: 0008_pwa
Revises: 0007_letter_facts
Create Date: 2026-11-28 02:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_pwa'
down_revision = '0007_letter_facts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kelurahan_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('theme_color', sa.String(length=7), nullable=False,
                                      server_default='#0b5d3b'))
        batch_op.add_column(sa.Column('background_color', sa.String(length=7), nullable=False,
                                      server_default='#ffffff'))


def downgrade():
    with op.batch_alter_table('kelurahan_profile', schema=None) as batch_op:
        batch_op.drop_column('background_color')
        batch_op.drop_column('theme_color')
