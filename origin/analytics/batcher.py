"""Beacon rows batched inside the process before they reach the ``store-events`` queue (issue 14, item 3).

One event per ``POST /events`` is what a browser sends; publishing each
request's one row as its own stream entry would cost a Redis round trip (or a
queue entry) per event. The beacon hands its rows to a :class:`RowBatcher`
instead, which publishes them in messages of up to :data:`MESSAGE_ROWS` rows,
every :data:`FLUSH_SECONDS` or as soon as :data:`FLUSH_ROWS` are waiting.

- Bounded: at most :data:`MAX_ROWS` rows wait; past that a request is refused
  with 503 ``intake_busy`` (the beacon's client retries), nothing is dropped
  silently.
- Nothing lost on a publish failure: rows that could not be published (Redis
  away, the embedded queue full) go back to the front of the buffer and are
  retried on the next tick, and they still count against the bound.
- No new promises while the queue is away (issue 12, item 2): once a publish
  failed, or while ``queue_down()`` says so (the request path's Redis breaker
  is open), a request is refused with 503 ``analytics_unavailable`` and
  ``Retry-After`` instead of a 202 for rows that would wait in this process's
  memory for as long as the outage lasts (and be lost if it is restarted).
  Rows taken before keep being retried; the first publish that succeeds opens
  intake again.
- Nothing lost at shutdown: :meth:`stop` publishes everything still waiting,
  retrying for up to :data:`STOP_SECONDS`, before the app's services (and the
  consumer) close. A process killed with SIGKILL loses at most one tick of
  rows (they were answered 202 but not yet queued).

It only batches while the app serves (``start`` in the app's ``while_serving``):
outside that (a bare test client, a script) :meth:`add` publishes at once, so
nothing can wait in a buffer nobody flushes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Callable

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.errors import ErrorKind

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.05  # what batching adds to an event's lag: well under the consumer's 1 s batch
FLUSH_ROWS = 2_000  # wake the flusher early under load
MESSAGE_ROWS = 1_000  # rows per queue message (a stream entry stays a few hundred KB at most)
MAX_ROWS = 20_000  # waiting rows before requests are refused (about 2 s of 10k events/s with the queue away)
STOP_SECONDS = 5.0  # how long shutdown keeps trying to publish what is left


class RowBatcher:
    def __init__(
        self, queue: Any, *, flush_seconds: float = FLUSH_SECONDS, flush_rows: int = FLUSH_ROWS,
        message_rows: int = MESSAGE_ROWS, max_rows: int = MAX_ROWS, queue_down: Callable[[], bool] = lambda: False,
    ) -> None:
        self.queue = queue
        self.queue_down = queue_down
        self._publish_failing = False
        self.flush_seconds = flush_seconds
        self.flush_rows = flush_rows
        self.message_rows = message_rows
        self.max_rows = max_rows
        self._rows: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False

    @property
    def waiting(self) -> int:
        return len(self._rows)

    @property
    def running(self) -> bool:
        return self._task is not None

    async def add(self, rows: list[dict[str, Any]]) -> None:
        """Take a request's rows; 503 ``intake_busy`` when the buffer is full (nothing of the request kept)."""
        if self._task is None:
            await self.queue.publish(rows)
            return
        if self._publish_failing or self.queue_down():
            raise AnalyticsError(
                AnalyticsErrorCode.ANALYTICS_UNAVAILABLE, "analytics intake is unavailable; retry in a few seconds",
                kind=ErrorKind.UNAVAILABLE,
            )
        if len(self._rows) + len(rows) > self.max_rows:
            raise AnalyticsError(
                AnalyticsErrorCode.INTAKE_BUSY, "analytics intake is backed up; retry in a minute", kind=ErrorKind.UNAVAILABLE
            )
        self._rows.extend(rows)
        if len(self._rows) >= self.flush_rows:
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="beacon batcher")

    async def stop(self) -> int:
        """Stop the timer and publish what waits; return the rows that could not be published (logged)."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            await task
        deadline = time.monotonic() + STOP_SECONDS
        while self._rows and not await self.flush() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if self._rows:
            log.error("beacon: %d accepted events could not be queued before shutdown", len(self._rows))
        return len(self._rows)

    async def flush(self) -> bool:
        """Publish everything waiting; True when the buffer is empty afterwards."""
        while self._rows:
            chunk = self._rows[: self.message_rows]
            del self._rows[: len(chunk)]  # taken before the await: rows added meanwhile queue behind
            try:
                await self.queue.publish(chunk)
            except Exception as error:  # the queue is away or full: keep the rows, retry on the next tick
                self._rows[:0] = chunk
                self._publish_failing = True
                log.warning("beacon: queueing %d events failed (%s: %s); retrying", len(chunk), type(error).__name__, error)
                return False
            self._publish_failing = False
        return True

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_seconds)
            self._wake.clear()
            await self.flush()
