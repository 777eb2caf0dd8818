"""Dead letters: tasks (and store-events messages) given up on, kept whole for a person to replay."""

from __future__ import annotations

import sqlalchemy as sa

from origin.db import BACKOFFICE, Id, UTCDateTime, metadata, utcnow


task_dead_letters = sa.Table(
    "task_dead_letters",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", Id, nullable=True),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("task_name", sa.String(255), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("replayed_at", UTCDateTime, nullable=True),
    sa.Index(None, "queue", "created_at"),
    schema=BACKOFFICE,
)
