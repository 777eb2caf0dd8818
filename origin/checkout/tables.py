"""Checkout's tables: carts (checkouts and their lines), the merchant's shipping, tax and discount rules.

Carts are rows in ``ecom_store_front`` (issue 15): an evicted cache never loses a
cart. A checkout row *is* the cart: the signed cart cookie names its ``token``;
it stays ``open`` until an order is placed from it (``completed``). Lines hold
only variant ids and quantities: prices, titles and stock are read fresh at
every step.

The rules a checkout is priced with (shipping rates, tax rates, discounts) live in
``astro_primary`` beside the tenant. No foreign key crosses the two schemas. Inventory
reservations are in origin/orders/tables.py, beside the other stock writes.
"""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, ECOM_STORE_FRONT, Id, Money, UTCDateTime, metadata, tenant_id_column, timestamps


checkouts = sa.Table(
    "checkouts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("token", sa.String(32), nullable=False),  # the cart id the signed cookie carries
    sa.Column("status", sa.String(16), nullable=False, default="open"),  # open | completed
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("shipping_address", sa.JSON, nullable=True),
    sa.Column("shipping_rate_id", Id, nullable=True),
    sa.Column("discount_code", sa.String(64), nullable=True),
    # Written by placement before migration 0014 only: the order placed from a cart is orders.checkout_id
    # (origin/checkout/carts.py select_order_id). Kept for the rows that have it; nothing reads it.
    sa.Column("order_id", Id, nullable=True),
    # A message shown once on the next cart page (what the last change did or could not do).
    sa.Column("notice", sa.String(1000), nullable=False, default=""),
    *timestamps(),
    sa.UniqueConstraint("tenant_id", "token"),
    schema=ECOM_STORE_FRONT,
)

checkout_lines = sa.Table(
    "checkout_lines",
    metadata,
    tenant_id_column(),
    sa.Column("checkout_id", Id, nullable=False),
    sa.Column("variant_id", Id, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("checkout_id", "variant_id"),
    sa.ForeignKeyConstraint(["checkout_id"], [f"{ECOM_STORE_FRONT}.checkouts.id"], ondelete="CASCADE"),
    schema=ECOM_STORE_FRONT,
)

# kind: flat (price), by_weight (price per started kilogram... see origin.checkout.pricing), free_above (free from
# min_subtotal, else price). Countries: comma-separated ISO codes, empty = everywhere.
shipping_rates = sa.Table(
    "shipping_rates",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("price", Money, nullable=False),
    sa.Column("min_subtotal", Money, nullable=True),
    sa.Column("countries", sa.String(1000), nullable=False, default=""),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    *timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id"),
    schema=ASTRO_PRIMARY,
)

# One rate per (tenant, country, region); region "" is the whole country. ``rate`` is a fraction (0.19).
tax_rates = sa.Table(
    "tax_rates",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("region", sa.String(64), nullable=False, default=""),
    sa.Column("rate", sa.Numeric(7, 6, asdecimal=True), nullable=False),
    sa.Column("is_inclusive", sa.Boolean, nullable=False, default=False),
    sa.Column("applies_to_shipping", sa.Boolean, nullable=False, default=False),
    *timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "country_code", "region"),
    schema=ASTRO_PRIMARY,
)

discounts = sa.Table(
    "discounts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("code", sa.String(64), nullable=False),  # stored upper-case; codes match case-insensitively
    sa.Column("kind", sa.String(16), nullable=False),  # percentage | fixed
    sa.Column("value", Money, nullable=False),  # percent (10 = 10 %) or an amount in the shop's currency
    sa.Column("usage_limit", sa.Integer, nullable=True),
    sa.Column("times_used", sa.Integer, nullable=False, default=0),
    sa.Column("starts_at", UTCDateTime, nullable=True),
    sa.Column("ends_at", UTCDateTime, nullable=True),
    *timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "code"),
    schema=ASTRO_PRIMARY,
)
