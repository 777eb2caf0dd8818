"""The ClickHouse schema for store events, and its migrations (``zelly migrate``).

One table, ``events``: ordered ``(tenant_id, toDate(ts), name, event_id)`` so a
tenant's date range is one contiguous slice of the primary index, partitioned by
month so retention drops whole parts, with a TTL of ``ZELLY_ANALYTICS_RETENTION_DAYS``.

Never counting twice (issue 7): the engine is a ReplacingMergeTree whose
sorting key ends in ``event_id``, so a redelivered event (same id) collapses
into one row at merge time, and queries read ``FINAL`` so the count is exact
even before that merge. On top of that each batch is inserted with an
``insert_deduplication_token``; a plain (non-replicated) MergeTree only honours it with
``non_replicated_deduplication_window`` set, which is why the table sets it:
a retried identical batch is then not even written.

Migrations are numbered statements recorded in ``analytics_migrations``;
the TTL is brought in line with the setting on every run.
"""

from __future__ import annotations

from typing import Any

from origin.analytics import engine

EVENTS_TABLE = "events"
SESSION_STEPS_TABLE = "session_steps"
MIGRATIONS_TABLE = "analytics_migrations"
# Funnel steps as bits of session_steps.steps, in funnel order.
STEP_BITS = {"page_view": 1, "product_view": 2, "add_to_cart": 4, "checkout_started": 8, "purchase": 16}
_STEP_BIT = (
    "toUInt8(transform(name, ['page_view', 'product_view', 'add_to_cart', 'checkout_started', 'purchase'], "
    "[1, 2, 4, 8, 16], 0))"
)
_SESSION_STEPS_SELECT = f"""
        SELECT tenant_id, toStartOfFifteenMinutes(ts) AS bucket, session_id, groupBitOr({_STEP_BIT}) AS steps
        FROM {EVENTS_TABLE} WHERE session_id != 0
        GROUP BY tenant_id, bucket, session_id
"""

# Columns of ``events`` in insert order; the consumer builds rows in this order.
EVENT_COLUMNS = (
    "tenant_id",
    "ts",
    "event_id",
    "name",
    "visitor_id",
    "session_id",
    "path",
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device",
    "product_id",
    "variant_id",
    "quantity",
    "value",
    "currency",
    "order_id",
)

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "events table",
        f"""
        CREATE TABLE IF NOT EXISTS {EVENTS_TABLE} (
            tenant_id UInt64,
            ts DateTime64(3, 'UTC'),
            event_id String,
            name LowCardinality(String),
            visitor_id UInt64 COMMENT 'keyed hash of IP + UA + tenant with a daily salt; 0 = anonymous',
            session_id UInt64 COMMENT '0 = anonymous (server event for a shopper who refused tracking)',
            path String,
            referrer_host LowCardinality(String) COMMENT 'the session''s external referrer host, empty = direct',
            utm_source LowCardinality(String),
            utm_medium LowCardinality(String),
            utm_campaign String,
            device LowCardinality(String),
            product_id UInt64,
            variant_id UInt64,
            quantity UInt32,
            value Decimal(20, 4),
            currency LowCardinality(String),
            order_id String,
            received_at DateTime64(3, 'UTC') DEFAULT now64(3)
        )
        ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMM(ts)
        ORDER BY (tenant_id, toDate(ts), name, event_id)
        SETTINGS non_replicated_deduplication_window = 10000
        """,
    ),
    # The funnel over millions of events: which steps each session reached, per 15-minute
    # bucket (every IANA zone's midnight falls on a quarter hour, so a merchant's date range
    # is exact). OR-ing step bits is idempotent, so redelivered events cannot inflate it, and
    # the funnel scans one row per session and quarter hour instead of every event.
    (
        2,
        "session_steps table",
        f"""
        CREATE TABLE IF NOT EXISTS {SESSION_STEPS_TABLE} (
            tenant_id UInt64,
            bucket DateTime('UTC'),
            session_id UInt64,
            steps SimpleAggregateFunction(groupBitOr, UInt8)
        )
        ENGINE = AggregatingMergeTree
        PARTITION BY toYYYYMM(bucket)
        ORDER BY (tenant_id, bucket, session_id)
        """,
    ),
    (3, "session_steps view", f"CREATE MATERIALIZED VIEW IF NOT EXISTS session_steps_mv TO {SESSION_STEPS_TABLE} AS {_SESSION_STEPS_SELECT}"),
    (4, "session_steps backfill", f"INSERT INTO {SESSION_STEPS_TABLE} {_SESSION_STEPS_SELECT}"),
)

# Tables that expire with ZELLY_ANALYTICS_RETENTION_DAYS, and their time column.
RETAINED = ((EVENTS_TABLE, "ts"), (SESSION_STEPS_TABLE, "bucket"))


def ttl_expression(retention_days: int, column: str = "ts") -> str:
    return f"toDateTime({column}) + toIntervalDay({int(retention_days)})"


async def migrate(client: Any, retention_days: int) -> str:
    """Apply pending migrations and the retention TTL; return a one-line summary."""
    await engine.command(
        client,
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version UInt32, name String, applied_at DateTime DEFAULT now()) "
        "ENGINE = MergeTree ORDER BY version",
    )
    applied = {row[0] for row in await engine.query_rows(client, f"SELECT version FROM {MIGRATIONS_TABLE}")}
    ran = []
    for version, name, statement in MIGRATIONS:
        if version in applied:
            continue
        await engine.command(client, statement)
        await engine.command(
            client, f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES ({{v:UInt32}}, {{n:String}})", {"v": version, "n": name}
        )
        ran.append(version)
    ttl_changed = await _apply_retention(client, retention_days)
    head = MIGRATIONS[-1][0]
    return (
        f"analytics: schema at {head} ({'applied ' + ', '.join(map(str, ran)) if ran else 'nothing to apply'}), "
        f"retention {retention_days} days{' (changed)' if ttl_changed else ''}"
    )


async def _apply_retention(client: Any, retention_days: int) -> bool:
    changed = False
    wanted = f"toIntervalDay({int(retention_days)})"
    for table, column in RETAINED:
        current = await engine.query_rows(
            client,
            "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
            {"t": table},
        )
        if current and wanted in current[0][0]:
            continue
        # materialize_ttl_after_modify=0: expired parts go at the next merge, not in one blocking rewrite.
        await engine.command(
            client,
            f"ALTER TABLE {table} MODIFY TTL {ttl_expression(retention_days, column)} SETTINGS materialize_ttl_after_modify = 0",
        )
        changed = True
    return changed


async def migrate_analytics(services) -> str:
    """The ``zelly migrate`` hook (ops.commands.migrate.EXTRA_MIGRATIONS)."""
    return await migrate(services.analytics, services.settings.analytics_retention_days)
