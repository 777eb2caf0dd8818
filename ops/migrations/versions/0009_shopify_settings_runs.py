"""shopify settings runs: how each settings push or fetch ended (issue 12)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import origin.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('shopify_settings_runs',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_settings_runs')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_shopify_settings_runs_tenant_id_created_at'), 'shopify_settings_runs', ['tenant_id', 'created_at'], unique=False, schema='astro_primary')


def downgrade() -> None:
    op.drop_index(op.f('ix_shopify_settings_runs_tenant_id_created_at'), table_name='shopify_settings_runs', schema='astro_primary')
    op.drop_table('shopify_settings_runs', schema='astro_primary')
