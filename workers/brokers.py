"""make_broker(settings, queue): one Redis stream per queue, or the in-memory broker.

What taskiq 0.13 / taskiq-redis 1.2.4 do out of the box, measured in issue 6, and
what this module changes:

- ``ListQueueBroker`` loses in-flight tasks on ``kill -9`` (no acks), so only the
  stream broker is used: a message stays pending until the task finished and
  was acknowledged (taskiq acks "when saved", after the task ran).
- ``RedisStreamBroker`` reclaims a dead worker's pending messages only after
  ``idle_timeout`` (10 min) *and* only when new messages arrive. Here the
  listener runs XAUTOCLAIM on a timer, with or without new messages.
- A reclaim by idle time would also steal a long catalog sync from a live
  worker, so each worker refreshes the idle time of its own in-flight messages
  (XCLAIM JUSTID to itself) every third of the idle timeout. Only a dead
  worker's messages ever go idle.
- The stream is never trimmed by length: ``XADD MAXLEN`` deletes entries no
  worker ran or acknowledged (after Shopify got its 200, issue 12, item 4).
  An acknowledged message is deleted with its ack (XACK + XDEL), so XLEN is the
  unacknowledged backlog, and a producer refuses a message past
  ``ZELLY_TASK_BACKLOG_LIMIT`` (TaskError QUEUE_FULL, a 503 at intake) instead.
- A producer (the origin's kicks) uses short socket timeouts
  (``ZELLY_REDIS_REQUEST_TIMEOUT_MS``): a silent Redis fails an intake, never hangs it.
- Pools are bounded: the Redis pool is sized above ``--max-async-tasks``.
- Blocking reads are short (``XREADGROUP BLOCK 1000``) so shutdown finishes
  within seconds, and every read has a 10 s socket timeout above that block, so
  a Redis that stops answering fails a read instead of hanging the worker.
- A retry delay (workers.retry) is a message parked in a sorted set; the same
  timer moves due ones onto the stream atomically (a Lua script), so a backoff
  survives a crash and holds no worker slot while it waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker
from taskiq.message import BrokerMessage
from taskiq_redis import RedisStreamBroker

from origin.errors import ErrorKind
from origin.settings import Settings
from origin.tasks.errors import TaskError, TaskErrorCode
from workers import queues
from workers.observed import ObservedTasks
from workers.retry import DELAY_LABEL, RetryPolicy, RetryWithBackoff
from workers.runtime import attach_runtime

log = logging.getLogger(__name__)

DEFAULT_BACKLOG_LIMIT = 100_000  # ZELLY_TASK_BACKLOG_LIMIT's default

# Moves due delayed messages onto the stream and drops them from the set, atomically.
# A retry was accepted work already: it goes back whatever the backlog.
# A kick whose answer timed out may have been added: the kick is sent again once with the same
# task id, and this script adds a task id at most once (issue 12: an ambiguous enqueue must not
# run twice). KEYS[1] the stream, KEYS[2] the task id's marker; ARGV[1] the backlog bound,
# ARGV[2] the marker's TTL in seconds, ARGV[3] the message. Returns the entry id (the first
# one's again for a resend), or nil when the stream is full.
_IDEMPOTENT_BOUNDED_XADD_SCRIPT = """
local added = redis.call('GET', KEYS[2])
if added then return added end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
local id = redis.call('XADD', KEYS[1], '*', 'data', ARGV[3])
redis.call('SET', KEYS[2], id, 'EX', tonumber(ARGV[2]))
return id
"""
ADDED_MARKER_TTL_SECONDS = 300  # far above a resend's delay; bounded memory at any intake rate
KICK_RESEND_FAILURES = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)

_MOVE_DUE_SCRIPT = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 200)
for _, data in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'data', data)
  redis.call('ZREM', KEYS[1], data)
end
return #due
"""


