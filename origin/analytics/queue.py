"""The ``store-events`` queue: a Redis stream read by a consumer group, or its in-process twin.

Why not taskiq here (docs/decisions.md, "store-events consumer"): taskiq
acknowledges message by message as each task returns, while the consumer must
hold thousands of events and acknowledge them only after one INSERT has
succeeded. So the consumer reads the stream directly: ``XREADGROUP`` into a
batch, ``XACK`` + ``XDEL`` after the insert, ``XAUTOCLAIM`` to take over what a
crashed consumer had read but not acknowledged. The embedded default has the
same semantics in memory (one process, so a crash there loses the process's
queue anyway; the claim logic still covers a consumer task that died).

Wire format: stream ``store-events``, one entry per intake request, fields
``rows`` = a JSON array of event rows (``schema.EVENT_COLUMNS`` as keys, ``ts``
in Unix seconds with milliseconds as a JSON number, ``value`` a decimal string),
``count`` = the number of rows, ``ts`` = the oldest row's ts. The consumer hands
``rows`` to ClickHouse as JSONEachRow without parsing it in Python (parsing and
re-encoding rows in Python capped the consumer near 60k rows/s here; see
docs/benchmarks.md), which is why the count and oldest ts travel beside it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.cache import REDIS_FAILURES
from origin.errors import ErrorKind
from origin.queueing import BOUNDED_XADD_SCRIPT
from origin.services import Services

log = logging.getLogger(__name__)

STREAM = "store-events"
GROUP = "analytics-consumers"
DEFAULT_CLAIM_IDLE_MS = 30_000  # a consumer silent this long is presumed dead; its messages move on
MEMORY_QUEUE_MAX_ROWS = 1_000_000  # the embedded queue refuses (503) past this instead of eating the RAM


@dataclass
class Delivery:
    message_id: str
    payload: str  # the JSON array of rows, as queued
    row_count: int
    oldest_ts: float  # Unix seconds of the oldest row, for the lag
    delivery_count: int = 1

    @property
    def rows(self) -> list[dict[str, Any]]:
        return json.loads(self.payload)


def make_delivery(message_id: str, rows: list[dict[str, Any]]) -> Delivery:
    return Delivery(
        message_id=message_id,
        payload=encode_rows(rows),
        row_count=len(rows),
        oldest_ts=min((row["ts"] for row in rows), default=0.0),
    )


class StoreEventsQueue(Protocol):
    async def publish(self, rows: list[dict[str, Any]]) -> None: ...

    async def read(self, consumer: str, *, max_messages: int, block_ms: int) -> list[Delivery]: ...

    async def ack(self, message_ids: list[str]) -> None: ...

    def reset(self) -> None:
        """Forget connection state after a failure (the stream or group may be gone)."""


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{time.monotonic_ns() % 100000}"


def encode_rows(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), default=str)


class RedisStreamQueue:
    """``store-events`` on Redis: at-least-once with a consumer group."""

    def __init__(
        self, redis, *, stream: str = STREAM, group: str = GROUP, claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
        publisher=None, backlog_limit: int | None = None,
    ) -> None:
        self.redis = redis  # no read timeout: XREADGROUP blocks
        self.publisher = publisher or redis  # the request path's client (short timeouts): the beacon never hangs
        self.backlog_limit = backlog_limit
        self.stream = stream
        self.group = group
        self.claim_idle_ms = claim_idle_ms
        self._group_ready = False
        self._claim_cursor = "0-0"

    def reset(self) -> None:
        self._group_ready = False
        self._claim_cursor = "0-0"

    async def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # id 0: a group created after events were queued still reads them all.
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except Exception as error:  # redis.ResponseError BUSYGROUP: it exists, which is the goal
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def publish(self, rows: list[dict[str, Any]]) -> None:
        delivery = make_delivery("*", rows)
        fields = ["rows", delivery.payload, "count", delivery.row_count, "ts", repr(delivery.oldest_ts)]
        try:
            if self.backlog_limit is None:
                added = await self.publisher.xadd(self.stream, dict(zip(fields[::2], fields[1::2])))
            else:
                added = await self.publisher.eval(BOUNDED_XADD_SCRIPT, 1, self.stream, self.backlog_limit, *fields)
        except REDIS_FAILURES as error:
            raise AnalyticsError(
                AnalyticsErrorCode.ANALYTICS_UNAVAILABLE, "analytics intake is unavailable; retry in a minute", kind=ErrorKind.UNAVAILABLE
            ) from error
        if added is None:
            raise AnalyticsError(
                AnalyticsErrorCode.INTAKE_BUSY, "analytics intake is backed up; retry in a minute", kind=ErrorKind.UNAVAILABLE
            )

    async def read(self, consumer: str, *, max_messages: int, block_ms: int) -> list[Delivery]:
        await self.ensure_group()
        claimed = await self._claim(consumer, max_messages)
        if claimed:
            return claimed
        response = await self.redis.xreadgroup(
            self.group, consumer, {self.stream: ">"}, count=max_messages, block=max(block_ms, 1)
        )
        deliveries = []
        for _stream, entries in response or []:
            deliveries += [_delivery(message_id, fields, 1) for message_id, fields in entries]
        return deliveries

    async def _claim(self, consumer: str, max_messages: int) -> list[Delivery]:
        """Messages another consumer read and never acknowledged within ``claim_idle_ms``."""
        result = await self.redis.xautoclaim(
            self.stream, self.group, consumer, min_idle_time=self.claim_idle_ms, start_id=self._claim_cursor, count=max_messages
        )
        next_cursor, entries = result[0], result[1]
        self._claim_cursor = next_cursor.decode() if isinstance(next_cursor, bytes) else next_cursor
        deliveries = [_delivery(message_id, fields, 2) for message_id, fields in entries if fields]
        if deliveries:
            log.warning("store-events: claimed %d unacknowledged messages from a silent consumer", len(deliveries))
        return deliveries

    async def ack(self, message_ids: list[str]) -> None:
        if not message_ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, *message_ids)
            pipe.xdel(self.stream, *message_ids)  # acknowledged events live in ClickHouse now; keep the stream short
            await pipe.execute()

    async def pending_count(self) -> int:
        await self.ensure_group()
        summary = await self.redis.xpending(self.stream, self.group)
        return int(summary["pending"])

    async def backlog(self) -> int:
        """Entries not yet acknowledged (queued or in flight)."""
        return int(await self.redis.xlen(self.stream))


def _delivery(message_id, fields, delivery_count: int) -> Delivery:
    """A stream entry as a Delivery; a malformed entry keeps its text so the consumer can dead-letter it."""
    message_id = message_id.decode() if isinstance(message_id, bytes) else message_id
    fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in fields.items()}
    try:
        count, oldest = int(fields["count"]), float(fields["ts"])
    except (KeyError, ValueError):
        count, oldest = 1, 0.0  # unknown shape: one poison unit, isolated and dead-lettered on insert
    return Delivery(message_id, fields.get("rows", ""), count, oldest, delivery_count)


@dataclass
class _Pending:
    delivery: Delivery
    consumer: str
    delivered_at: float


@dataclass
class MemoryQueue:
    """The embedded default: the same contract in one process, bounded in rows."""

    claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS
    max_rows: int = MEMORY_QUEUE_MAX_ROWS
    _ready: "asyncio.Queue[Delivery]" = field(default_factory=asyncio.Queue)
    _pending: dict[str, _Pending] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _rows: int = 0

    async def publish(self, rows: list[dict[str, Any]]) -> None:
        if self._rows + len(rows) > self.max_rows:
            raise AnalyticsError(
                AnalyticsErrorCode.INTAKE_BUSY,
                "analytics intake is backed up; retry in a minute",
                kind=ErrorKind.UNAVAILABLE,
            )
        self._rows += len(rows)
        self._ready.put_nowait(make_delivery(f"{next(self._ids)}-0", rows))

    async def read(self, consumer: str, *, max_messages: int, block_ms: int) -> list[Delivery]:
        claimed = self._claim(consumer, max_messages)
        if claimed:
            return claimed
        deliveries: list[Delivery] = []
        if self._ready.empty():
            try:
                deliveries.append(await asyncio.wait_for(self._ready.get(), timeout=max(block_ms, 1) / 1000))
            except asyncio.TimeoutError:
                return []
        while len(deliveries) < max_messages and not self._ready.empty():
            deliveries.append(self._ready.get_nowait())
        now = time.monotonic()
        for delivery in deliveries:
            self._pending[delivery.message_id] = _Pending(delivery, consumer, now)
        return deliveries

    def _claim(self, consumer: str, max_messages: int) -> list[Delivery]:
        cutoff = time.monotonic() - self.claim_idle_ms / 1000
        claimed = []
        for entry in self._pending.values():
            if len(claimed) >= max_messages:
                break
            if entry.consumer != consumer and entry.delivered_at <= cutoff:
                entry.consumer, entry.delivered_at = consumer, time.monotonic()
                entry.delivery.delivery_count += 1
                claimed.append(entry.delivery)
        return claimed

    def reset(self) -> None:
        pass  # nothing external to reconnect to

    async def ack(self, message_ids: list[str]) -> None:
        for message_id in message_ids:
            entry = self._pending.pop(message_id, None)
            if entry is not None:
                self._rows -= entry.delivery.row_count

    async def pending_count(self) -> int:
        return len(self._pending)

    async def backlog(self) -> int:
        return self._ready.qsize() + len(self._pending)


def queue_for(services: Services) -> StoreEventsQueue:
    """The process's queue (Services.events_queue): Redis when the process has Redis, else one in-memory queue.

    Attached on first use rather than in open_services, so the kernel imports no analytics.
    """
    if services.events_queue is None:
        if services.redis is not None:
            queue = RedisStreamQueue(
                services.redis, publisher=services.request_redis, backlog_limit=services.settings.task_backlog_limit
            )
            services.attach(events_queue=queue)
        else:
            services.attach(events_queue=MemoryQueue())
    return services.events_queue  # type: ignore[return-value]  # only this function attaches it
