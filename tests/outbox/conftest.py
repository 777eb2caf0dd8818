"""Outbox test wiring: the EMAIL_OUTBOX queue with its worker, on both backends.

``email_worker`` gives the embedded backend the in-memory broker (tasks run in
this process) and the servers backend a real Redis stream consumed by an
in-process receiver (the same ReclaimingStreamBroker ``taskiq worker
workers.email_outbox:broker`` runs). ``drain()`` waits until the queue is empty
and every message acknowledged. The SMTP server is the ``smtp_server`` fixture of
tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from taskiq.api import run_receiver_task

from origin.services import Services
from tests.stream_drain import stop_stream_workers, wait_for_streams_drained
from workers import queues as queue_names
from workers.brokers import make_broker
from workers.dispatch import REGISTRARS, open_task_queue


class EmailWorker:
    def __init__(self, services: Services, task_queue) -> None:
        self.services = services
        self.task_queue = task_queue

    async def drain(self, timeout_s: float = 30.0) -> None:
        if self.services.redis is None:
            await self.task_queue.wait_all()
            return
        await wait_for_streams_drained(self.services.redis, (queue_names.EMAIL_OUTBOX,), what="the EMAIL_OUTBOX queue", timeout_s=timeout_s)


@contextlib.asynccontextmanager
async def running_email_worker(services: Services):
    queue = queue_names.EMAIL_OUTBOX
    async with open_task_queue(services.settings, services, queue_names=(queue,)) as task_queue:
        worker = receiver = None
        if services.redis is not None:
            worker = make_broker(services.settings, queue, reclaim_interval_s=0.5)
            REGISTRARS[queue](worker)
            worker.is_worker_process = True
            worker.state.services = services
            await worker.startup()
            receiver = asyncio.create_task(run_receiver_task(worker, max_async_tasks=8))
        try:
            yield EmailWorker(services, task_queue)
        finally:
            if worker is not None:
                await stop_stream_workers([worker], [receiver])


@pytest.fixture
async def email_worker(services: Services):
    async with running_email_worker(services) as worker:
        yield worker


@pytest.fixture
def client(settings, services: Services):
    from origin.app import create_app

    return create_app(settings, services=services).test_client()
