"""shopify: tombstones, inventory items, sync seen-set, compliance requests, shop snapshots

Revision ID: shopify_0002
Revises: api_0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import origin.db


revision = 'shopify_0002'
down_revision = 'api_0002'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('shopify_tombstones',
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('shopify_gid', sa.String(length=100), nullable=False),
    sa.Column('deleted_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'shopify_gid', name=op.f('pk_shopify_tombstones')),
    schema='astro_primary'
    )
    op.create_table('shopify_inventory_items',
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('inventory_item_gid', sa.String(length=100), nullable=False),
    sa.Column('variant_gid', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'inventory_item_gid', name=op.f('pk_shopify_inventory_items')),
    schema='astro_primary'
    )
    op.create_table('shopify_sync_seen',
    sa.Column('run_id', Id, nullable=False),
    sa.Column('shopify_gid', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'shopify_gid', name=op.f('pk_shopify_sync_seen')),
    schema='astro_primary'
    )
    op.create_table('shopify_compliance_requests',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('customer_email', sa.String(length=255), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_compliance_requests')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_shopify_compliance_requests_tenant_id_created_at'), 'shopify_compliance_requests', ['tenant_id', 'created_at'], unique=False, schema='astro_primary')
    op.create_table('shopify_shop_snapshots',
    sa.Column('tenant_id', Id, autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('storefront_url', sa.String(length=2048), nullable=True),
    sa.Column('fetched_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_shopify_shop_snapshots')),
    schema='astro_primary'
    )


def downgrade() -> None:
    op.drop_table('shopify_shop_snapshots', schema='astro_primary')
    op.drop_index(op.f('ix_shopify_compliance_requests_tenant_id_created_at'), table_name='shopify_compliance_requests', schema='astro_primary')
    op.drop_table('shopify_compliance_requests', schema='astro_primary')
    op.drop_table('shopify_sync_seen', schema='astro_primary')
    op.drop_table('shopify_inventory_items', schema='astro_primary')
    op.drop_table('shopify_tombstones', schema='astro_primary')
