"""What a process starts to run analytics: the consumer and the daily rollup.

On the embedded default everything that touches chDB (this consumer, the
seller API's queries, the dashboard, the rollup) must live in the one
``zelly dev`` process, because chDB locks its directory. So ``zelly dev``
enters :func:`analytics_runtime` around serving::

    async with open_services(settings) as services, analytics_runtime(services):
        await serve_all(...)

On servers the same context manager runs in a dedicated process
(``zelly analytics consume``) next to any number of origins.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import AsyncIterator

from origin.analytics.consumer import EventConsumer
from origin.analytics.dead_letters import record_dead_letter
from origin.analytics.queue import queue_for
from origin.analytics.rollup import run_daily_rollups

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def analytics_runtime(
    services, *, batch_rows: int = 5000, flush_seconds: float = 1.0, with_rollups: bool = True
) -> AsyncIterator[EventConsumer]:
    """Run the store-events consumer (and the daily rollup) until the block exits.

    On exit the consumer flushes its open batch; if ClickHouse is down then, the
    batch stays unacknowledged in Redis for the next consumer (on the embedded
    default it is lost with the process's memory queue, see docs/analytics.md).
    """
    if services.analytics is None:
        raise RuntimeError("analytics_runtime needs open_services(settings, with_analytics=True)")
    consumer = EventConsumer(
        services.analytics,
        queue_for(services),
        batch_rows=batch_rows,
        flush_seconds=flush_seconds,
        dead_letter=functools.partial(record_dead_letter, services),
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(consumer.run(stop), name="store-events consumer")]
    if with_rollups:
        tasks.append(asyncio.create_task(run_daily_rollups(services, stop), name="analytics rollup"))
    try:
        yield consumer
    finally:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        except asyncio.TimeoutError:
            log.warning("analytics runtime did not stop within 10 s; cancelling")
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
