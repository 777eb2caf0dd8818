"""The store-events consumer: batch, insert once, then acknowledge.

A batch closes at ``batch_rows`` rows or ``flush_seconds`` after its first
message, whichever comes first (issue 7: e.g. 5,000 rows or 1 s; chDB took
~510k rows/s in batches of 10,000 but 37k rows/s in batches of 100, so
batching is what makes the target reachable). The INSERT runs off the event
loop (``engine``). Only after it succeeds are the messages acknowledged; if it
fails (ClickHouse down, table detached, network) the same batch is retried
with exponential backoff and nothing new is read, so events wait in the queue.

Never double counting: a retried batch carries the same
``insert_deduplication_token`` (the hash of its message ids), and a message
redelivered in a different batch after a crash collapses by ``event_id`` in the
ReplacingMergeTree (queries read FINAL). See ``schema``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from origin.analytics import engine
from origin.analytics.queue import Delivery, StoreEventsQueue, consumer_name
from origin.analytics.schema import EVENT_COLUMNS, EVENTS_TABLE

log = logging.getLogger(__name__)


@dataclass
class ConsumerStats:
    batches: int = 0
    rows: int = 0
    failures: int = 0
    last_lag_seconds: float = 0.0  # from the oldest event's ts to its insert


def row_values(row: dict[str, Any]) -> list[Any]:
    """A queued row (JSON shapes) as column values in EVENT_COLUMNS order."""
    return [
        row["tenant_id"],
        dt.datetime.fromtimestamp(row["ts"] / 1000, tz=dt.timezone.utc),
        row["event_id"],
        row["name"],
        row.get("visitor_id", 0),
        row.get("session_id", 0),
        row.get("path", ""),
        row.get("referrer_host", ""),
        row.get("utm_source", ""),
        row.get("utm_medium", ""),
        row.get("utm_campaign", ""),
        row.get("device", ""),
        row.get("product_id", 0),
        row.get("variant_id", 0),
        row.get("quantity", 0),
        Decimal(row.get("value") or "0"),
        row.get("currency", ""),
        row.get("order_id", ""),
    ]


def deduplication_token(deliveries: list[Delivery]) -> str:
    return hashlib.sha256(",".join(sorted(d.message_id for d in deliveries)).encode()).hexdigest()


class EventConsumer:
    def __init__(
        self,
        client: Any,
        queue: StoreEventsQueue,
        *,
        batch_rows: int = 5000,
        flush_seconds: float = 1.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        name: str | None = None,
    ) -> None:
        self.client = client
        self.queue = queue
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.name = name or consumer_name()
        self.stats = ConsumerStats()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; an open batch is flushed (or left unacknowledged) on the way out."""
        batch: list[Delivery] = []
        rows = 0
        deadline = 0.0
        while not stop.is_set():
            wait_ms = 200 if not batch else max(1, int((deadline - time.monotonic()) * 1000))
            deliveries = await self.queue.read(self.name, max_messages=1000, block_ms=min(wait_ms, 200))
            if deliveries and not batch:
                deadline = time.monotonic() + self.flush_seconds
            batch += deliveries
            rows += sum(len(d.rows) for d in deliveries)
            if batch and (rows >= self.batch_rows or time.monotonic() >= deadline):
                await self.flush(batch, stop)
                batch, rows = [], 0
        if batch:
            await self.flush(batch, stop)

    async def flush(self, batch: list[Delivery], stop: asyncio.Event | None = None) -> bool:
        """Insert then acknowledge; on failure back off and retry the same batch until ``stop``."""
        delay = self.backoff_initial
        while True:
            try:
                await self.insert(batch)
            except Exception as error:  # any ClickHouse/chDB/network failure: keep the batch, wait, retry
                self.stats.failures += 1
                log.warning("store-events: insert of %d messages failed (%s: %s); retrying in %.1fs",
                            len(batch), type(error).__name__, str(error)[:200], delay)
                if stop is not None and stop.is_set():
                    return False  # unacknowledged: redelivered to the next consumer
                if await _wait(stop, delay):
                    return False
                delay = min(delay * 2, self.backoff_max)
                continue
            await self.queue.ack([d.message_id for d in batch])
            return True

    async def insert(self, batch: list[Delivery]) -> int:
        values = [row_values(row) for delivery in batch for row in delivery.rows]
        if values:
            await engine.insert_rows(
                self.client, EVENTS_TABLE, values, EVENT_COLUMNS, deduplication_token=deduplication_token(batch)
            )
            oldest_ms = min(row["ts"] for delivery in batch for row in delivery.rows)
            self.stats.last_lag_seconds = time.time() - oldest_ms / 1000
        self.stats.batches += 1
        self.stats.rows += len(values)
        return len(values)


async def _wait(stop: asyncio.Event | None, seconds: float) -> bool:
    """Sleep ``seconds``; True when ``stop`` was set meanwhile."""
    if stop is None:
        await asyncio.sleep(seconds)
        return False
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        return False
    return True
