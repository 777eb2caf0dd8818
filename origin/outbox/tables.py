"""The outbox rows and the tenants' email template overrides (``astro_primary``, beside the orders).

They live in the orders' schema on purpose: ``queue_email`` writes its row in
the order's own transaction, and on SQLite only tables of one attached file
commit atomically together in WAL mode.
"""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import ASTRO_PRIMARY, Id, LongText, UTCDateTime, metadata, tenant_id_column, utcnow
from origin.tenancy.tables import tenants  # noqa: F401  (registers the table the foreign keys name)

# A row's life: pending (waiting for its first or next attempt) -> sent, or -> dead after
# MAX_ATTEMPTS failures. Sent and dead rows stay: the merchant's record, and what an operator retries.
STATUS_PENDING = "pending"
STATUS_SENT = "sent"
STATUS_DEAD = "dead"

email_outbox = sa.Table(
    "email_outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    tenant_id_column(),
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("from_name", sa.String(255), nullable=True),  # the store's name, shown beside ZELLY_MAIL_FROM
    sa.Column("subject", sa.String(998), nullable=False),  # RFC 5322's line limit
    sa.Column("text_body", LongText, nullable=False),
    sa.Column("html_body", LongText, nullable=False),
    # 190 characters keep (tenant_id, dedupe_key) inside MariaDB's index key limit in utf8mb4.
    sa.Column("dedupe_key", sa.String(190), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default=STATUS_PENDING),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    # The lease: a sender owns the row while claimed_until is in the future and its token matches.
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("claim_token", sa.String(32), nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "dedupe_key"),
    sa.Index(None, "status", "next_attempt_at"),  # the sweep: due pending rows
    sa.Index(None, "tenant_id", "created_at"),  # the merchant's list
    schema=ASTRO_PRIMARY,
)

email_template_overrides = sa.Table(
    "email_template_overrides",
    metadata,
    tenant_id_column(),
    sa.Column("template", sa.String(64), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("text_body", sa.Text, nullable=False),
    sa.Column("html_body", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    sa.PrimaryKeyConstraint("tenant_id", "template"),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    schema=ASTRO_PRIMARY,
)
