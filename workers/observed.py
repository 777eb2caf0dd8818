"""Observability of the task processes: request ids across the queue, task metrics and spans, the internal listener.

- :class:`ObservedTasks` (a taskiq middleware on every broker): a kick made
  while a request or task is served carries its request id (and tenant id) as
  labels; the task runs with them in observability.context, so its log lines
  name the request that caused it (issue 19, item 6). It times each task, counts
  the ``ok`` ones (workers.retry counts ``retry`` and ``dead_letter``) and, with
  tracing on, wraps the run in a ``task`` span: a kick made inside a span
  carries its W3C ``traceparent`` label too, so the task's span is that span's
  child in the same trace, in whichever worker process runs it.
- :func:`start_process_observability`: in a ``taskiq worker`` or ``taskiq
  scheduler`` process, the one logging (and tracing) configuration and the
  internal listener on ZELLY_WORKER_INTERNAL_BIND: /metrics, /livez, /readyz.
- :class:`ObservedScheduler`: the scheduler with that listener, and a SIGTERM
  that stops it cleanly (taskiq's scheduler ends on SIGINT only).
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any, Callable

from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult, TaskiqScheduler

from observability import context, tracing
from observability.endpoints import HealthEndpoints, InternalListener
from observability.metrics import Metrics
from observability.process import configure_process
from origin.queueing import stream_backlog
from origin.services import Services
from origin.settings import Settings
from workers import queues

REQUEST_ID_LABEL = "request_id"
TENANT_ID_LABEL = "tenant_id"
TRACEPARENT_LABEL = tracing.TRACEPARENT


class ObservedTasks(TaskiqMiddleware):
    def __init__(self, queue: str) -> None:
        super().__init__()
        self.queue = queue
        self._running: dict[str, tuple[float, Any]] = {}

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        # Labels the kicker set itself win. A retry (workers.retry) copies them onto its re-kick, so it stays in
        # the trace of the request that caused it.
        current = context.current.get()
        if current is not None and REQUEST_ID_LABEL not in message.labels:
            message.labels[REQUEST_ID_LABEL] = current.request_id
            if current.tenant_id is not None:
                message.labels[TENANT_ID_LABEL] = current.tenant_id
        if tracing.is_enabled() and TRACEPARENT_LABEL not in message.labels:
            traceparent = tracing.current_traceparent()
            if traceparent is not None:
                message.labels[TRACEPARENT_LABEL] = traceparent
        return message

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        # taskiq runs each message in a task of its own: this context is that task's.
        tenant_id = message.labels.get(TENANT_ID_LABEL)
        context.start(context.accepted_request_id(message.labels.get(REQUEST_ID_LABEL)),
                      int(tenant_id) if tenant_id not in (None, "") else None)
        span = None
        if tracing.is_enabled():
            # The kicking span's child: the worker's own context knows nothing of the request.
            span = tracing.span("task", {"zelly.queue": self.queue, "zelly.task": message.task_name,
                                         "zelly.request_id": context.request_id()},
                                traceparent=message.labels.get(TRACEPARENT_LABEL))
            span.__enter__()
        self._running[message.task_id] = (time.perf_counter(), span)
        return message

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult) -> None:
        started, span = self._running.pop(message.task_id, (None, None))
        metrics = self._metrics()
        if started is not None and metrics is not None:
            metrics.task_seconds.labels(self.queue, message.task_name).observe(time.perf_counter() - started)
            if not result.is_err:
                metrics.task_outcomes.labels(self.queue, message.task_name, "ok").inc()
        if span is not None:
            span.__exit__(None, None, None)

    def _metrics(self) -> Metrics | None:
        services = getattr(self.broker.state, "services", None)
        return services.metrics if services is not None else None


def count_outcome(services: Services | None, queue: str, task_name: str, outcome: str) -> None:
    """``retry`` or ``dead_letter`` (workers.retry decides which)."""
    if services is not None:
        services.metrics.task_outcomes.labels(queue, task_name, outcome).inc()


async def start_process_observability(settings: Settings, services: Services, *, service: str, queue: str) -> Callable:
    """Logs, traces and the internal listener of a worker or scheduler process; returns its async stop."""
    stop_tracing = configure_process(service=service, log_level=settings.log_level, secrets=settings.secret_values(),
                                     otlp_endpoint=settings.otlp_endpoint)

    async def queue_depth(metrics: Metrics) -> None:
        if services.request_redis is not None:
            backlog = await stream_backlog(services.request_redis, queues.stream_key(queue), queue)
            metrics.queue_depth.labels(queue).set(backlog.entries)
            metrics.queue_oldest_age.labels(queue).set(backlog.oldest_age_seconds)

    services.metrics.add_probe("queue", queue_depth)
    listener = InternalListener(HealthEndpoints(None, services.metrics, readiness=services.health), settings.worker_internal_bind)
    await listener.start()

    async def stop() -> None:
        await listener.stop()
        stop_tracing()

    return stop


class ObservedScheduler(TaskiqScheduler):
    """``taskiq scheduler workers.<queue>:scheduler`` with the internal listener and a clean SIGTERM.

    The scheduler opens no Services (it only kicks), so its readiness is its
    broker's Redis answering, and its metrics are its own registry's.
    """

    def __init__(self, broker: Any, sources: list, *, settings: Settings, queue: str) -> None:
        super().__init__(broker, sources)
        self.settings = settings
        self.queue = queue
        self.metrics = Metrics("scheduler")
        self._listener: InternalListener | None = None
        self._stop_tracing: Callable[[], None] | None = None

    async def startup(self) -> None:
        settings = self.settings
        self._stop_tracing = configure_process(service="scheduler", log_level=settings.log_level,
                                               secrets=settings.secret_values(), otlp_endpoint=settings.otlp_endpoint)
        await super().startup()
        # taskiq's scheduler stops on the CancelledError a SIGINT raises; a SIGTERM must do the same (issue 19, item 7).
        main = asyncio.current_task()
        if main is not None:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
        self._listener = InternalListener(HealthEndpoints(None, self.metrics, readiness=self._readiness), settings.worker_internal_bind)
        await self._listener.start()

    async def shutdown(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        await super().shutdown()
        if self._stop_tracing is not None:
            self._stop_tracing()

    async def _readiness(self) -> dict[str, dict]:
        client = getattr(self.broker, "_client", None)
        if client is None:  # the in-memory broker
            return {"broker": {"backend": "memory", "status": "ok"}}
        try:
            await asyncio.wait_for(client.ping(), 2.0)
        except Exception as error:  # a readiness answer describes a failure, it does not raise it
            return {"broker": {"backend": "redis", "status": "down", "error": type(error).__name__}}
        return {"broker": {"backend": "redis", "status": "ok"}}

