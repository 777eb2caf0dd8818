"""Shopify's own tables: connections, webhook deliveries, sync runs, compliance requests, shop snapshots."""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, Id, UTCDateTime, metadata, tenant_id_column, timestamps, utcnow
from origin.tenancy.tables import tenants  # noqa: F401  (registers the table the foreign keys name)


shopify_connections = sa.Table(
    "shopify_connections",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True, autoincrement=False),
    sa.Column("shop_domain", sa.String(255), nullable=False, unique=True),
    sa.Column("access_token_encrypted", sa.Text, nullable=False),
    sa.Column("webhook_secret_encrypted", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="connected"),  # connected | disconnected
    sa.Column("connected_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("disconnected_at", UTCDateTime, nullable=True),
    sa.Column("last_synced_at", UTCDateTime, nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    schema=ASTRO_PRIMARY,
)

shopify_webhook_deliveries = sa.Table(
    "shopify_webhook_deliveries",
    metadata,
    tenant_id_column(),
    sa.Column("webhook_id", sa.String(100), nullable=False),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("processed_at", UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint("tenant_id", "webhook_id"),
    schema=ASTRO_PRIMARY,
)

shopify_sync_runs = sa.Table(
    "shopify_sync_runs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("kind", sa.String(16), nullable=False),  # full | incremental | bulk
    sa.Column("state", sa.String(16), nullable=False, default="queued"),  # queued | running | succeeded | failed | cancelled
    sa.Column("cursor", sa.String(1024), nullable=True),
    sa.Column("since", UTCDateTime, nullable=True),
    sa.Column("bulk_operation_id", sa.String(255), nullable=True),
    sa.Column("products_seen", sa.Integer, nullable=False, default=0),
    sa.Column("products_written", sa.Integer, nullable=False, default=0),
    sa.Column("products_deleted", sa.Integer, nullable=False, default=0),
    sa.Column("collections_seen", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    *timestamps(),
    sa.Index(None, "tenant_id", "created_at"),
    schema=ASTRO_PRIMARY,
)

# Each settings push or fetch, so the seller can read how the 202 it got ended (issue 12).
shopify_settings_runs = sa.Table(
    "shopify_settings_runs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("kind", sa.String(16), nullable=False),  # push | fetch
    sa.Column("state", sa.String(16), nullable=False, default="queued"),  # queued | running | succeeded | failed
    sa.Column("fields", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    *timestamps(),
    sa.Index(None, "tenant_id", "created_at"),
    schema=ASTRO_PRIMARY,
)

# Products a full sync has seen, so the end of the run can delete the rest (survives a crash).
shopify_sync_seen = sa.Table(
    "shopify_sync_seen",
    metadata,
    sa.Column("run_id", Id, nullable=False),
    sa.Column("shopify_gid", sa.String(100), nullable=False),
    sa.PrimaryKeyConstraint("run_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)

# What each mandatory compliance webhook did (the data export lives here for the merchant).
shopify_compliance_requests = sa.Table(
    "shopify_compliance_requests",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("customer_email", sa.String(255), nullable=True),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Index(None, "tenant_id", "created_at"),
    schema=ASTRO_PRIMARY,
)

# The shop's own settings as last fetched from Shopify.
shopify_shop_snapshots = sa.Table(
    "shopify_shop_snapshots",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("storefront_url", sa.String(2048), nullable=True),
    sa.Column("fetched_at", UTCDateTime, nullable=False, default=utcnow),
    schema=ASTRO_PRIMARY,
)
