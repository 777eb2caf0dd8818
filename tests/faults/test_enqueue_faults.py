"""An enqueue whose answer is lost: the task is in its stream once, and the caller is told it succeeded (issue 12).

Through this suite's loopback proxy in front of its own redis-server: the
proxy forwards the XADD to Redis and drops Redis's answer, so the producer's
0.5 s timeout fires after the task was added. Resending it must not add it
again (the task id is remembered beside the stream), and a resend that is
answered makes the enqueue a success: no 503 for work that is queued.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from taskiq import TaskiqMessage

from origin import queueing
from origin.services import open_services
from origin.settings import Settings
from origin.shopify.webhooks import PROCESS_TASK as PROCESS_WEBHOOK_TASK
from tests.faults.harness import BlackHoleProxy, RedisServer
from workers import queues
from workers.brokers import ReclaimingStreamBroker
from workers.dispatch import open_task_queue


async def stream_length(redis_server: RedisServer, queue: str) -> int:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        return int(await client.xlen(queues.stream_key(queue)))
    finally:
        await client.aclose()


async def test_an_enqueue_whose_answer_is_lost_is_added_once_and_succeeds(base_settings: Settings, redis_server: RedisServer, proxy: BlackHoleProxy):
    settings = base_settings.replace(redis_url=proxy.url)
    async with open_services(settings, with_analytics=False) as services:
        async with open_task_queue(settings, services, queue_names=(queues.SHOPIFY_WEBHOOK,)):
            await queueing.enqueue(services, queues.SHOPIFY_WEBHOOK, PROCESS_WEBHOOK_TASK, delivery_id=1)  # warm: a pooled connection
            proxy.swallow_next_reply()

            await queueing.enqueue(services, queues.SHOPIFY_WEBHOOK, PROCESS_WEBHOOK_TASK, delivery_id=2)
            swallowed = proxy.replies_swallowed_pending == 0

    assert swallowed  # the first answer to the second enqueue really was lost
    assert await stream_length(redis_server, queues.SHOPIFY_WEBHOOK) == 2  # delivery 1 and delivery 2, once each


async def test_a_kick_sent_twice_with_one_task_id_adds_one_entry(redis_server: RedisServer):
    broker = ReclaimingStreamBroker(redis_server.url, queue=queues.SHOPIFY_WEBHOOK, socket_timeout=0.5)
    await broker.startup()
    try:
        message = broker.formatter.dumps(
            TaskiqMessage(task_id="task-1", task_name=PROCESS_WEBHOOK_TASK, labels={}, args=[], kwargs={"delivery_id": 1})
        )
        await broker.kick(message)
        await broker.kick(message)
        other = broker.formatter.dumps(
            TaskiqMessage(task_id="task-2", task_name=PROCESS_WEBHOOK_TASK, labels={}, args=[], kwargs={"delivery_id": 1})
        )
        await broker.kick(other)
    finally:
        await broker.shutdown()

    assert await stream_length(redis_server, queues.SHOPIFY_WEBHOOK) == 2
