"""Shopify order references: order_lines.shopify_gid and fulfillments.shopify_gid (unique per tenant)

Shopify's orders/* webhooks land in the order tables (issue 15): a line item and a
fulfillment are matched to their rows by GID, so a replayed or reordered webhook
adds nothing twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import context, op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _schema() -> str:
    # ALTER TABLE is rendered from names, not Table objects (see 0003): name the real database.
    return context.config.attributes["schema_names"]["astro_primary"]


def upgrade() -> None:
    for table in ('order_lines', 'fulfillments'):
        with op.batch_alter_table(table, schema=_schema()) as batch:
            batch.add_column(sa.Column('shopify_gid', sa.String(length=100), nullable=True))
            batch.create_index(f'ix_{table}_tenant_id_shopify_gid', ['tenant_id', 'shopify_gid'], unique=True)


def downgrade() -> None:
    for table in ('fulfillments', 'order_lines'):
        with op.batch_alter_table(table, schema=_schema()) as batch:
            batch.drop_index(f'ix_{table}_tenant_id_shopify_gid')
            batch.drop_column('shopify_gid')
