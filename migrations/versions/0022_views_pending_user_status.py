"""views pending, users' status indexed: a viewed request is one plain INSERT, chained into the audit log in
batches; the accounts waiting for verification found by an index (issue 14)

Revision ID: 0022_views_pending_user_status
Revises: 0021_drop_data_version
Create Date: 2026-12-11 12:00:00

Viewing a request's detail appended to the hash chain on every GET, which locked the chain's one head row (shared
by every audited action) once per page view. Views now wait in this table and are moved into the chain in
batches (sempelmas.models.audit.PendingView). Downgrading drops the table; it refuses while views still wait
(`flask --app app audit-verify` chains them), so none is lost.

The RT head's home page, the staff's and the account review lists look for the accounts waiting for verification:
without an index on users.status that read every account of the kelurahan (10,000 in bench/bench_pages.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_views_pending_user_status'
down_revision = '0021_drop_data_version'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'audit_views_pending',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('on_behalf_of_id', sa.Integer(), nullable=True),
        sa.Column('ip', sa.String(length=45), nullable=True),
        sa.Column('action', sa.String(length=60), nullable=False),
        sa.Column('object_type', sa.String(length=40), nullable=True),
        sa.Column('object_id', sa.String(length=40), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_views_pending_actor_id_users')),
        sa.ForeignKeyConstraint(['on_behalf_of_id'], ['users.id'],
                                name=op.f('fk_audit_views_pending_on_behalf_of_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_views_pending')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_status'), ['status'], unique=False)


def downgrade():
    # a view still waiting would be lost with the table: `flask --app app audit-verify` chains them first
    waiting = op.get_bind().execute(sa.text('SELECT count(*) FROM audit_views_pending')).scalar()
    if waiting:
        raise RuntimeError(f'{waiting} page view(s) not chained into the audit log yet: run '
                           '`flask --app app audit-verify` (it chains them), then downgrade again')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_status'))
    op.drop_table('audit_views_pending')