class ReclaimingStreamBroker(RedisStreamBroker):
    """RedisStreamBroker that reclaims dead workers' messages on a timer and supports delays."""

    def __init__(
        self,
        url: str,
        *,
        queue: str,
        idle_timeout_ms: int = 15_000,
        reclaim_interval_s: float = 5.0,
        max_connection_pool_size: int = 2 * queues.MAX_ASYNC_TASKS + 8,
        backlog_limit: int = DEFAULT_BACKLOG_LIMIT,
        socket_timeout: float = 10,
    ) -> None:
        super().__init__(
            url,
            queue_name=queues.stream_key(queue),
            consumer_group_name=queue,
            consumer_name=f"{queue}-{uuid.uuid4().hex[:12]}",
            consumer_id="0",  # a group created after messages were added still sees them
            idle_timeout=idle_timeout_ms,
            xread_block=1000,
            xread_count=queues.MAX_ASYNC_TASKS,
            max_connection_pool_size=max_connection_pool_size,
            # A consumer's 10 s is above xread_block: a silent Redis fails the read, it never hangs
            # it. A producer passes the request path's timeout.
            socket_timeout=socket_timeout,
            socket_connect_timeout=min(5, socket_timeout),
            timeout=min(10, socket_timeout),  # BlockingConnectionPool: wait at most this for a free connection
        )
        self.backlog_limit = backlog_limit
        self.queue = queue
        self.delayed_key = queues.delayed_key(queue)
        self.reclaim_interval_s = reclaim_interval_s
        self.delay_tick_s = min(1.0, reclaim_interval_s)
        self._in_flight: set[str] = set()
        self._heartbeat: asyncio.Task | None = None
        # One client over the pool for kicks and acks: building a redis.asyncio.Redis per call
        # (as taskiq-redis does) costs more CPU than the XADD itself at webhook intake rates.
        self._client = Redis(connection_pool=self.connection_pool)
        self._closing = False

    async def kick(self, message: BrokerMessage) -> None:
        delay = float(message.labels.get(DELAY_LABEL) or 0)
        if delay > 0:
            await self._client.zadd(self.delayed_key, {message.message: time.time() + delay})
            return
        keys_and_args = (self.queue_name, queues.added_key(self.queue, message.task_id),
                         self.backlog_limit, ADDED_MARKER_TTL_SECONDS, message.message)
        try:
            added = await self._client.eval(_IDEMPOTENT_BOUNDED_XADD_SCRIPT, 2, *keys_and_args)
        except KICK_RESEND_FAILURES as error:
            # Redis may have run the script and the answer got lost: resend once, on a fresh
            # connection; the task id's marker makes a second XADD of it a no-op. A second
            # failure goes to the caller (503: the sender retries with a new delivery).
            log.warning("enqueue of %s on %s unanswered (%s); sending again", message.task_name, self.queue, type(error).__name__)
            added = await self._client.eval(_IDEMPOTENT_BOUNDED_XADD_SCRIPT, 2, *keys_and_args)
        if added is None:
            raise TaskError(
                TaskErrorCode.QUEUE_FULL,
                f"the {self.queue} queue holds {self.backlog_limit} unacknowledged tasks; retry later",
                kind=ErrorKind.UNAVAILABLE,
            )

    async def shutdown(self) -> None:
        self._closing = True  # a listener still blocked in XREADGROUP ends instead of taking a new connection
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        await super().shutdown()

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        message_id = id.decode() if isinstance(id, bytes) else id

        async def ack() -> None:
            # Deleted with its ack: the stream holds only what nobody finished, so its length is
            # the backlog, and nothing is ever trimmed by length.
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xack(queue_name, self.consumer_group_name, message_id)
                pipe.xdel(queue_name, message_id)
                await pipe.execute()
            self._in_flight.discard(message_id)

        return ack

    def _deliver(self, message_id: Any, fields: dict) -> AckableMessage:
        message_id = message_id.decode() if isinstance(message_id, bytes) else message_id
        self._in_flight.add(message_id)
        return AckableMessage(data=fields[b"data"], ack=self._ack_generator(message_id, self.queue_name))

    async def move_due_delayed(self, conn: Redis) -> int:
        return int(await conn.eval(_MOVE_DUE_SCRIPT, 2, self.delayed_key, self.queue_name, time.time()))

    async def reclaim_idle(self, conn: Redis) -> list[tuple[Any, dict]]:
        """Messages a dead consumer left pending longer than the idle timeout, now ours."""
        claimed: list[tuple[Any, dict]] = []
        start = "0-0"
        while True:
            reply = await conn.xautoclaim(
                self.queue_name, self.consumer_group_name, self.consumer_name,
                min_idle_time=self.idle_timeout, start_id=start, count=100,
            )
            start, messages = reply[0], reply[1]
            # Entries trimmed from the stream come back as None: nothing to run, ack them away.
            for message_id, fields in messages:
                if fields:
                    claimed.append((message_id, fields))
                else:
                    await conn.xack(self.queue_name, self.consumer_group_name, message_id)
            if start in (b"0-0", "0-0") or not messages:
                return claimed

    async def _refresh_in_flight(self) -> None:
        interval = max(self.idle_timeout / 3000, 0.2)
        while True:
            await asyncio.sleep(interval)
            ids = list(self._in_flight)
            if not ids:
                continue
            try:
                async with Redis(connection_pool=self.connection_pool) as conn:
                    await conn.xclaim(
                        self.queue_name, self.consumer_group_name, self.consumer_name,
                        min_idle_time=0, message_ids=ids, justid=True,
                    )
            except Exception:  # a Redis blip must not kill the heartbeat; the next beat retries
                log.warning("could not refresh in-flight messages on %s", self.queue_name, exc_info=True)

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._refresh_in_flight())
        last_reclaim = 0.0
        last_delay_move = 0.0
        while not self._closing:
            # The connection goes back to the pool before anything is yielded: a cancelled
            # receiver then leaves no connection checked out.
            batch: list[tuple[Any, dict]] = []
            async with Redis(connection_pool=self.connection_pool) as conn:
                now = time.monotonic()
                if now - last_delay_move >= self.delay_tick_s:
                    last_delay_move = now
                    await self.move_due_delayed(conn)
                if now - last_reclaim >= self.reclaim_interval_s:
                    last_reclaim = now
                    for message_id, fields in await self.reclaim_idle(conn):
                        log.info("reclaimed message %s on %s", message_id, self.queue_name)
                        batch.append((message_id, fields))
                if not batch:
                    fetched = await conn.xreadgroup(
                        self.consumer_group_name, self.consumer_name, {self.queue_name: ">"},
                        block=int(self.delay_tick_s * 1000), count=self.count,
                    )
                    for _stream, messages in fetched or ():
                        batch.extend(messages)
            for message_id, fields in batch:
                yield self._deliver(message_id, fields)


