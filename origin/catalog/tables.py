"""The catalog's tables: products, variants, images, collections and their members.

Rows synced from an external catalog (Shopify) carry its GID (``shopify_gid``)
and its ``shopify_updated_at``; the two bookkeeping tables of that sync (the
tombstones of deletes, the inventory item -> variant map) live here too, since
the catalog's external-sync writes (``origin.catalog.external_sync``) are their
only users. They keep the ``shopify_`` names the migrations gave them.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, Id, LongText, Money, UTCDateTime, metadata, tenant_id_column, timestamps, utcnow
from origin.tenancy.tables import tenants  # noqa: F401  (registers the table the foreign keys name)


products = sa.Table(
    "products",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("handle", sa.String(255), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("description_html", LongText, nullable=False, default=""),
    sa.Column("vendor", sa.String(255), nullable=False, default=""),
    sa.Column("product_type", sa.String(255), nullable=False, default=""),
    sa.Column("tags", sa.String(1000), nullable=False, default=""),  # comma-separated, lower-case
    sa.Column("status", sa.String(16), nullable=False, default="active"),  # active | draft | archived
    sa.Column("option1_name", sa.String(255), nullable=True),
    sa.Column("option2_name", sa.String(255), nullable=True),
    sa.Column("option3_name", sa.String(255), nullable=True),
    # Denormalized from variants by the catalog actions, so listings sort and filter in one query.
    sa.Column("price_min", Money, nullable=False, default=Decimal("0")),
    sa.Column("price_max", Money, nullable=False, default=Decimal("0")),
    sa.Column("compare_at_price_min", Money, nullable=True),  # compare-at of the cheapest variant
    sa.Column("is_available", sa.Boolean, nullable=False, default=False),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("shopify_updated_at", UTCDateTime, nullable=True),
    sa.Column("published_at", UTCDateTime, nullable=True),
    *timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "handle"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    sa.Index(None, "tenant_id", "price_min"),
    sa.Index(None, "tenant_id", "title"),
    sa.Index(None, "tenant_id", "created_at"),
    schema=ASTRO_PRIMARY,
)

variants = sa.Table(
    "variants",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("sku", sa.String(255), nullable=True),
    sa.Column("option1", sa.String(255), nullable=True),
    sa.Column("option2", sa.String(255), nullable=True),
    sa.Column("option3", sa.String(255), nullable=True),
    sa.Column("price", Money, nullable=False),
    sa.Column("compare_at_price", Money, nullable=True),
    sa.Column("position", sa.Integer, nullable=False, default=1),
    # Inventory lives on the variant (one location); `continue` sells past zero.
    sa.Column("inventory_quantity", sa.Integer, nullable=False, default=0),
    sa.Column("inventory_policy", sa.String(16), nullable=False, default="deny"),  # deny | continue
    # Added for checkout (migration 0006). NULL reads as the default: tracked, weightless.
    sa.Column("is_inventory_tracked", sa.Boolean, nullable=True),  # False: stock is never counted (a download)
    sa.Column("weight_grams", sa.Integer, nullable=True),  # for by-weight shipping rates
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    *timestamps(),
    sa.ForeignKeyConstraint(["product_id"], [f"{ASTRO_PRIMARY}.products.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    sa.Index(None, "tenant_id", "product_id"),
    schema=ASTRO_PRIMARY,
)

product_images = sa.Table(
    "product_images",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("alt", sa.String(512), nullable=False, default=""),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("position", sa.Integer, nullable=False, default=1),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.ForeignKeyConstraint(["product_id"], [f"{ASTRO_PRIMARY}.products.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "product_id"),
    schema=ASTRO_PRIMARY,
)

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("handle", sa.String(255), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("description_html", LongText, nullable=False, default=""),
    sa.Column("image_url", sa.String(2048), nullable=True),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("shopify_updated_at", UTCDateTime, nullable=True),
    *timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "handle"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)

collection_products = sa.Table(
    "collection_products",
    metadata,
    tenant_id_column(),
    sa.Column("collection_id", Id, nullable=False),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("collection_id", "product_id"),
    sa.ForeignKeyConstraint(["collection_id"], [f"{ASTRO_PRIMARY}.collections.id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["product_id"], [f"{ASTRO_PRIMARY}.products.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "collection_id", "position"),
    sa.Index(None, "product_id"),
    schema=ASTRO_PRIMARY,
)

# A delete in the external catalog (Shopify), remembered so a late, older update cannot bring the row back.
shopify_tombstones = sa.Table(
    "shopify_tombstones",
    metadata,
    tenant_id_column(),
    sa.Column("shopify_gid", sa.String(100), nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)

# inventory_levels/update names an inventory item, not a variant: this maps one to the other.
shopify_inventory_items = sa.Table(
    "shopify_inventory_items",
    metadata,
    tenant_id_column(),
    sa.Column("inventory_item_gid", sa.String(100), nullable=False),
    sa.Column("variant_gid", sa.String(100), nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "inventory_item_gid"),
    schema=ASTRO_PRIMARY,
)
