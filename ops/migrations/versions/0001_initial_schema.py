"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import origin.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_idempotency_keys',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'key', name=op.f('pk_api_idempotency_keys')),
    schema='astro_primary'
    )
    op.create_table('shopify_sync_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cursor', sa.String(length=1024), nullable=True),
    sa.Column('since', origin.db.UTCDateTime(), nullable=True),
    sa.Column('bulk_operation_id', sa.String(length=255), nullable=True),
    sa.Column('products_seen', sa.Integer(), nullable=False),
    sa.Column('products_written', sa.Integer(), nullable=False),
    sa.Column('products_deleted', sa.Integer(), nullable=False),
    sa.Column('collections_seen', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shopify_sync_runs')),
    schema='astro_primary'
    )
    with op.batch_alter_table('shopify_sync_runs', schema='astro_primary') as batch_op:
        batch_op.create_index(batch_op.f('ix_shopify_sync_runs_tenant_id_created_at'), ['tenant_id', 'created_at'], unique=False)

    op.create_table('shopify_webhook_deliveries',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('webhook_id', sa.String(length=100), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('received_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('processed_at', origin.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'webhook_id', name=op.f('pk_shopify_webhook_deliveries')),
    schema='astro_primary'
    )
    op.create_table('tenants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('slug', sa.String(length=63), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('locale', sa.String(length=35), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('contact_email', sa.String(length=255), nullable=True),
    sa.Column('theme_settings', sa.JSON(), nullable=False),
    sa.Column('suspended_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug')),
    schema='astro_primary'
    )
    op.create_table('daily_tenant_aggregates',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('visitors', sa.Integer(), nullable=False),
    sa.Column('sessions', sa.Integer(), nullable=False),
    sa.Column('page_views', sa.Integer(), nullable=False),
    sa.Column('product_views', sa.Integer(), nullable=False),
    sa.Column('add_to_carts', sa.Integer(), nullable=False),
    sa.Column('purchases', sa.Integer(), nullable=False),
    sa.Column('revenue', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('computed_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'day', name=op.f('pk_daily_tenant_aggregates')),
    schema='backoffice'
    )
    op.create_table('task_dead_letters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('task_name', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('replayed_at', origin.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_dead_letters')),
    schema='backoffice'
    )
    with op.batch_alter_table('task_dead_letters', schema='backoffice') as batch_op:
        batch_op.create_index(batch_op.f('ix_task_dead_letters_queue_created_at'), ['queue', 'created_at'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('first_name', sa.String(length=255), nullable=False),
    sa.Column('last_name', sa.String(length=255), nullable=False),
    sa.Column('accepts_marketing', sa.Boolean(), nullable=False),
    sa.Column('shopify_gid', sa.String(length=100), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('tenant_id', 'email', name=op.f('uq_customers_tenant_id_email')),
    schema='ecom_store_front'
    )
    op.create_table('collections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handle', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description_html', sa.Text(), nullable=False),
    sa.Column('image_url', sa.String(length=2048), nullable=True),
    sa.Column('shopify_gid', sa.String(length=100), nullable=True),
    sa.Column('shopify_updated_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_collections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collections')),
    sa.UniqueConstraint('tenant_id', 'handle', name=op.f('uq_collections_tenant_id_handle')),
    sa.UniqueConstraint('tenant_id', 'shopify_gid', name=op.f('uq_collections_tenant_id_shopify_gid')),
    schema='astro_primary'
    )
    op.create_table('domains',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hostname', sa.String(length=253), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('verification_token', sa.String(length=64), nullable=False),
    sa.Column('failure_reason', sa.String(length=500), nullable=True),
    sa.Column('check_attempts', sa.Integer(), nullable=False),
    sa.Column('last_checked_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('next_check_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('verified_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_domains_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domains')),
    sa.UniqueConstraint('hostname', name=op.f('uq_domains_hostname')),
    schema='astro_primary'
    )
    with op.batch_alter_table('domains', schema='astro_primary') as batch_op:
        batch_op.create_index(batch_op.f('ix_domains_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_price', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('financial_status', sa.String(length=32), nullable=True),
    sa.Column('fulfillment_status', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('shopify_gid', sa.String(length=100), nullable=True),
    sa.Column('shopify_updated_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_orders_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_orders_tenant_id_number')),
    sa.UniqueConstraint('tenant_id', 'shopify_gid', name=op.f('uq_orders_tenant_id_shopify_gid')),
    schema='astro_primary'
    )
    op.create_table('products',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('handle', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description_html', sa.Text(), nullable=False),
    sa.Column('vendor', sa.String(length=255), nullable=False),
    sa.Column('product_type', sa.String(length=255), nullable=False),
    sa.Column('tags', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('option1_name', sa.String(length=255), nullable=True),
    sa.Column('option2_name', sa.String(length=255), nullable=True),
    sa.Column('option3_name', sa.String(length=255), nullable=True),
    sa.Column('price_min', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('price_max', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('compare_at_price_min', origin.db.Money(precision=18, scale=4), nullable=True),
    sa.Column('is_available', sa.Boolean(), nullable=False),
    sa.Column('shopify_gid', sa.String(length=100), nullable=True),
    sa.Column('shopify_updated_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('published_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_products_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('tenant_id', 'handle', name=op.f('uq_products_tenant_id_handle')),
    sa.UniqueConstraint('tenant_id', 'shopify_gid', name=op.f('uq_products_tenant_id_shopify_gid')),
    schema='astro_primary'
    )
    with op.batch_alter_table('products', schema='astro_primary') as batch_op:
        batch_op.create_index(batch_op.f('ix_products_tenant_id_created_at'), ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_tenant_id_price_min'), ['tenant_id', 'price_min'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_tenant_id_title'), ['tenant_id', 'title'], unique=False)

    op.create_table('shopify_connections',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('shop_domain', sa.String(length=255), nullable=False),
    sa.Column('access_token_encrypted', sa.Text(), nullable=False),
    sa.Column('webhook_secret_encrypted', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('connected_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('disconnected_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('last_synced_at', origin.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_shopify_connections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_shopify_connections')),
    sa.UniqueConstraint('shop_domain', name=op.f('uq_shopify_connections_shop_domain')),
    schema='astro_primary'
    )
    op.create_table('tenant_api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', origin.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_tenant_api_tokens_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_tenant_api_tokens_token_hash')),
    schema='astro_primary'
    )
    with op.batch_alter_table('tenant_api_tokens', schema='astro_primary') as batch_op:
        batch_op.create_index(batch_op.f('ix_tenant_api_tokens_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('theme_templates',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_theme_templates_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'name', name=op.f('pk_theme_templates')),
    schema='astro_primary'
    )
    op.create_table('addresses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('line1', sa.String(length=255), nullable=False),
    sa.Column('line2', sa.String(length=255), nullable=False),
    sa.Column('city', sa.String(length=255), nullable=False),
    sa.Column('region', sa.String(length=255), nullable=False),
    sa.Column('postal_code', sa.String(length=32), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['ecom_store_front.customers.id'], name=op.f('fk_addresses_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses')),
    schema='ecom_store_front'
    )
    with op.batch_alter_table('addresses', schema='ecom_store_front') as batch_op:
        batch_op.create_index(batch_op.f('ix_addresses_tenant_id_customer_id'), ['tenant_id', 'customer_id'], unique=False)

    op.create_table('sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['ecom_store_front.customers.id'], name=op.f('fk_sessions_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sessions_token_hash')),
    schema='ecom_store_front'
    )
    with op.batch_alter_table('sessions', schema='ecom_store_front') as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_tenant_id_customer_id'), ['tenant_id', 'customer_id'], unique=False)

    op.create_table('collection_products',
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('collection_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['collection_id'], ['astro_primary.collections.id'], name=op.f('fk_collection_products_collection_id_collections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['astro_primary.products.id'], name=op.f('fk_collection_products_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('collection_id', 'product_id', name=op.f('pk_collection_products')),
    schema='astro_primary'
    )
    with op.batch_alter_table('collection_products', schema='astro_primary') as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_products_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collection_products_tenant_id_collection_id_position'), ['tenant_id', 'collection_id', 'position'], unique=False)

    op.create_table('product_images',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('alt', sa.String(length=512), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('shopify_gid', sa.String(length=100), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['astro_primary.products.id'], name=op.f('fk_product_images_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_images')),
    schema='astro_primary'
    )
    with op.batch_alter_table('product_images', schema='astro_primary') as batch_op:
        batch_op.create_index(batch_op.f('ix_product_images_tenant_id_product_id'), ['tenant_id', 'product_id'], unique=False)

    op.create_table('variants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('sku', sa.String(length=255), nullable=True),
    sa.Column('option1', sa.String(length=255), nullable=True),
    sa.Column('option2', sa.String(length=255), nullable=True),
    sa.Column('option3', sa.String(length=255), nullable=True),
    sa.Column('price', origin.db.Money(precision=18, scale=4), nullable=False),
    sa.Column('compare_at_price', origin.db.Money(precision=18, scale=4), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('inventory_quantity', sa.Integer(), nullable=False),
    sa.Column('inventory_policy', sa.String(length=16), nullable=False),
    sa.Column('shopify_gid', sa.String(length=100), nullable=True),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['astro_primary.products.id'], name=op.f('fk_variants_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_variants')),
    sa.UniqueConstraint('tenant_id', 'shopify_gid', name=op.f('uq_variants_tenant_id_shopify_gid')),
    schema='astro_primary'
    )
    with op.batch_alter_table('variants', schema='astro_primary') as batch_op:
        batch_op.create_index(batch_op.f('ix_variants_tenant_id_product_id'), ['tenant_id', 'product_id'], unique=False)



def downgrade() -> None:
    # Dropping a table drops its indexes; MySQL refuses to drop an index a foreign key needs.
    for schema, table in (
        ('astro_primary', 'variants'),
        ('astro_primary', 'product_images'),
        ('astro_primary', 'collection_products'),
        ('ecom_store_front', 'sessions'),
        ('ecom_store_front', 'addresses'),
        ('astro_primary', 'theme_templates'),
        ('astro_primary', 'tenant_api_tokens'),
        ('astro_primary', 'shopify_connections'),
        ('astro_primary', 'products'),
        ('astro_primary', 'orders'),
        ('astro_primary', 'domains'),
        ('astro_primary', 'collections'),
        ('ecom_store_front', 'customers'),
        ('backoffice', 'task_dead_letters'),
        ('backoffice', 'daily_tenant_aggregates'),
        ('astro_primary', 'tenants'),
        ('astro_primary', 'shopify_webhook_deliveries'),
        ('astro_primary', 'shopify_sync_runs'),
        ('astro_primary', 'api_idempotency_keys'),
    ):
        op.drop_table(table, schema=schema)
