"""Customers, their sessions and addresses (``ecom_store_front``): tables only, no code writes them yet."""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ECOM_STORE_FRONT, Id, UTCDateTime, metadata, tenant_id_column, timestamps, utcnow


customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("email", sa.String(255), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("first_name", sa.String(255), nullable=False, default=""),
    sa.Column("last_name", sa.String(255), nullable=False, default=""),
    sa.Column("accepts_marketing", sa.Boolean, nullable=False, default=False),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    *timestamps(),
    sa.UniqueConstraint("tenant_id", "email"),
    schema=ECOM_STORE_FRONT,
)

customer_sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(["customer_id"], [f"{ECOM_STORE_FRONT}.customers.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "customer_id"),
    schema=ECOM_STORE_FRONT,
)

addresses = sa.Table(
    "addresses",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("line1", sa.String(255), nullable=False),
    sa.Column("line2", sa.String(255), nullable=False, default=""),
    sa.Column("city", sa.String(255), nullable=False),
    sa.Column("region", sa.String(255), nullable=False, default=""),
    sa.Column("postal_code", sa.String(32), nullable=False, default=""),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    *timestamps(),
    sa.ForeignKeyConstraint(["customer_id"], [f"{ECOM_STORE_FRONT}.customers.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "customer_id"),
    schema=ECOM_STORE_FRONT,
)
