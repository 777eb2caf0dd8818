"""orders: the (tenant_id, checkout_id) index: the order placed from a cart is found from the order's side

Placement no longer writes checkouts.order_id (one statement fewer on every order,
docs/benchmarks.md); origin/checkout/carts.py select_order_id reads orders.checkout_id,
which every placed order has always carried, so orders placed before this migration are
found the same way.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_orders_tenant_id_checkout_id'), 'orders', ['tenant_id', 'checkout_id'], unique=False, schema='astro_primary')


def downgrade() -> None:
    op.drop_index(op.f('ix_orders_tenant_id_checkout_id'), table_name='orders', schema='astro_primary')
