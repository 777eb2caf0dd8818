"""Pub/sub between processes: Redis channels in production, an in-process hub embedded.

Used for cache purges (edge), domain changes (the TLS ask set) and tenant
invalidation. Delivery is best effort, as with Redis pub/sub itself: a process
that was down misses messages, so every subscriber also keeps a short TTL or
refreshes on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import AsyncIterator, Protocol

import redis.asyncio as aioredis


class Broadcast(Protocol):
    async def publish(self, channel: str, message: str) -> None: ...

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[AsyncIterator[str]]: ...


class MemoryBroadcast:
    """One process: a queue per subscriber."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._subscribers.get(channel, ())):
            queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._subscribers[channel].add(queue)

        async def messages() -> AsyncIterator[str]:
            while True:
                yield await queue.get()

        try:
            yield messages()
        finally:
            self._subscribers[channel].discard(queue)


class RedisBroadcast:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        # Redis pub/sub ignores the db index: two deployments (or test runs) on one
        # server in different dbs would apply each other's purges. Scope by db.
        self._scope = f"db{client.connection_pool.connection_kwargs.get('db', 0)}:"

    def channel_name(self, channel: str) -> str:
        """The Redis channel really used for ``channel``."""
        return self._scope + channel

    async def publish(self, channel: str, message: str) -> None:
        await self._client.publish(self.channel_name(channel), message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        channel = self.channel_name(channel)
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(channel)

        async def messages() -> AsyncIterator[str]:
            while True:
                # Block without a poll timeout: nothing needs waking up here, and the
                # Redis client has no read timeout (origin.services.make_redis).
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if item is None:
                    continue
                data = item["data"]
                yield data.decode() if isinstance(data, bytes) else str(data)

        try:
            yield messages()
        finally:
            await _close_pubsub(pubsub, channel)


async def _close_pubsub(pubsub, channel: str) -> None:
    with contextlib.suppress(Exception):  # the connection may already be gone at shutdown
        await pubsub.unsubscribe(channel)
    await pubsub.aclose()
