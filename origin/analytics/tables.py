"""The daily per-tenant aggregates the rollup writes into ``backoffice``."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from origin.db import BACKOFFICE, Money, UTCDateTime, metadata, tenant_id_column, utcnow


daily_tenant_aggregates = sa.Table(
    "daily_tenant_aggregates",
    metadata,
    tenant_id_column(),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("visitors", sa.Integer, nullable=False, default=0),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
    sa.Column("page_views", sa.Integer, nullable=False, default=0),
    sa.Column("product_views", sa.Integer, nullable=False, default=0),
    sa.Column("add_to_carts", sa.Integer, nullable=False, default=0),
    sa.Column("purchases", sa.Integer, nullable=False, default=0),
    sa.Column("revenue", Money, nullable=False, default=Decimal("0")),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False, default=utcnow),
    sa.PrimaryKeyConstraint("tenant_id", "day"),
    schema=BACKOFFICE,
)
