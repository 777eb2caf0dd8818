from ops.commands.migrate import EXTRA_MIGRATIONS
from origin.analytics import schema
from origin.analytics.schema import migrate_analytics


def test_zelly_migrate_runs_the_analytics_migration():
    assert migrate_analytics in EXTRA_MIGRATIONS


async def test_migrate_creates_the_events_table_once_and_is_idempotent(analytics):
    client = analytics.analytics

    again = await schema.migrate(client, 400)

    assert again == "analytics: schema at 1 (nothing to apply), retention 400 days"
    assert client.command("SELECT count() FROM analytics_migrations") == 1
    engine_full = client.command(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'"
    )
    assert engine_full.startswith("ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (tenant_id, toDate(ts), name, event_id)")
    assert "TTL toDateTime(ts) + toIntervalDay(400)" in engine_full
    assert "non_replicated_deduplication_window = 10000" in engine_full


async def test_retention_follows_the_setting(analytics):
    client = analytics.analytics

    summary = await schema.migrate(client, 30)

    assert summary == "analytics: schema at 1 (nothing to apply), retention 30 days (changed)"
    engine_full = client.command(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'"
    )
    assert "TTL toDateTime(ts) + toIntervalDay(30)" in engine_full
