"""The orders table: written by ``origin.orders.actions`` only (Shopify today, checkout next)."""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, Id, Money, UTCDateTime, metadata, tenant_id_column, timestamps
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
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "number"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)