class DelayingInMemoryBroker(InMemoryBroker):
    """taskiq's InMemoryBroker, plus retry delays and a wait_all that waits for re-kicks too."""

    def __init__(self, queue: str) -> None:
        super().__init__(max_async_tasks=queues.MAX_ASYNC_TASKS)
        self.queue = queue
        self._delayed: set[asyncio.Task] = set()

    async def kick(self, message: BrokerMessage) -> None:
        delay = float(message.labels.get(DELAY_LABEL) or 0)
        if delay <= 0:
            await super().kick(message)
            return

        async def later() -> None:
            await asyncio.sleep(delay)
            await super(DelayingInMemoryBroker, self).kick(message)

        task = asyncio.create_task(later())
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)

    async def wait_all(self) -> None:
        while self._running_tasks or self._delayed:
            await asyncio.gather(*list(self._running_tasks), *list(self._delayed), return_exceptions=True)

    async def shutdown(self) -> None:
        for task in list(self._delayed):
            task.cancel()
        await asyncio.gather(*list(self._delayed), return_exceptions=True)
        await super().shutdown()


def make_broker(
    settings: Settings,
    queue: str,
    *,
    retry_policy: RetryPolicy | None = None,
    idle_timeout_ms: int | None = None,
    reclaim_interval_s: float | None = None,
    producer: bool = False,
) -> AsyncBroker:
    """The broker for ``queue``: Redis stream with ZELLY_REDIS_URL set, in-memory otherwise.

    The broker opens the process's Services at worker start-up (workers.runtime)
    and retries or dead-letters failed tasks (workers.retry). Tasks are added by
    the deployment module (e.g. workers.shopify_webhook). ``producer``: this
    process only kicks (the origin's task queue), so commands get the request
    path's short socket timeout.
    """
    queues.validate_queue(queue)
    broker: AsyncBroker
    if settings.redis_url:
        idle_ms = idle_timeout_ms or settings.task_reclaim_idle_seconds * 1000
        broker = ReclaimingStreamBroker(
            settings.redis_url, queue=queue, idle_timeout_ms=idle_ms,
            reclaim_interval_s=reclaim_interval_s or max(idle_ms / 3000, 0.5),
            backlog_limit=settings.task_backlog_limit,
            socket_timeout=settings.redis_request_timeout_ms / 1000 if producer else 10,
        )
    else:
        broker = DelayingInMemoryBroker(queue)
    broker.add_middlewares(ObservedTasks(queue), RetryWithBackoff(queue, retry_policy or RetryPolicy()))
    attach_runtime(broker, settings, queue)
    return broker
