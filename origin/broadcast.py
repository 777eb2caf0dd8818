"""Pub/sub between processes: Redis channels in production, an in-process hub embedded.

Used for cache purges (edge), domain changes (the TLS ask set) and tenant
invalidation. Delivery is best effort, as with Redis pub/sub itself: a process
that was disconnected misses messages. So (issue 12, item 3):

- every subscriber goes through :func:`follow`, which resubscribes with
  backoff after a failure and calls the subscriber's ``on_reconnect`` once it
  is subscribed again: the subscriber treats everything as changed (drops its
  local versions and caches, reloads its allow-list);
- a subscription sends a heartbeat PING when it has been quiet for a while and
  fails when no PONG comes back, so a black-holed Redis (accepts, never
  answers) ends it like a closed one instead of leaving it deaf for ever;
- :meth:`RedisBroadcast.publish` goes through the request-path client (short
  timeouts, the shared cache's circuit breaker) and never raises: a message it
  could not send is kept (bounded) and sent again once a subscription of this
  process is back, so a write made during an outage still reaches the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections import defaultdict, deque
from typing import AsyncIterator, Awaitable, Callable, Protocol

import redis.asyncio as aioredis
import redis.exceptions
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from origin.db import BACKOFFICE, Id, LongText, UTCDateTime, metadata, utcnow

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0  # a quiet subscription PINGs after this and fails without a PONG within it
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0
UNSENT_LIMIT = 1000
_HEARTBEAT = "zelly-heartbeat"
_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, TimeoutError, OSError)


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


CHANGE_LOG_POLL_SECONDS = 0.5  # how soon another process's write is seen without Redis
CHANGE_LOG_KEEP = dt.timedelta(minutes=10)  # rows older than this are pruned (a tail further behind resyncs)
CHANGE_LOG_PRUNE_EVERY_SECONDS = 60.0
CHANGE_LOG_BATCH = 500
CHANGE_LOG_FLUSH_SECONDS = 0.05  # messages published within this go out in one insert
# MySQL hands out AUTO_INCREMENT ids at insert, not at commit: a row may become visible after
# a higher id was read. The tail re-reads this many ids below the highest it saw (and skips
# the ones it already delivered), so such a row is not skipped.
CHANGE_LOG_OVERLAP = 64

change_log = sa.Table(
    "change_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("message", LongText, nullable=False),
    sa.Column("writer", sa.String(32), nullable=False),  # the process that wrote it skips it when tailing
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Index(None, "created_at"),
    schema=BACKOFFICE,
)


class ChangeLogBroadcast:
    """No Redis: in-process delivery at once, and a change-log table the other processes tail.

    ``engine`` is the change log's own (a one-connection pool, see origin/services.py): the
    tail's polling never takes a connection a request is waiting for, and never shows up in a
    request's statements. Delivery stays best effort like Redis pub/sub: a message whose row
    could not be written (database down) reached this process only, and the subscribers'
    TTLs bound how long the others keep what they had.
    """

    def __init__(self, engine: AsyncEngine, *, poll_seconds: float = CHANGE_LOG_POLL_SECONDS) -> None:
        self._local = MemoryBroadcast()
        self._engine = engine
        self.poll_seconds = poll_seconds
        self.writer = secrets.token_hex(8)
        self._remote_hooks: dict[str, list[Callable[[str], Awaitable[None]]]] = defaultdict(list)
        self._tail: asyncio.Task | None = None
        self._unwritten: list[dict] = []
        self._flusher: asyncio.Task | None = None
        self._flush_lock = asyncio.Lock()
        self._pruned_at = 0.0

    def on_remote(self, channel: str, hook: Callable[[str], Awaitable[None]]) -> None:
        """Also run ``hook`` for ``channel``'s messages written by *other* processes, before delivery.

        For state each process keeps on its own without Redis: the catalog versions live in
        each process's memory cache, so another process's purge must bump them here.
        """
        self._remote_hooks[channel].append(hook)

    async def publish(self, channel: str, message: str) -> None:
        await self._local.publish(channel, message)
        # Written in the background, batched: a burst of writes (a seed, a sync page) costs one
        # transaction per CHANGE_LOG_FLUSH_SECONDS, not one each, and never adds to the writer's
        # latency or (on SQLite) holds the write lock between its own transactions.
        self._unwritten.append({"channel": channel, "message": message, "writer": self.writer, "created_at": utcnow()})
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon(), name="change-log writer")

    async def _flush_soon(self) -> None:
        await asyncio.sleep(CHANGE_LOG_FLUSH_SECONDS)
        await self.flush()

    async def flush(self) -> None:
        """Write what was published so far (close() calls it: a CLI's last messages are not lost)."""
        async with self._flush_lock:
            rows, self._unwritten = self._unwritten, []
            if not rows:
                return
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(change_log.insert(), rows)
                    if time.monotonic() - self._pruned_at > CHANGE_LOG_PRUNE_EVERY_SECONDS:
                        self._pruned_at = time.monotonic()
                        await conn.execute(change_log.delete().where(change_log.c.created_at < utcnow() - CHANGE_LOG_KEEP))
            except (SQLAlchemyError, OSError) as error:
                log.warning("broadcast: could not write %d messages to the change log (%s); other processes miss them",
                            len(rows), type(error).__name__)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        if self._tail is None or self._tail.done():
            self._tail = asyncio.get_running_loop().create_task(self._follow_log(), name="change-log tail")
        async with self._local.subscribe(channel) as messages:
            yield messages

    async def close(self) -> None:
        if self._tail is not None and not self._tail.done():
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
        if self._flusher is not None and not self._flusher.done():
            await self._flusher  # never cancelled mid-insert: its rows would be lost (close is bounded by its caller)
        await self.flush()

    async def _follow_log(self) -> None:
        delay = RETRY_FIRST_SECONDS
        last_id: int | None = None
        delivered: deque[int] = deque(maxlen=CHANGE_LOG_OVERLAP * 4)
        while True:
            try:
                async with self._engine.connect() as conn:
                    if last_id is None:  # start at the end: what was written before this process subscribed is not news
                        last_id = (await conn.execute(sa.select(sa.func.max(change_log.c.id)))).scalar() or 0
                        delivered.clear()
                    rows = (await conn.execute(
                        sa.select(change_log.c.id, change_log.c.channel, change_log.c.message, change_log.c.writer)
                        .where(change_log.c.id > last_id - CHANGE_LOG_OVERLAP)
                        .order_by(change_log.c.id)
                        .limit(CHANGE_LOG_BATCH + CHANGE_LOG_OVERLAP)
                    )).all()
                for row in rows:
                    if row.id in delivered:
                        continue
                    delivered.append(row.id)
                    last_id = max(last_id, row.id)
                    if row.writer != self.writer:
                        await self._deliver(row.channel, row.message)
                delay = RETRY_FIRST_SECONDS
                if len(rows) < CHANGE_LOG_BATCH:
                    await asyncio.sleep(self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is down or the table missing: try again, say so
                log.warning("broadcast: cannot read the change log (%s: %s); retrying in %.1fs", type(error).__name__, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _deliver(self, channel: str, message: str) -> None:
        for hook in self._remote_hooks.get(channel, ()):
            try:
                await hook(message)
            except Exception:  # one subscriber's failure must not stop the tail for the others
                log.exception("broadcast: change-log hook for %s failed", channel)
        await self._local.publish(channel, message)


class RedisBroadcast:
    """``client`` (no read timeout) holds the subscriptions; ``publisher`` (request-path timeouts) publishes."""

    def __init__(
        self, client: aioredis.Redis, *, publisher: aioredis.Redis | None = None, breaker=None,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._client = client
        self._publisher = publisher or client
        self._breaker = breaker  # origin.cache.CircuitBreaker of the shared cache, when given
        self.heartbeat_seconds = heartbeat_seconds
        self._unsent: deque[tuple[str, str]] = deque(maxlen=UNSENT_LIMIT)
        self._resending: asyncio.Task | None = None
        self._resend_lock = asyncio.Lock()
        if breaker is not None:
            # A partition heals without breaking the subscriptions: resend as soon as any
            # request-path command succeeds again, not only on a resubscription.
            breaker.on_recovery(self._resend_soon)
        # Redis pub/sub ignores the db index: two deployments (or test runs) on one
        # server in different dbs would apply each other's purges. Scope by db.
        self._scope = f"db{client.connection_pool.connection_kwargs.get('db', 0)}:"

    def channel_name(self, channel: str) -> str:
        """The Redis channel really used for ``channel``."""
        return self._scope + channel

    @property
    def unsent(self) -> int:
        return len(self._unsent)

    async def publish(self, channel: str, message: str) -> None:
        if self._unsent:
            await self._send_unsent()
        if not await self._send(channel, message):
            if len(self._unsent) == self._unsent.maxlen:
                log.warning("broadcast: %d messages unsent; dropping the oldest", len(self._unsent))
            self._unsent.append((channel, message))

    async def _send(self, channel: str, message: str) -> bool:
        if self._breaker is not None and not self._breaker.allows():
            return False
        try:
            await self._publisher.publish(self.channel_name(channel), message)
        except _FAILURES as error:
            if self._breaker is not None:
                self._breaker.failed(error)
            log.warning("broadcast: could not publish on %s (%s); kept to send again", channel, type(error).__name__)
            return False
        if self._breaker is not None:
            self._breaker.succeeded()
        return True

    def _resend_soon(self) -> None:
        if not self._unsent or (self._resending is not None and not self._resending.done()):
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the next publish or subscribe resends
            self._resending = asyncio.get_running_loop().create_task(self._send_unsent(), name="broadcast-resend")

    async def close(self) -> None:
        if self._resending is not None and not self._resending.done():
            self._resending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._resending

    async def _send_unsent(self) -> None:
        async with self._resend_lock:  # one resender at a time: each message goes out once
            while self._unsent:
                channel, message = self._unsent[0]
                if not await self._send(channel, message):
                    return
                self._unsent.popleft()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[str]]:
        channel = self.channel_name(channel)
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
        except BaseException:
            await pubsub.aclose()
            raise
        if self._unsent:
            await self._send_unsent()  # Redis answers again: what this process could not say goes out now

        async def messages() -> AsyncIterator[str]:
            awaiting_pong = False
            while True:
                item = await pubsub.get_message(ignore_subscribe_messages=True, timeout=self.heartbeat_seconds)
                if item is None:
                    if awaiting_pong:
                        raise redis.exceptions.ConnectionError(f"no answer to a heartbeat within {self.heartbeat_seconds}s")
                    await pubsub.ping(message=_HEARTBEAT)
                    awaiting_pong = True
                    continue
                awaiting_pong = False
                if item["type"] == "pong":
                    continue
                data = item["data"]
                yield data.decode() if isinstance(data, bytes) else str(data)

        try:
            yield messages()
        finally:
            await _close_pubsub(pubsub, channel)


async def _close_pubsub(pubsub, channel: str) -> None:
    with contextlib.suppress(Exception):  # the connection may already be gone at shutdown
        await asyncio.wait_for(pubsub.unsubscribe(channel), timeout=1.0)
    with contextlib.suppress(Exception):
        await pubsub.aclose()


async def follow(
    broadcast: Broadcast,
    channel: str,
    handle: Callable[[str], Awaitable[None]],
    *,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    ready: asyncio.Event | None = None,
    name: str = "",
) -> None:
    """Apply ``channel``'s messages with ``handle`` until cancelled, resubscribing with backoff.

    Once subscribed again after any failure, ``on_reconnect`` runs before the
    next message: whatever was published meanwhile is lost, so the subscriber
    must treat everything as changed.
    """
    delay = RETRY_FIRST_SECONDS
    missed = False
    while True:
        try:
            async with broadcast.subscribe(channel) as messages:
                if missed and on_reconnect is not None:
                    await on_reconnect()
                missed = False
                delay = RETRY_FIRST_SECONDS
                if ready is not None:
                    ready.set()
                log.debug("broadcast: %s subscribed to %s", name or "subscriber", channel)
                async for message in messages:
                    await handle(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # any failure ends this subscription only: resubscribe
            missed = True
            log.warning("broadcast: %s lost %s (%s: %s); resubscribing in %.1fs",
                        name or "subscriber", channel, type(error).__name__, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
