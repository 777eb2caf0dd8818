"""The store-events consumer: batch, insert once, then acknowledge.

A batch closes at ``batch_rows`` rows or ``flush_seconds`` after its first
message, whichever comes first (issue 7: e.g. 5,000 rows or 1 s; chDB took
~510k rows/s in batches of 10,000 but 37k rows/s in batches of 100, so
batching is what makes the target reachable). The queued JSON goes to
ClickHouse as one JSONEachRow INSERT, run off the event loop (``engine``).
Only after it succeeds are the messages acknowledged.

Failures are of two kinds (STYLE.md: retry or drop-and-record):

- ClickHouse unavailable (down, network, table detached): the same batch is
  retried with exponential backoff and nothing new is read, so events wait in
  the queue and nothing is dropped;
- bad data (ClickHouse cannot parse a message: only a bug or a hand-written
  stream entry can cause it): the batch is split per message, the good ones
  are inserted, and each bad one goes to ``dead_letter`` and is acknowledged,
  so one poison message cannot stall every store's analytics.

Never double counting: a retried batch carries the same
``insert_deduplication_token`` (the hash of its message ids), and a message
redelivered in a different batch after a crash collapses by ``event_id`` in the
ReplacingMergeTree (queries read FINAL). See ``schema``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from origin.analytics import engine
from origin.analytics.queue import Delivery, StoreEventsQueue, consumer_name
from origin.analytics.schema import EVENT_COLUMNS, EVENTS_TABLE

log = logging.getLogger(__name__)

# ClickHouse error codes that mean "this data is wrong", not "ClickHouse is away":
# CANNOT_PARSE_TEXT, CANNOT_PARSE_QUOTED_STRING, CANNOT_PARSE_INPUT_ASSERTION_FAILED, CANNOT_PARSE_DATE,
# CANNOT_PARSE_DATETIME, TYPE_MISMATCH, CANNOT_PARSE_NUMBER, INCORRECT_DATA, CANNOT_READ_ALL_DATA...
BAD_DATA_CODES = frozenset({6, 26, 27, 32, 33, 38, 41, 53, 69, 70, 72, 117, 130, 131, 190})
ERROR_CODE = re.compile(r"Code: (\d+)")

DeadLetter = Callable[[Delivery, str], Awaitable[None]]


def is_bad_data(error: Exception) -> bool:
    match = ERROR_CODE.search(str(error))
    return match is not None and int(match.group(1)) in BAD_DATA_CODES


@dataclass
class ConsumerStats:
    batches: int = 0
    rows: int = 0
    failures: int = 0
    dead_letters: int = 0
    last_lag_seconds: float = 0.0  # from the oldest event's ts to the end of its insert
    max_lag_seconds: float = 0.0


def deduplication_token(deliveries: list[Delivery]) -> str:
    return hashlib.sha256(",".join(sorted(d.message_id for d in deliveries)).encode()).hexdigest()


def json_block(deliveries: list[Delivery]) -> bytes:
    """The messages' JSON arrays joined into one, without parsing them."""
    inner = [d.payload.strip()[1:-1] for d in deliveries if d.row_count]
    return ("[" + ",".join(part for part in inner if part.strip()) + "]").encode()


async def _log_dead_letter(delivery: Delivery, error: str) -> None:
    log.error("store-events: dropping message %s (%d rows): %s", delivery.message_id, delivery.row_count, error)


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
        dead_letter: DeadLetter = _log_dead_letter,
    ) -> None:
        self.client = client
        self.queue = queue
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.name = name or consumer_name()
        self.dead_letter = dead_letter
        self.stats = ConsumerStats()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; an open batch is flushed (or left unacknowledged) on the way out."""
        batch: list[Delivery] = []
        rows = 0
        deadline = 0.0
        read_delay = self.backoff_initial
        while not stop.is_set():
            wait_ms = 200 if not batch else max(1, int((deadline - time.monotonic()) * 1000))
            try:
                deliveries = await self.queue.read(self.name, max_messages=1000, block_ms=min(wait_ms, 200))
            except Exception as error:  # the queue (Redis) is away: wait and read again, keep the open batch
                log.warning("store-events: reading the queue failed (%s: %s); retrying in %.1fs",
                            type(error).__name__, str(error)[:200], read_delay)
                self.queue.reset()
                await _wait(stop, read_delay)
                read_delay = min(read_delay * 2, self.backoff_max)
                continue
            read_delay = self.backoff_initial
            if deliveries and not batch:
                deadline = time.monotonic() + self.flush_seconds
            batch += deliveries
            rows += sum(d.row_count for d in deliveries)
            if batch and (rows >= self.batch_rows or time.monotonic() >= deadline):
                await self.flush(batch, stop)
                batch, rows = [], 0
        if batch:
            await self.flush(batch, stop)

    async def flush(self, batch: list[Delivery], stop: asyncio.Event | None = None) -> bool:
        """Insert then acknowledge; True when the whole batch is settled (inserted or dead-lettered)."""
        delay = self.backoff_initial
        while True:
            try:
                await self.insert(batch)
            except Exception as error:  # classified below: bad data is isolated, anything else is retried
                self.stats.failures += 1
                if is_bad_data(error):
                    return await self._isolate(batch, stop)
                log.warning("store-events: insert of %d messages failed (%s: %s); retrying in %.1fs",
                            len(batch), type(error).__name__, str(error)[:200], delay)
                if stop is not None and stop.is_set():
                    return False  # unacknowledged: redelivered to the next consumer
                if await _wait(stop, delay):
                    return False
                delay = min(delay * 2, self.backoff_max)
                continue
            return await self._ack([d.message_id for d in batch], stop)

    async def _ack(self, message_ids: list[str], stop: asyncio.Event | None) -> bool:
        """Acknowledge, retrying while the queue is away; if we stop first, the redelivery is deduplicated."""
        delay = self.backoff_initial
        while True:
            try:
                await self.queue.ack(message_ids)
                return True
            except Exception as error:  # Redis away after a successful insert: the rows are safe either way
                log.warning("store-events: ack failed (%s: %s); retrying in %.1fs", type(error).__name__, error, delay)
                if await _wait(stop, delay) or (stop is not None and stop.is_set()):
                    return False
                delay = min(delay * 2, self.backoff_max)

    async def _isolate(self, batch: list[Delivery], stop: asyncio.Event | None) -> bool:
        if len(batch) > 1:
            settled = True
            for delivery in batch:
                settled = await self.flush([delivery], stop) and settled
            return settled
        delivery = batch[0]
        try:
            await self.insert(batch)
        except Exception as error:  # the same bad data again: record it and let the queue move on
            if not is_bad_data(error):
                return await self.flush(batch, stop)
            await self.dead_letter(delivery, f"{type(error).__name__}: {str(error)[:2000]}")
            self.stats.dead_letters += 1
        return await self._ack([delivery.message_id], stop)

    async def insert(self, batch: list[Delivery]) -> int:
        rows = sum(d.row_count for d in batch)
        if rows:
            await engine.insert_json_rows(
                self.client, EVENTS_TABLE, json_block(batch), EVENT_COLUMNS, deduplication_token=deduplication_token(batch)
            )
            oldest = min(d.oldest_ts for d in batch if d.row_count)
            self.stats.last_lag_seconds = time.time() - oldest
            self.stats.max_lag_seconds = max(self.stats.max_lag_seconds, self.stats.last_lag_seconds)
        self.stats.batches += 1
        self.stats.rows += rows
        return rows


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
