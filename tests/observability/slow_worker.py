"""A worker deployment with one slow task, for tests/observability/test_process_health.py.

    taskiq worker tests.observability.slow_worker:broker --workers 1

The real broker and runtime (workers.brokers.make_broker: Services opened at
start-up, the internal listener, the middlewares); only the task is the test's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from origin.settings import Settings
from workers import queues
from workers.brokers import make_broker

QUEUE = queues.EMAIL_OUTBOX
SLOW_TASK = "test.slow"

broker = make_broker(Settings.from_env(), QUEUE)


@broker.task(task_name=SLOW_TASK)
async def slow(marker: str, seconds: float) -> None:
    Path(marker + ".started").write_text("")
    await asyncio.sleep(seconds)
    Path(marker + ".done").write_text("")
