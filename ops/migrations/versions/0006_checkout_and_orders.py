"""checkout and orders: checkouts, lines, shipping/tax/discount rules, reservations; order lines, events,
payments, refunds, fulfillments, number counters; the checkout columns of orders

Revision ID: 0006
Revises: 0005_outbox
Create Date: 2026-12-02
"""
from alembic import context, op
import sqlalchemy as sa
import origin.db


revision = '0006'
down_revision = '0005_outbox'
branch_labels = None
depends_on = None

def _schema() -> str:
    # ALTER TABLE is rendered from names, not Table objects (see 0003): name the real database.
    return context.config.attributes["schema_names"]["astro_primary"]


Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('checkouts',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('shipping_address', sa.JSON(), nullable=True),
    sa.Column('shipping_rate_id', Id, nullable=True),
    sa.Column('discount_code', sa.String(length=64), nullable=True),
    sa.Column('order_id', Id, nullable=True),
    sa.Column('notice', sa.String(length=1000), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkouts')),
    sa.UniqueConstraint('tenant_id', 'token', name=op.f('uq_checkouts_tenant_id_token')),
    schema='ecom_store_front'
    )
    op.create_table('discounts',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('usage_limit', sa.Integer(), nullable=True),
    sa.Column('times_used', sa.Integer(), nullable=False),
    sa.Column('starts_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('ends_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_discounts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discounts')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_discounts_tenant_id_code')),
    schema='astro_primary'
    )
    op.create_table('order_number_counters',
    sa.Column('tenant_id', Id, autoincrement=False, nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_order_number_counters_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_order_number_counters')),
    schema='astro_primary'
    )
    op.create_table('shipping_rates',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('price', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('min_subtotal', origin.db.Money(precision=18, scale=4), nullable=True),
    sa.Column('countries', sa.String(length=1000), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_shipping_rates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_rates')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_shipping_rates_tenant_id'), 'shipping_rates', ['tenant_id'], unique=False, schema='astro_primary')
    op.create_table('tax_rates',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('rate', sa.Numeric(precision=7, scale=6), nullable=False),
    sa.Column('is_inclusive', sa.Boolean(), nullable=False),
    sa.Column('applies_to_shipping', sa.Boolean(), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_tax_rates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_rates')),
    sa.UniqueConstraint('tenant_id', 'country_code', 'region', name=op.f('uq_tax_rates_tenant_id_country_code_region')),
    schema='astro_primary'
    )
    op.create_table('checkout_lines',
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('checkout_id', Id, nullable=False),
    sa.Column('variant_id', Id, nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checkout_id'], ['ecom_store_front.checkouts.id'], name=op.f('fk_checkout_lines_checkout_id_checkouts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('checkout_id', 'variant_id', name=op.f('pk_checkout_lines')),
    schema='ecom_store_front'
    )
    op.create_table('fulfillments',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('tracking_number', sa.String(length=255), nullable=True),
    sa.Column('tracking_url', sa.String(length=2048), nullable=True),
    sa.Column('carrier', sa.String(length=255), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['astro_primary.orders.id'], name=op.f('fk_fulfillments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fulfillments')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_fulfillments_tenant_id_order_id'), 'fulfillments', ['tenant_id', 'order_id'], unique=False, schema='astro_primary')
    op.create_table('order_events',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.String(length=1000), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['astro_primary.orders.id'], name=op.f('fk_order_events_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_order_events_tenant_id_order_id'), 'order_events', ['tenant_id', 'order_id'], unique=False, schema='astro_primary')
    op.create_table('order_lines',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('variant_id', Id, nullable=True),
    sa.Column('product_id', Id, nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('variant_title', sa.String(length=255), nullable=False),
    sa.Column('sku', sa.String(length=255), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('discount_amount', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('tax_amount', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('total_price', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('is_stock_tracked', sa.Boolean(), nullable=False),
    sa.Column('fulfilled_quantity', sa.Integer(), nullable=False),
    sa.Column('refunded_quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['astro_primary.orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_order_lines_tenant_id_order_id'), 'order_lines', ['tenant_id', 'order_id'], unique=False, schema='astro_primary')
    op.create_table('payments',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_reference', sa.String(length=255), nullable=True),
    sa.Column('provider_payment_id', sa.String(length=255), nullable=True),
    sa.Column('amount', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refunded_amount', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['astro_primary.orders.id'], name=op.f('fk_payments_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_payments_provider_provider_reference'), 'payments', ['provider', 'provider_reference'], unique=True, schema='astro_primary')
    op.create_index(op.f('ix_payments_tenant_id_order_id'), 'payments', ['tenant_id', 'order_id'], unique=False, schema='astro_primary')
    op.create_table('refunds',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('payment_id', Id, nullable=True),
    sa.Column('amount', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('restock', sa.Boolean(), nullable=False),
    sa.Column('provider_reference', sa.String(length=255), nullable=True),
    sa.Column('request_key', sa.String(length=255), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['astro_primary.orders.id'], name=op.f('fk_refunds_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('tenant_id', 'request_key', name=op.f('uq_refunds_tenant_id_request_key')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_refunds_tenant_id_order_id'), 'refunds', ['tenant_id', 'order_id'], unique=False, schema='astro_primary')
    op.create_table('inventory_reservations',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('checkout_id', Id, nullable=False),
    sa.Column('variant_id', Id, nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('expires_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['variant_id'], ['astro_primary.variants.id'], name=op.f('fk_inventory_reservations_variant_id_variants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inventory_reservations')),
    sa.UniqueConstraint('tenant_id', 'checkout_id', 'variant_id', name=op.f('uq_inventory_reservations_tenant_id_checkout_id_variant_id')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_inventory_reservations_expires_at'), 'inventory_reservations', ['expires_at'], unique=False, schema='astro_primary')
    with op.batch_alter_table('variants', schema=_schema()) as batch:
        batch.add_column(sa.Column('is_inventory_tracked', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('weight_grams', sa.Integer(), nullable=True))
    with op.batch_alter_table('orders', schema=_schema()) as batch:
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('subtotal_price', origin.db.Money(precision=18, scale=4), nullable=True))
        batch.add_column(sa.Column('shipping_price', origin.db.Money(precision=18, scale=4), nullable=True))
        batch.add_column(sa.Column('tax_price', origin.db.Money(precision=18, scale=4), nullable=True))
        batch.add_column(sa.Column('discount_price', origin.db.Money(precision=18, scale=4), nullable=True))
        batch.add_column(sa.Column('taxes_included', sa.Boolean(), nullable=True))
        batch.add_column(sa.Column('shipping_address', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('shipping_method', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('discount_code', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('payment_provider', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('checkout_id', Id, nullable=True))
        batch.add_column(sa.Column('idempotency_key', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('request_fingerprint', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('refunded_price', origin.db.Money(precision=18, scale=4), nullable=True))
        batch.add_column(sa.Column('cancelled_at', origin.db.UTCDateTime(), nullable=True))
        batch.create_index('ix_orders_tenant_id_created_at', ['tenant_id', 'created_at'], unique=False)
        batch.create_index('ix_orders_tenant_id_idempotency_key', ['tenant_id', 'idempotency_key'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('variants', schema=_schema()) as batch:
        batch.drop_column('weight_grams')
        batch.drop_column('is_inventory_tracked')
    with op.batch_alter_table('orders', schema=_schema()) as batch:
        batch.drop_index('ix_orders_tenant_id_idempotency_key')
        batch.drop_index('ix_orders_tenant_id_created_at')
        batch.drop_column('cancelled_at')
        batch.drop_column('refunded_price')
        batch.drop_column('request_fingerprint')
        batch.drop_column('idempotency_key')
        batch.drop_column('checkout_id')
        batch.drop_column('payment_provider')
        batch.drop_column('discount_code')
        batch.drop_column('shipping_method')
        batch.drop_column('shipping_address')
        batch.drop_column('taxes_included')
        batch.drop_column('discount_price')
        batch.drop_column('tax_price')
        batch.drop_column('shipping_price')
        batch.drop_column('subtotal_price')
        batch.drop_column('source')
    op.drop_index(op.f('ix_inventory_reservations_expires_at'), table_name='inventory_reservations', schema='astro_primary')
    op.drop_table('inventory_reservations', schema='astro_primary')
    op.drop_index(op.f('ix_refunds_tenant_id_order_id'), table_name='refunds', schema='astro_primary')
    op.drop_table('refunds', schema='astro_primary')
    op.drop_index(op.f('ix_payments_tenant_id_order_id'), table_name='payments', schema='astro_primary')
    op.drop_index(op.f('ix_payments_provider_provider_reference'), table_name='payments', schema='astro_primary')
    op.drop_table('payments', schema='astro_primary')
    op.drop_index(op.f('ix_order_lines_tenant_id_order_id'), table_name='order_lines', schema='astro_primary')
    op.drop_table('order_lines', schema='astro_primary')
    op.drop_index(op.f('ix_order_events_tenant_id_order_id'), table_name='order_events', schema='astro_primary')
    op.drop_table('order_events', schema='astro_primary')
    op.drop_index(op.f('ix_fulfillments_tenant_id_order_id'), table_name='fulfillments', schema='astro_primary')
    op.drop_table('fulfillments', schema='astro_primary')
    op.drop_table('checkout_lines', schema='ecom_store_front')
    op.drop_table('tax_rates', schema='astro_primary')
    op.drop_table('shipping_rates', schema='astro_primary')
    op.drop_table('order_number_counters', schema='astro_primary')
    op.drop_table('discounts', schema='astro_primary')
    op.drop_table('checkouts', schema='ecom_store_front')
