"""hash-chained audit log: seq, prev_hash, entry_hash on every entry and a one-row chain head

Revision ID: 0009_audit_chain
Revises: 0008_pwa
Create Date: 2026-11-28 05:10:00

Existing entries are chained in id order with the same canonical serialisation the app uses.
"""
from alembic import op
import sqlalchemy as sa

from sempelmas.domain import audit_chain


revision = '0009_audit_chain'
down_revision = '0008_pwa'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=True))

    log = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('created_at', sa.DateTime),
                   sa.column('actor_id', sa.Integer), sa.column('on_behalf_of_id', sa.Integer),
                   sa.column('ip', sa.String), sa.column('action', sa.String),
                   sa.column('object_type', sa.String), sa.column('object_id', sa.String),
                   sa.column('details', sa.JSON), sa.column('seq', sa.Integer),
                   sa.column('prev_hash', sa.String), sa.column('entry_hash', sa.String))
    conn = op.get_bind()
    seq, prev, last_id = 0, audit_chain.GENESIS, 0
    while True:  # keyset batches: bounded memory however long the log
        rows = conn.execute(sa.select(log).where(log.c.id > last_id).order_by(log.c.id).limit(BATCH)).all()
        if not rows:
            break
        updates = []
        for row in rows:
            seq += 1
            fields = dict(row._mapping, seq=seq, prev_hash=prev)
            prev = audit_chain.entry_hash(fields)
            updates.append({"row_id": row.id, "s": seq, "p": fields["prev_hash"], "h": prev})
        conn.execute(log.update().where(log.c.id == sa.bindparam("row_id"))
                     .values(seq=sa.bindparam("s"), prev_hash=sa.bindparam("p"), entry_hash=sa.bindparam("h")),
                     updates)
        last_id = rows[-1].id
    conn.execute(sa.text("INSERT INTO audit_chain_head (id, seq, last_hash) VALUES (1, :s, :h)"),
                 {"s": seq, "h": prev})

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('entry_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_seq'), ['seq'])
        batch_op.create_index(batch_op.f('ix_audit_log_object_type'), ['object_type', 'object_id'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_object_type'))
        batch_op.drop_constraint(batch_op.f('uq_audit_log_seq'), type_='unique')
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    op.drop_table('audit_chain_head')
