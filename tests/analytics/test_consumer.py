"""The consumer: killed mid-batch, ClickHouse away and back, redelivery: nothing lost, nothing twice."""

import asyncio
import time

from origin.analytics.consumer import EventConsumer, deduplication_token
from origin.analytics.queue import queue_for
from origin.analytics.runtime import analytics_runtime
from tests.analytics.conftest import final_count, raw_count, wait_for


def rows(tenant_id: int, prefix: str, count: int) -> list[dict]:
    now = round(time.time(), 3)
    return [
        {"tenant_id": tenant_id, "ts": now, "event_id": f"{prefix}-{n}", "name": "page_view", "visitor_id": 7,
         "session_id": 70, "path": f"/p/{n}", "device": "desktop"}
        for n in range(count)
    ]


async def test_a_consumer_killed_mid_batch_loses_and_duplicates_nothing(analytics):
    queue = queue_for(analytics)
    for batch in range(4):
        await queue.publish(rows(1, f"b{batch}", 25))
    doomed = EventConsumer(analytics.analytics, queue, batch_rows=10_000, flush_seconds=60, name="doomed")
    task = asyncio.create_task(doomed.run(asyncio.Event()))
    await wait_for(lambda: _pending_is(queue, 4))

    task.cancel()  # killed holding 4 read, unacknowledged messages
    await asyncio.gather(task, return_exceptions=True)
    assert raw_count(analytics.analytics) == 0
    queue.claim_idle_ms = 0  # the survivor takes over at once instead of after 30 s
    survivor = EventConsumer(analytics.analytics, queue, batch_rows=10_000, flush_seconds=0.05, name="survivor")
    stop = asyncio.Event()
    running = asyncio.create_task(survivor.run(stop))
    await wait_for(lambda: _pending_is(queue, 0))
    stop.set()
    await running

    assert final_count(analytics.analytics) == 100
    assert raw_count(analytics.analytics) == 100
    assert await queue.backlog() == 0


async def test_killed_after_insert_before_ack_counts_once(analytics):
    queue = queue_for(analytics)
    await queue.publish(rows(1, "x", 30))
    await queue.publish(rows(1, "y", 20))
    first = EventConsumer(analytics.analytics, queue, name="first")
    read = await queue.read("first", max_messages=10, block_ms=5)
    await first.insert(read)  # inserted, then the process died before XACK

    queue.claim_idle_ms = 0
    second = EventConsumer(analytics.analytics, queue, name="second")
    claimed = await queue.read("second", max_messages=10, block_ms=5)
    assert [d.message_id for d in claimed] == [d.message_id for d in read]
    assert await second.flush(claimed)

    # same batch, same insert_deduplication_token: ClickHouse drops the second insert outright
    assert deduplication_token(claimed) == deduplication_token(read)
    assert raw_count(analytics.analytics) == 50
    assert final_count(analytics.analytics) == 50
    assert await queue.backlog() == 0


async def test_redelivered_events_in_a_different_batch_count_once(analytics):
    queue = queue_for(analytics)
    await queue.publish(rows(1, "e", 10))
    await queue.publish(rows(1, "e", 10) + rows(1, "f", 5))  # the same ten again, next to five new ones
    consumer = EventConsumer(analytics.analytics, queue)
    for _ in range(2):
        await consumer.flush(await queue.read(consumer.name, max_messages=1, block_ms=5))

    assert final_count(analytics.analytics) == 15
    assert final_count(analytics.analytics, "startsWith(event_id, 'e-')") == 10


async def test_clickhouse_unavailable_then_back(analytics):
    client = analytics.analytics
    queue = queue_for(analytics)
    client.command("DETACH TABLE events")  # inserts now fail as on a ClickHouse that is down
    consumer = EventConsumer(client, queue, flush_seconds=0.05, backoff_initial=0.05, backoff_max=0.2)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    for batch in range(3):
        await queue.publish(rows(2, f"d{batch}", 40))
    await wait_for(lambda: _failures_at_least(consumer, 3))
    assert await queue.backlog() == 3  # waiting, nothing acknowledged, nothing dropped

    client.command("ATTACH TABLE events")
    await wait_for(lambda: _backlog_is(queue, 0))
    stop.set()
    await running

    assert final_count(client, "tenant_id = 2") == 120
    assert raw_count(client, "tenant_id = 2") == 120


async def test_shutdown_with_clickhouse_down_leaves_the_batch_for_the_next_consumer(analytics):
    client = analytics.analytics
    queue = queue_for(analytics)
    client.command("DETACH TABLE events")
    await queue.publish(rows(3, "s", 5))
    consumer = EventConsumer(client, queue, flush_seconds=0.01, backoff_initial=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    await wait_for(lambda: _failures_at_least(consumer, 1))

    stop.set()
    await running
    client.command("ATTACH TABLE events")
    queue.claim_idle_ms = 0
    async with analytics_runtime(analytics, flush_seconds=0.01, with_rollups=False):
        await wait_for(lambda: _backlog_is(queue, 0))

    assert final_count(client, "tenant_id = 3") == 5


async def _pending_is(queue, count: int) -> bool:
    return await queue.pending_count() == count


async def _backlog_is(queue, count: int) -> bool:
    return await queue.backlog() == count


async def _failures_at_least(consumer, count: int) -> bool:
    return consumer.stats.failures >= count


async def test_a_message_clickhouse_cannot_parse_is_dead_lettered_and_the_rest_goes_in(analytics):
    import functools

    import sqlalchemy as sa

    from origin.analytics.dead_letters import record_dead_letter
    from origin.tasks.tables import task_dead_letters

    queue = queue_for(analytics)
    await queue.publish(rows(4, "good-a", 10))
    await queue.publish([{**rows(4, "bad", 1)[0], "ts": "not a time"}])
    await queue.publish(rows(4, "good-b", 10))
    consumer = EventConsumer(analytics.analytics, queue, dead_letter=functools.partial(record_dead_letter, analytics))

    settled = await consumer.flush(await queue.read(consumer.name, max_messages=10, block_ms=5))

    assert settled and consumer.stats.dead_letters == 1
    assert final_count(analytics.analytics, "tenant_id = 4") == 20
    assert await queue.backlog() == 0
    async with analytics.db.connect() as conn:
        letters = (await conn.execute(sa.select(task_dead_letters))).mappings().all()
    assert [(row["queue"], row["task_name"], '"not a time"' in row["payload"]["rows"]) for row in letters] == [
        ("store-events", "store-events.insert", True)
    ]


async def test_the_consumer_survives_redis_losing_the_stream(chdb_client):
    from origin.analytics import schema
    from origin.analytics.queue import RedisStreamQueue
    from origin.services import make_redis
    from tests.conftest import REDIS_URL, require_server

    require_server("Redis", "127.0.0.1", 6379)
    redis = make_redis(REDIS_URL)
    await redis.flushdb()
    await schema.migrate(chdb_client, 400)
    queue = RedisStreamQueue(redis)
    consumer = EventConsumer(chdb_client, queue, flush_seconds=0.01, backoff_initial=0.02, backoff_max=0.1)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop))
    try:
        await queue.publish(rows(5, "before", 3))
        await wait_for(lambda: _backlog_is(queue, 0))

        await redis.delete("store-events")  # stream and group gone (a flushed or replaced Redis)
        await asyncio.sleep(0.3)
        await queue.publish(rows(5, "after", 4))
        await wait_for(lambda: _backlog_is(queue, 0))
    finally:
        stop.set()
        await running
        await redis.flushdb()
        await redis.aclose()

    assert final_count(chdb_client, "tenant_id = 5") == 7
