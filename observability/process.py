"""The one start-up call of every process: logs, and traces when an OTLP endpoint is set (issue 19, item 6).

Called before anything logs by the zelly command (every sub-command),
granian's edge factory, and each taskiq worker and scheduler
(workers.runtime). It takes plain values so this package imports no Settings.
"""

from __future__ import annotations

from typing import Callable, Iterable

from observability.logs import configure_logging


def configure_process(*, service: str, log_level: str, secrets: Iterable[str] = (), otlp_endpoint: str = "") -> Callable[[], None]:
    """Configure logs (and traces); returns the function that flushes the traces at exit."""
    configure_logging(log_level, service=service, secrets=secrets)
    if not otlp_endpoint:
        return _nothing
    from observability.tracing import configure_tracing  # only now: off, nothing of OpenTelemetry loads

    return configure_tracing(otlp_endpoint, service=service)


def _nothing() -> None:
    return None
