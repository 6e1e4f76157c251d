"""question photo retention: a question's photo is deleted with the request's documents, ATTACHMENT_RETENTION_DAYS
after the request closed; the message keeps when (issue 15)

Revision ID: 0029_question_photo_retention
Revises: 0028_notice_keys
Create Date: 2026-12-07 17:30:00

One nullable column: no photo has been purged before this.
"""
from alembic import op
import sqlalchemy as sa


revision = '0029_question_photo_retention'
down_revision = "0028_notice_keys"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('request_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_purged_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('request_messages', schema=None) as batch_op:
        batch_op.drop_column('photo_purged_at')
