"""Answers kept per (tenant, Idempotency-Key), so a retried write is replayed, not repeated."""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, LongText, UTCDateTime, metadata, tenant_id_column, utcnow


api_idempotency_keys = sa.Table(
    "api_idempotency_keys",
    metadata,
    tenant_id_column(),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("request_fingerprint", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response_body", LongText, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.PrimaryKeyConstraint("tenant_id", "key"),
    schema=ASTRO_PRIMARY,
)
