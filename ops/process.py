"""What an origin process runs beside its listeners, shared by `zelly origin` and `hypercorn ops.asgi:app`.

- the task queues (workers.dispatch): with Redis they only send, `taskiq worker`
  deployments consume; embedded, the in-memory brokers run the tasks here;
- the store-events consumer, when there is no Redis: events then wait in this
  process's memory, so this process must consume them (and chDB lets only one
  process open its data). With Redis, `zelly analytics consume` runs instead.
"""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from origin.analytics.runtime import analytics_runtime
from origin.services import Services
from workers.dispatch import open_task_queue


@contextlib.asynccontextmanager
async def origin_process(services: Services) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(open_task_queue(services.settings, services))
        if services.redis is None:
            await stack.enter_async_context(analytics_runtime(services))
        yield
