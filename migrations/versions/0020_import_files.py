"""import files: a register import's uploaded file is named by its jobs (jobs.import_file), so it is kept only
while needed and the upload sweep and backups know it (issue 13)

Revision ID: 0020_import_files
Revises: 0019_job_leases
Create Date: 2026-12-10 09:00:00

Existing import jobs whose file was uploaded through the admin page (a payload path in an ``imports`` folder) name
it when it is still needed: a job waiting or running, or a finished preview that was not applied. The files of
imports applied or failed name no job afterwards, so the upload sweep (the worker's start after the upgrade,
`flask doctor`, the next backup) deletes them, and the next retention run deletes the files of previews older
than IMPORT_PREVIEW_DAYS. Downgrading drops the column; the files left then are never deleted, as before.
"""
import json
from pathlib import PurePosixPath

from alembic import op
import sqlalchemy as sa


revision = '0020_import_files'
down_revision = '0019_job_leases'
branch_labels = None
depends_on = None

KINDS = ('register_preview', 'register_apply')


def _payload(value):
    if isinstance(value, str):  # SQLite hands JSON back as text here
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_file', sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_import_file'), ['import_file'], unique=False)

    conn = op.get_bind()
    jobs = sa.table('jobs', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                    sa.column('status', sa.String), sa.column('payload', sa.Text),
                    sa.column('import_file', sa.String))
    rows = [(r.id, r.kind, r.status, _payload(r.payload))
            for r in conn.execute(sa.select(jobs.c.id, jobs.c.kind, jobs.c.status, jobs.c.payload)
                                  .where(jobs.c.kind.in_(KINDS)))]
    applied = {p.get('preview_job') for _id, kind, status, p in rows if kind == 'register_apply' and status == 'selesai'}
    for job_id, kind, status, payload in rows:
        path = PurePosixPath(str(payload.get('path') or ''))
        if path.parent.name != 'imports' or not path.name:
            continue  # a file the admin page did not upload (the CLI's own)
        if status == 'gagal' or (kind == 'register_apply' and status == 'selesai') or job_id in applied:
            continue  # done with
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(import_file=path.name))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_import_file'))
        batch_op.drop_column('import_file')
