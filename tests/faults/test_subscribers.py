"""Every subscriber resubscribes after Redis goes away, and is told it may have missed messages (issue 12, item 3)."""

from __future__ import annotations

import asyncio
import contextlib

import redis.asyncio as aioredis

from origin.broadcast import RedisBroadcast, follow
from tests.faults.harness import BlackHoleProxy, RedisServer


async def wait_for(predicate, within: float) -> bool:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return predicate()


@contextlib.asynccontextmanager
async def following(url: str, *, heartbeat_seconds: float = 5.0):
    client = aioredis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=None)
    publisher = aioredis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    broadcast = RedisBroadcast(client, publisher=publisher, heartbeat_seconds=heartbeat_seconds)
    received: list[str] = []
    reconnects: list[int] = []
    ready = asyncio.Event()

    async def handle(message: str) -> None:
        received.append(message)

    async def reconnected() -> None:
        reconnects.append(len(received))

    task = asyncio.create_task(follow(broadcast, "test", handle, on_reconnect=reconnected, ready=ready, name="test"))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        yield broadcast, received, reconnects
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await broadcast.close()
        await client.aclose()
        await publisher.aclose()


async def test_a_restarted_redis_is_resubscribed_and_the_subscriber_told(redis_server: RedisServer):
    async with following(redis_server.url) as (broadcast, received, reconnects):
        await broadcast.publish("test", "before")
        assert await wait_for(lambda: received == ["before"], 2)

        redis_server.stop()
        await broadcast.publish("test", "during")  # kept: nobody could hear it now
        unsent_during = broadcast.unsent
        redis_server.start()
        told = await wait_for(lambda: reconnects == [1], 8)
        resent = await wait_for(lambda: "during" in received, 3)
        await broadcast.publish("test", "after")
        delivered = await wait_for(lambda: received[-1:] == ["after"], 3)

    assert unsent_during == 1
    assert told and resent and delivered
    assert received.count("during") == 1


async def test_a_black_holed_subscription_is_noticed_by_its_heartbeat(proxy: BlackHoleProxy):
    async with following(proxy.url, heartbeat_seconds=0.3) as (broadcast, received, reconnects):
        proxy.black_hole()
        await asyncio.sleep(1.2)  # a quiet PING, no PONG within the heartbeat: the subscription ends
        proxy.resume()
        told = await wait_for(lambda: len(reconnects) >= 1, 8)
        await broadcast.publish("test", "after")
        delivered = await wait_for(lambda: received[-1:] == ["after"], 3)

    assert told and delivered
