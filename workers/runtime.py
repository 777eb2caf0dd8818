"""Services for tasks: opened at worker start-up, injected with TaskiqDepends, closed at shutdown.

A worker process (``taskiq worker``) opens the same Services as the origin on
WORKER_STARTUP and closes them on WORKER_SHUTDOWN. A process that already has
Services (``zelly dev`` with the in-memory broker, tests) hands them over with
:func:`use_services` before start-up, and start-up then opens nothing.
"""

from __future__ import annotations

import contextlib

from taskiq import AsyncBroker, Context, TaskiqDepends, TaskiqEvents, TaskiqState

from origin.services import Services, open_services
from origin.settings import Settings
from workers import queues
from workers.observed import start_process_observability

_STACK = "_services_stack"


def attach_runtime(broker: AsyncBroker, settings: Settings, queue: str) -> None:
    async def open_on_startup(state: TaskiqState) -> None:
        if getattr(state, "services", None) is not None:
            return
        stack = contextlib.AsyncExitStack()
        # Only the store-events consumer writes analytics; chDB allows one process per data dir.
        state.services = await stack.enter_async_context(
            open_services(settings, with_analytics=queue == queues.STORE_EVENTS, service="worker")
        )
        setattr(state, _STACK, stack)
        # A worker process of its own (not zelly dev's in-memory brokers): its logs and internal listener.
        stack.push_async_callback(await start_process_observability(settings, state.services, service="worker", queue=queue))

    async def close_on_shutdown(state: TaskiqState) -> None:
        stack = getattr(state, _STACK, None)
        if stack is not None:
            await stack.aclose()
            setattr(state, _STACK, None)
            state.services = None

    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, open_on_startup)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, close_on_shutdown)


def use_services(broker: AsyncBroker, services: Services) -> AsyncBroker:
    """Run this broker's tasks on already-open Services (in-process brokers, tests)."""
    broker.state.services = services
    return broker


def task_services(context: Context = TaskiqDepends()) -> Services:
    """Dependency: the Services the worker opened at start-up."""
    return context.state.services
