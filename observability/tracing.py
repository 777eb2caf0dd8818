"""OpenTelemetry traces, only when ``ZELLY_OTLP_ENDPOINT`` is set (issue 19, item 6).

Off (the default), nothing of OpenTelemetry is imported and a span costs one
global read: :func:`span` returns a shared no-op context manager. On,
:func:`configure_tracing` installs a tracer provider that batches spans to the
OTLP/HTTP endpoint (``<endpoint>/v1/traces``, protobuf), named by the process
kind (``service.name``).

Spans: ``http.request`` (observability.requests), ``render`` (the storefront),
``db.statement`` and ``redis.command`` (observability.stores),
``upstream.fetch`` (the edge's miss) and ``task`` (workers). They nest through
OpenTelemetry's context, which lives in contextvars like the request id.

Across a process boundary the context travels as a W3C ``traceparent``
(:func:`current_traceparent` on the sending side, ``span(..., traceparent=)``
on the receiving one): workers.observed puts it in a task's labels, so a task
run by a Redis worker is a child of the request that kicked it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, ContextManager

_tracer: Any = None
_propagator: Any = None  # the W3C Trace Context propagator, set with the tracer
_NO_SPAN = contextlib.nullcontext()
EXPORT_DELAY_MS = 1000  # spans leave in batches at most this late
TRACEPARENT = "traceparent"  # the W3C Trace Context header, and the task label that carries it


def is_enabled() -> bool:
    return _tracer is not None


def span(name: str, attributes: dict | None = None, *, traceparent: str | None = None) -> ContextManager:
    """A span around a block, the current one inside it; a shared no-op when tracing is off.

    ``traceparent`` (another process's :func:`current_traceparent`) makes it that span's child;
    a malformed one is ignored by the propagator, and the span starts a trace of its own.
    """
    if _tracer is None:
        return _NO_SPAN
    parent = _propagator.extract({TRACEPARENT: traceparent}) if traceparent else None
    return _tracer.start_as_current_span(name, context=parent, attributes=attributes)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, for a message leaving this process; None when off or outside a span."""
    if _propagator is None:
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get(TRACEPARENT)


def start_span(name: str, attributes: dict | None = None) -> Any:
    """A span begun here and ended by :func:`end_span` elsewhere (SQLAlchemy's before/after events); None when off."""
    if _tracer is None:
        return None
    return _tracer.start_span(name, attributes=attributes)


def end_span(started: Any, error: BaseException | None = None) -> None:
    if started is None:
        return
    if error is not None:
        started.record_exception(error)
    started.end()


def configure_tracing(endpoint: str, *, service: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
    """Export spans to ``endpoint`` (OTLP/HTTP); returns the function that flushes and stops the export."""
    global _tracer, _propagator
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    provider = TracerProvider(resource=Resource.create({"service.name": f"zelly-{service}"}))
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", headers=headers or {}, timeout=5)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=EXPORT_DELAY_MS))
    _tracer = provider.get_tracer("zelly")
    _propagator = TraceContextTextMapPropagator()

    def shutdown() -> None:
        global _tracer, _propagator
        _tracer = _propagator = None
        provider.shutdown()

    return shutdown
