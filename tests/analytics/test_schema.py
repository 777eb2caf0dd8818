from ops.commands.migrate import EXTRA_MIGRATIONS
from origin.analytics import schema
from origin.analytics.schema import migrate_analytics


def test_zelly_migrate_runs_the_analytics_migration():
    assert migrate_analytics in EXTRA_MIGRATIONS


async def test_migrate_creates_the_events_table_once_and_is_idempotent(analytics):
    client = analytics.analytics

    again = await schema.migrate(client, 400)

    assert again == "analytics: schema at 4 (nothing to apply), retention 400 days"
    assert client.command("SELECT count() FROM analytics_migrations") == 4
    engine_full = client.command(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'"
    )
    assert engine_full.startswith("ReplacingMergeTree PARTITION BY toYYYYMM(ts) ORDER BY (tenant_id, toDate(ts), name, event_id)")
    assert "TTL toDateTime(ts) + toIntervalDay(400)" in engine_full
    assert "non_replicated_deduplication_window = 10000" in engine_full


async def test_retention_follows_the_setting(analytics):
    client = analytics.analytics

    summary = await schema.migrate(client, 30)

    assert summary == "analytics: schema at 4 (nothing to apply), retention 30 days (changed)"
    engine_full = client.command(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'"
    )
    assert "TTL toDateTime(ts) + toIntervalDay(30)" in engine_full
    steps_engine = client.command(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'session_steps'"
    )
    assert "TTL toDateTime(bucket) + toIntervalDay(30)" in steps_engine


async def test_session_steps_backfill_and_quarter_hour_ranges_in_a_half_hour_zone(analytics):
    import datetime as dt

    from origin.analytics import queries
    from origin.analytics.consumer import EventConsumer
    from origin.analytics.queue import make_delivery
    from origin.analytics.ranges import Range

    client = analytics.analytics
    late_utc = dt.datetime(2026, 3, 14, 23, 50, tzinfo=dt.timezone.utc)  # 2026-03-15 05:20 in Kolkata
    events = [
        {"tenant_id": 1, "ts": late_utc.timestamp(), "event_id": f"e{n}", "name": name, "visitor_id": 1, "session_id": 9}
        for n, name in enumerate(["page_view", "product_view", "add_to_cart"])
    ] + [{"tenant_id": 2, "ts": late_utc.timestamp(), "event_id": "other", "name": "page_view", "visitor_id": 2, "session_id": 10}]
    await EventConsumer(client, None).insert([make_delivery("1-0", events)])
    client.command("TRUNCATE TABLE session_steps")
    client.command("ALTER TABLE analytics_migrations DELETE WHERE version = 4 SETTINGS mutations_sync = 1")

    summary = await schema.migrate(client, 400)
    kolkata = await queries.funnel(client, 1, Range(dt.date(2026, 3, 15), dt.date(2026, 3, 15), "Asia/Kolkata"))
    utc = await queries.funnel(client, 1, Range(dt.date(2026, 3, 15), dt.date(2026, 3, 15), "UTC"))

    assert summary == "analytics: schema at 4 (applied 4), retention 400 days"
    assert [step["sessions"] for step in kolkata] == [1, 1, 1, 0, 0]
    assert [step["sessions"] for step in utc] == [0, 0, 0, 0, 0]
