"""Tenancy's tables: tenants, their API tokens, their domains, their theme template overrides.

The ``domains`` table is here, not in ``origin.domains``, because Host -> tenant
resolution (``origin.tenancy.queries``) reads it on every request and tenancy sits
below the domains package (which imports tenancy); ``origin.domains.actions`` is
still its only writer.
"""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, Id, UTCDateTime, metadata, tenant_id_column, timestamps, utcnow


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(63), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("locale", sa.String(35), nullable=False, default="en-US"),
    sa.Column("status", sa.String(16), nullable=False, default="active"),  # active | suspended
    sa.Column("contact_email", sa.String(255), nullable=True),
    sa.Column("theme_settings", sa.JSON, nullable=False, default=dict),
    sa.Column("suspended_at", UTCDateTime, nullable=True),
    *timestamps(),
    schema=ASTRO_PRIMARY,
)

tenant_api_tokens = sa.Table(
    "tenant_api_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("name", sa.String(100), nullable=False, default="default"),
    sa.Column("token_prefix", sa.String(16), nullable=False),  # shown in listings, never the whole token
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id"),
    schema=ASTRO_PRIMARY,
)

theme_templates = sa.Table(
    "theme_templates",
    metadata,
    tenant_id_column(),
    sa.Column("name", sa.String(255), nullable=False),  # e.g. "product.html"
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    # Why shoppers last got the default theme because of this template (over its render budget; issue 13).
    sa.Column("last_budget_error", sa.String(500), nullable=True),
    sa.PrimaryKeyConstraint("tenant_id", "name"),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    schema=ASTRO_PRIMARY,
)


domains = sa.Table(
    "domains",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("hostname", sa.String(253), nullable=False, unique=True),  # normalized, IDNA (punycode)
    sa.Column("status", sa.String(16), nullable=False, default="pending"),  # pending | active | failed
    sa.Column("is_primary", sa.Boolean, nullable=False, default=False),
    sa.Column("verification_token", sa.String(64), nullable=False),
    sa.Column("failure_reason", sa.String(500), nullable=True),
    sa.Column("check_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_checked_at", UTCDateTime, nullable=True),
    sa.Column("next_check_at", UTCDateTime, nullable=True),
    sa.Column("verified_at", UTCDateTime, nullable=True),
    *timestamps(),
    # The exact reason code of the last failed verification (tls.verification.Failure),
    # beside failure_reason's sentence, so the API can show both (issue 4).
    sa.Column("failure_code", sa.String(32), nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id"),
    # The periodic verifier reads "pending domains due now" on every run.
    sa.Index("ix_domains_status_next_check_at", "status", "next_check_at"),
    schema=ASTRO_PRIMARY,
)


# Custom domains their store removed, remembered so every origin process answers 410 Gone for
# them (a CLI removal, another process's, or one before a restart), not only the process that
# heard the removal (issue 20, item 5). Forgotten when the name is added again; read back for
# 90 days (origin/domains/queries.py select_removed_hostnames).
removed_domains = sa.Table(
    "removed_domains",
    metadata,
    sa.Column("hostname", sa.String(253), primary_key=True),  # normalized, IDNA (punycode)
    tenant_id_column(),
    sa.Column("removed_at", UTCDateTime, nullable=False, default=utcnow),
    # NULL while Caddy's admin API could not be reached to delete the certificate: the periodic
    # domain job tries again every pass (origin/domains/actions.py delete_pending_certificates).
    sa.Column("certificate_deleted_at", UTCDateTime, nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id"),
    sa.Index("ix_removed_domains_removed_at", "removed_at"),
    schema=ASTRO_PRIMARY,
)
