"""The Redis stream broker's fixes for the measured taskiq pitfalls (issue 6), against real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis
from taskiq import InMemoryBroker
from taskiq.message import BrokerMessage

from origin.settings import Settings
from origin.tasks.errors import TaskError, TaskErrorCode
from tests.conftest import REDIS_URL, require_server
from workers import queues
from workers.brokers import DelayingInMemoryBroker, ReclaimingStreamBroker, make_broker
from workers.retry import DELAY_LABEL


@pytest.fixture
async def redis():
    require_server("Redis", "127.0.0.1", 6379)
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def _message(data: bytes, **labels) -> BrokerMessage:
    return BrokerMessage(task_id=uuid.uuid4().hex, task_name="n", message=data, labels=labels)  # taskiq gives every task its own id


async def _next(generator, timeout: float = 20.0):  # a bound for a loaded machine, not an expected wait
    return await asyncio.wait_for(anext(generator), timeout)


def test_embedded_settings_give_the_in_memory_broker(tmp_path):
    broker = make_broker(Settings(data_dir=tmp_path), queues.SHOPIFY_WEBHOOK)

    assert isinstance(broker, DelayingInMemoryBroker) and isinstance(broker, InMemoryBroker)


def test_unknown_queue_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown queue"):
        make_broker(Settings(data_dir=tmp_path), "SHOPIFY_EVERYTHING")


async def test_pools_exceed_max_async_tasks_and_reads_time_out_above_their_block(redis):
    broker = make_broker(Settings(redis_url=REDIS_URL), queues.SHOPIFY_WEBHOOK)

    assert broker.connection_pool.max_connections > queues.MAX_ASYNC_TASKS
    # A silent Redis fails a read after 10 s; a healthy one always answers a 1 s XREADGROUP BLOCK first.
    assert broker.connection_pool.connection_kwargs["socket_timeout"] == 10
    assert broker.block / 1000 < broker.connection_pool.connection_kwargs["socket_timeout"]
    assert broker.queue_name == "zelly:tasks:SHOPIFY_WEBHOOK"
    await broker.shutdown()


async def test_a_dead_consumers_message_is_reclaimed_on_a_timer_without_new_messages(redis):
    dead = ReclaimingStreamBroker(REDIS_URL, queue=queues.SHOPIFY_WEBHOOK, idle_timeout_ms=300, reclaim_interval_s=0.2)
    await dead.startup()
    await dead.kick(_message(b"payload-1"))
    dead_listener = dead.listen()
    delivered = await _next(dead_listener)  # taken, never acknowledged: the worker "dies"
    dead._heartbeat.cancel()

    alive = ReclaimingStreamBroker(REDIS_URL, queue=queues.SHOPIFY_WEBHOOK, idle_timeout_ms=300, reclaim_interval_s=0.2)
    await alive.startup()
    alive_listener = alive.listen()
    reclaimed = await _next(alive_listener)
    await reclaimed.ack()

    assert (delivered.data, reclaimed.data) == (b"payload-1", b"payload-1")
    pending = await redis.xpending(alive.queue_name, alive.consumer_group_name)
    assert pending["pending"] == 0
    for broker, listener in ((dead, dead_listener), (alive, alive_listener)):
        broker._closing = True
        await listener.aclose()
        await broker.shutdown()


async def test_a_live_workers_long_task_is_not_stolen(redis):
    # Production's ratio: the heartbeat refreshes every third of the idle timeout. At 300 ms (heartbeat
    # 0.2 s, the floor) one 100 ms stall of this process on a loaded machine let the other steal it.
    busy = ReclaimingStreamBroker(REDIS_URL, queue=queues.SHOPIFY_CATALOG_SYNC, idle_timeout_ms=1500, reclaim_interval_s=0.1)
    await busy.startup()
    await busy.kick(_message(b"long sync"))
    busy_listener = busy.listen()
    taken = await _next(busy_listener)
    other = ReclaimingStreamBroker(REDIS_URL, queue=queues.SHOPIFY_CATALOG_SYNC, idle_timeout_ms=1500, reclaim_interval_s=0.1)
    await other.startup()
    other_listener = other.listen()

    with pytest.raises(asyncio.TimeoutError):
        await _next(other_listener, timeout=4.5)  # three idle timeouts pass; the heartbeat keeps it ours
    await taken.ack()

    for broker, listener in ((busy, busy_listener), (other, other_listener)):
        broker._closing = True
        await listener.aclose()
        await broker.shutdown()


async def test_the_stream_is_never_trimmed_past_its_bound_a_kick_is_refused(redis):
    broker = ReclaimingStreamBroker(REDIS_URL, queue=queues.STORE_EVENTS, backlog_limit=50)
    try:
        for index in range(50):
            await broker.kick(_message(str(index).encode()))

        with pytest.raises(TaskError) as refused:
            await broker.kick(_message(b"one too many"))

        assert refused.value.code == TaskErrorCode.QUEUE_FULL.value
        assert await redis.xlen(broker.queue_name) == 50  # every accepted message is still there
    finally:
        await broker.shutdown()


async def test_an_acknowledged_message_leaves_the_stream(redis):
    broker = ReclaimingStreamBroker(REDIS_URL, queue=queues.STORE_EVENTS, backlog_limit=2)
    await broker.startup()
    await broker.kick(_message(b"first"))
    await broker.kick(_message(b"second"))
    listener = broker.listen()
    first = await _next(listener)

    await first.ack()

    assert await redis.xlen(broker.queue_name) == 1
    await broker.kick(_message(b"third"))  # room again: the bound counts what nobody finished
    broker._closing = True
    await listener.aclose()
    await broker.shutdown()


async def test_a_delayed_message_waits_in_the_sorted_set_then_is_delivered(redis):
    broker = ReclaimingStreamBroker(REDIS_URL, queue=queues.SHOPIFY_WEBHOOK, reclaim_interval_s=0.2)
    await broker.startup()
    kicked_at = time.time()
    await broker.kick(_message(b"retry me", **{DELAY_LABEL: 1.5}))

    parked = await redis.zcard(broker.delayed_key)
    moved_early = await broker.move_due_delayed(redis)
    checked_early_at = time.time()
    listener = broker.listen()
    delivered = await _next(listener)
    delivered_at = time.time()
    await delivered.ack()

    assert parked == 1
    assert (moved_early, checked_early_at - kicked_at < 1.5) == (0, True)
    assert delivered_at - kicked_at >= 1.5  # the listener waited until it was due
    assert delivered.data == b"retry me"
    assert await redis.zcard(broker.delayed_key) == 0
    broker._closing = True
    await listener.aclose()
    await broker.shutdown()


async def test_stopping_an_in_process_worker_waits_for_its_running_task_and_leaves_no_reader(redis):
    from taskiq.api import run_receiver_task

    from tests.stream_drain import stop_stream_workers

    worker = ReclaimingStreamBroker(REDIS_URL, queue=queues.SHOPIFY_CATALOG_SYNC, reclaim_interval_s=0.5)
    started, finished = asyncio.Event(), asyncio.Event()

    @worker.task(task_name="test.slow")
    async def slow() -> None:
        started.set()
        await asyncio.sleep(1.5)  # longer than the 1.2 s the harnesses used to wait before cancelling
        finished.set()

    worker.is_worker_process = True
    await worker.startup()
    receiver = asyncio.create_task(run_receiver_task(worker, max_async_tasks=2))
    await slow.kiq()
    await asyncio.wait_for(started.wait(), 20)

    await stop_stream_workers([worker], [receiver])

    assert finished.is_set()
    assert receiver.done()
    assert await redis.xlen(worker.queue_name) == 0  # run and acknowledged before the stop returned
    db = str(redis.connection_pool.connection_kwargs.get("db", 0))
    blocked_here = [client for client in await redis.client_list() if client["db"] == db and "b" in client["flags"]]
    assert blocked_here == []  # nobody of this db is left in XREADGROUP for the next test's flushdb
