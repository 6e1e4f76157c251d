"""catalogue: services, requirements, form fields, versions

Revision ID: 0002_catalogue
Revises: 0001_foundation
Create Date: 2026-11-27 21:55:48.440514

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_catalogue'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('who_may_request', sa.String(length=20), nullable=False),
    sa.Column('needs_rt_endorsement', sa.Boolean(), nullable=False),
    sa.Column('paper_pengantar_when_no_rt_account', sa.Boolean(), nullable=False),
    sa.Column('service_time_value', sa.Integer(), nullable=False),
    sa.Column('service_time_unit', sa.String(length=10), nullable=False),
    sa.Column('classification_code', sa.String(length=20), nullable=False),
    sa.Column('letter_template', sa.String(length=60), nullable=False),
    sa.Column('validity_days', sa.Integer(), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('code', name=op.f('uq_services_code'))
    )
    op.create_table('service_fields',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=True),
    sa.Column('help_text', sa.String(length=300), nullable=True),
    sa.Column('max_length', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_fields_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_fields')),
    sa.UniqueConstraint('service_id', 'name', name=op.f('uq_service_fields_service_id'))
    )
    with op.batch_alter_table('service_fields', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_fields_service_id'), ['service_id'], unique=False)

    op.create_table('service_requirements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('paper_original_allowed', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_requirements_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_requirements')),
    sa.UniqueConstraint('service_id', 'code', name=op.f('uq_service_requirements_service_id'))
    )
    with op.batch_alter_table('service_requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_requirements_service_id'), ['service_id'], unique=False)

    op.create_table('service_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_service_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_service_versions_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_versions')),
    sa.UniqueConstraint('service_id', 'version', name=op.f('uq_service_versions_service_id'))
    )
    with op.batch_alter_table('service_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_versions_service_id'), ['service_id'], unique=False)



def downgrade():
    with op.batch_alter_table('service_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_versions_service_id'))

    op.drop_table('service_versions')
    with op.batch_alter_table('service_requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_requirements_service_id'))

    op.drop_table('service_requirements')
    with op.batch_alter_table('service_fields', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_fields_service_id'))

    op.drop_table('service_fields')
    op.drop_table('services')
