"""The orders tables: written by ``origin.orders.actions`` only (Shopify's webhooks and checkout).

An order placed here carries its money split (subtotal, shipping, tax, discount,
total, in the order's currency), the shipping address as placed, the
Idempotency-Key it was placed with (unique per tenant: the database is what
makes placement exactly once) and the two statuses:

- financial: pending, authorized, paid, partially_refunded, refunded, voided;
- fulfillment: unfulfilled, partially_fulfilled, fulfilled.

Orders from Shopify keep their GID and payload and may leave the split empty.
"""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, Id, Money, UTCDateTime, metadata, tenant_id_column, timestamps, utcnow
from origin.catalog.tables import variants  # noqa: F401  (registers the table the foreign keys name)
from origin.tenancy.tables import tenants  # noqa: F401  (registers the table the foreign keys name)


orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total_price", Money, nullable=False),
    sa.Column("financial_status", sa.String(32), nullable=True),
    sa.Column("fulfillment_status", sa.String(32), nullable=True),
    sa.Column("customer_id", Id, nullable=True),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("shopify_updated_at", UTCDateTime, nullable=True),
    sa.Column("payload", sa.JSON, nullable=True),
    *timestamps(),
    # Added by migration 0006 (checkout): nullable, so Shopify's rows need none of them.
    sa.Column("source", sa.String(16), nullable=True),  # checkout | shopify
    sa.Column("subtotal_price", Money, nullable=True),
    sa.Column("shipping_price", Money, nullable=True),
    sa.Column("tax_price", Money, nullable=True),
    sa.Column("discount_price", Money, nullable=True),
    sa.Column("taxes_included", sa.Boolean, nullable=True),
    sa.Column("shipping_address", sa.JSON, nullable=True),
    sa.Column("shipping_method", sa.String(255), nullable=True),
    sa.Column("discount_code", sa.String(64), nullable=True),
    sa.Column("payment_provider", sa.String(32), nullable=True),
    sa.Column("checkout_id", Id, nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_fingerprint", sa.String(64), nullable=True),
    sa.Column("refunded_price", Money, nullable=True),
    sa.Column("cancelled_at", UTCDateTime, nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "number"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    sa.Index(None, "tenant_id", "idempotency_key", unique=True),
    sa.Index(None, "tenant_id", "created_at"),
    sa.Index(None, "tenant_id", "checkout_id"),  # the order placed from a cart (origin/checkout/carts.py, migration 0014)
    schema=ASTRO_PRIMARY,
)

order_lines = sa.Table(
    "order_lines",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("order_id", Id, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("variant_id", Id, nullable=True),  # None once the variant is deleted
    sa.Column("product_id", Id, nullable=True),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("variant_title", sa.String(255), nullable=False, default=""),
    sa.Column("sku", sa.String(255), nullable=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("unit_price", Money, nullable=False),
    sa.Column("discount_amount", Money, nullable=False),  # this line's share of the order discount
    sa.Column("tax_amount", Money, nullable=False),
    sa.Column("total_price", Money, nullable=False),  # quantity x unit price - discount (+ tax when exclusive)
    sa.Column("is_stock_tracked", sa.Boolean, nullable=False),  # restocked on cancel only when it was decremented
    sa.Column("fulfilled_quantity", sa.Integer, nullable=False, default=0),
    sa.Column("refunded_quantity", sa.Integer, nullable=False, default=0),
    sa.Column("shopify_gid", sa.String(100), nullable=True),  # the LineItem of an order from Shopify (migration 0007)
    sa.ForeignKeyConstraint(["order_id"], [f"{ASTRO_PRIMARY}.orders.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "order_id"),
    sa.Index(None, "tenant_id", "shopify_gid", unique=True),
    schema=ASTRO_PRIMARY,
)

# The timeline: every thing that happened to an order, in order (placed, paid, fulfilled, refunded ...).
order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("order_id", Id, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("message", sa.String(1000), nullable=False),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.ForeignKeyConstraint(["order_id"], [f"{ASTRO_PRIMARY}.orders.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "order_id"),
    schema=ASTRO_PRIMARY,
)

# One row per tenant, incremented in the placing transaction: a rolled-back order gives its number back,
# so numbers have no gaps (the row lock serializes placements of one tenant for a moment).
order_number_counters = sa.Table(
    "order_number_counters",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True, autoincrement=False),
    sa.Column("last_number", sa.Integer, nullable=False),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    schema=ASTRO_PRIMARY,
)

# A payment of an order at a provider. status: pending | authorized | succeeded | failed | voided.
# The settle transition is one conditional UPDATE (WHERE status = 'pending'), whoever comes first.
payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("order_id", Id, nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("provider_reference", sa.String(255), nullable=True),  # Stripe: the Checkout Session id
    sa.Column("provider_payment_id", sa.String(255), nullable=True),  # Stripe: the PaymentIntent id
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("refunded_amount", Money, nullable=False),
    *timestamps(),
    sa.ForeignKeyConstraint(["order_id"], [f"{ASTRO_PRIMARY}.orders.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "order_id"),
    sa.Index(None, "provider", "provider_reference", unique=True),
    sa.Index(None, "status", "created_at"),  # the unpaid-order sweep: pending payments, oldest first (migration 0010)
    schema=ASTRO_PRIMARY,
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("order_id", Id, nullable=False),
    sa.Column("payment_id", Id, nullable=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("lines", sa.JSON, nullable=False),  # [{"line_id", "quantity"}]; [] for an amount-only refund
    sa.Column("restock", sa.Boolean, nullable=False),
    sa.Column("provider_reference", sa.String(255), nullable=True),
    sa.Column("request_key", sa.String(255), nullable=False),  # the Idempotency-Key it was asked with
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.ForeignKeyConstraint(["order_id"], [f"{ASTRO_PRIMARY}.orders.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "request_key"),
    sa.Index(None, "tenant_id", "order_id"),
    schema=ASTRO_PRIMARY,
)

fulfillments = sa.Table(
    "fulfillments",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("order_id", Id, nullable=False),
    sa.Column("lines", sa.JSON, nullable=False),  # [{"line_id", "quantity"}]
    sa.Column("tracking_number", sa.String(255), nullable=True),
    sa.Column("tracking_url", sa.String(2048), nullable=True),
    sa.Column("carrier", sa.String(255), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("shopify_gid", sa.String(100), nullable=True),  # the Fulfillment of an order from Shopify (migration 0007)
    sa.ForeignKeyConstraint(["order_id"], [f"{ASTRO_PRIMARY}.orders.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "order_id"),
    sa.Index(None, "tenant_id", "shopify_gid", unique=True),
    schema=ASTRO_PRIMARY,
)

# Stock held for a checkout that reached payment: the variant's inventory_quantity is already decremented
# by ``quantity``; placing the order consumes the row, the expiry task gives the stock back.
inventory_reservations = sa.Table(
    "inventory_reservations",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("checkout_id", Id, nullable=False),
    sa.Column("variant_id", Id, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.ForeignKeyConstraint(["variant_id"], [f"{ASTRO_PRIMARY}.variants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "checkout_id", "variant_id"),
    sa.Index(None, "expires_at"),
    schema=ASTRO_PRIMARY,
)
