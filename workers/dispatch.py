"""The producer side: a TaskQueue over one broker per queue (origin.queueing.TaskQueue).

On Redis the brokers only send (XADD); the worker deployments consume. On the
embedded default the brokers are in-memory and run every task in this process
on the Services handed in, which is how ``zelly dev`` works without servers.
"""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator

from taskiq import AsyncBroker, InMemoryBroker
from taskiq.exceptions import SendTaskError
from taskiq.kicker import AsyncKicker

from origin.cache import REDIS_FAILURES
from origin.errors import ErrorKind
from origin.queueing import StreamBacklog, stream_backlog
from origin.services import Services
from origin.tasks.errors import TaskError, TaskErrorCode
from origin.settings import Settings
from workers import queues
from workers.brokers import ReclaimingStreamBroker, make_broker
from workers.retry import RetryPolicy
from workers.runtime import use_services
from workers import shopify_tasks
from workers.store_events_tasks import register_store_events_tasks
from workers.email_tasks import register_email_tasks
from workers.checkout_tasks import register_checkout_tasks

# Which tasks each queue's brokers carry (deployment modules and in-process brokers alike).
REGISTRARS = {
    queues.SHOPIFY_WEBHOOK: shopify_tasks.register_webhook_tasks,
    queues.SHOPIFY_CATALOG_SYNC: shopify_tasks.register_catalog_sync_tasks,
    queues.SHOPIFY_SETTINGS_PUSH: shopify_tasks.register_settings_push_tasks,
    queues.SHOPIFY_SETTINGS_FETCH: shopify_tasks.register_settings_fetch_tasks,
    queues.STORE_EVENTS: register_store_events_tasks,
    queues.EMAIL_OUTBOX: register_email_tasks,
    queues.CHECKOUT_SWEEPS: register_checkout_tasks,
}


class BrokerTaskQueue:
    def __init__(self, brokers: dict[str, AsyncBroker]) -> None:
        self.brokers = brokers

    async def enqueue(self, queue: str, task_name: str, **kwargs: Any) -> None:
        try:
            await AsyncKicker(task_name, self.brokers[queue], {}).kiq(**kwargs)
        except SendTaskError as error:  # taskiq wraps whatever the broker's kick raised
            cause = error.__cause__
            if isinstance(cause, TaskError):
                raise cause from None  # QUEUE_FULL: the backlog bound
            if isinstance(cause, REDIS_FAILURES):
                raise TaskError(
                    TaskErrorCode.QUEUE_UNAVAILABLE, f"the {queue} queue is unreachable: {type(cause).__name__}",
                    kind=ErrorKind.UNAVAILABLE,
                ) from cause
            raise

    async def backlogs(self) -> dict[str, StreamBacklog]:
        """Each Redis stream's unacknowledged backlog (size and age), for /healthz; none embedded."""
        return {
            queue: await stream_backlog(broker._client, broker.queue_name, broker.consumer_group_name)
            for queue, broker in self.brokers.items()
            if isinstance(broker, ReclaimingStreamBroker)
        }

    async def wait_all(self) -> None:
        """In-memory brokers only: wait until every task (and every pending retry) finished."""
        for broker in self.brokers.values():
            if isinstance(broker, InMemoryBroker):
                await broker.wait_all()


@contextlib.asynccontextmanager
async def open_task_queue(
    settings: Settings, services: Services, *, queue_names: tuple[str, ...] = queues.ALL_QUEUES, retry_policy: RetryPolicy | None = None
) -> AsyncIterator[BrokerTaskQueue]:
    brokers: dict[str, AsyncBroker] = {}
    task_queue: BrokerTaskQueue | None = None
    try:
        for queue in queue_names:
            broker = make_broker(settings, queue, retry_policy=retry_policy, producer=True)
            if isinstance(broker, InMemoryBroker):
                REGISTRARS[queue](broker)
                use_services(broker, services)
            broker.state.services = services  # dead letters and replays use the same stores
            await broker.startup()
            brokers[queue] = broker
        task_queue = BrokerTaskQueue(brokers)
        services.attach(task_queue=task_queue)
        yield task_queue
    finally:
        if task_queue is not None and services.task_queue is task_queue:
            services.attach(task_queue=None)
        for broker in brokers.values():
            await broker.shutdown()
