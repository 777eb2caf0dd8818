"""The CHECKOUT_SWEEPS queue as production runs it: a scheduler ticking, a worker consuming (both backends).

``running_sweeps(services)`` builds what ``workers.checkout_sweeps`` builds: a broker with
the checkout tasks registered and a ``TaskiqScheduler`` over its ``LabelScheduleSource``.
``tick()`` does what ``taskiq scheduler`` does when the cron comes round (``on_ready`` for
every scheduled task) and waits until the task ran: on the embedded backend the in-memory
broker runs it in this process; on the servers backend it goes through the Redis stream to a
real ``ReclaimingStreamBroker`` receiver, as ``taskiq worker workers.checkout_sweeps:broker`` does.
"""

from __future__ import annotations

import asyncio
import contextlib

from taskiq import InMemoryBroker, TaskiqScheduler
from taskiq.api import run_receiver_task
from taskiq.schedule_sources import LabelScheduleSource

from origin.services import Services
from tests.stream_drain import stop_stream_workers, wait_for_streams_drained
from workers import queues
from workers.brokers import make_broker
from workers.checkout_tasks import register_checkout_tasks
from workers.runtime import use_services


class Sweeps:
    def __init__(self, services: Services, scheduler: TaskiqScheduler, source: LabelScheduleSource, producer) -> None:
        self.services = services
        self.scheduler = scheduler
        self.source = source
        self.producer = producer

    async def schedules(self):
        return await self.source.get_schedules()

    async def tick(self) -> None:
        for task in await self.schedules():
            await self.scheduler.on_ready(self.source, task)
        await self.drain()

    async def drain(self, timeout_s: float = 30.0) -> None:
        if isinstance(self.producer, InMemoryBroker):
            await self.producer.wait_all()
            return
        await wait_for_streams_drained(self.services.redis, (queues.CHECKOUT_SWEEPS,), what="the CHECKOUT_SWEEPS queue", timeout_s=timeout_s)


@contextlib.asynccontextmanager
async def running_sweeps(services: Services):
    queue = queues.CHECKOUT_SWEEPS
    producer = make_broker(services.settings, queue)
    register_checkout_tasks(producer)
    use_services(producer, services)
    await producer.startup()
    source = LabelScheduleSource(producer)
    scheduler = TaskiqScheduler(producer, sources=[source])
    await source.startup()  # what `taskiq scheduler` does first: read the schedules off the task labels
    worker = receiver = None
    if services.redis is not None:
        worker = make_broker(services.settings, queue, reclaim_interval_s=0.5)
        register_checkout_tasks(worker)
        worker.is_worker_process = True
        worker.state.services = services
        await worker.startup()
        receiver = asyncio.create_task(run_receiver_task(worker, max_async_tasks=4))
    try:
        yield Sweeps(services, scheduler, source, producer)
    finally:
        if worker is not None:
            await stop_stream_workers([worker], [receiver])
        await producer.shutdown()
