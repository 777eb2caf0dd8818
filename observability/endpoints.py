"""``/metrics``, ``/livez`` and ``/readyz`` for every process's internal listener (issue 19, items 5 and 7).

- ``/livez``: 200 while the process serves; it asks nothing (an orchestrator
  restarts the process when this fails, so it must not fail for a store).
- ``/readyz``: 200 only when every store the process needs answers (its
  ``readiness()``: ``{store: {"status": "ok" | "down", ...}}``), 503 otherwise,
  so a load balancer sends it nothing until then.
- ``/metrics``: the process's registry in Prometheus' text format, after its
  probes ran (observability.metrics).

:class:`HealthEndpoints` is a raw-ASGI layer: the origin's and the edge's
internal apps put it in front of their own routes. Processes with no HTTP app
(taskiq workers and scheduler, the store-events consumer) serve it alone on
their internal listener with :class:`InternalListener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from typing import Any, Awaitable, Callable

from observability.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

Readiness = Callable[[], Awaitable[dict[str, dict]]]
READINESS_TIMEOUT_S = 3.0
PATHS = ("/metrics", "/livez", "/readyz")


async def _nothing_to_check() -> dict[str, dict]:
    return {}


async def send_body(send: Callable, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _not_found(scope: dict, receive: Callable, send: Callable) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    elif scope["type"] == "http":
        await send_body(send, 404, b'{"error":{"code":"not_found","message":"this listener has /metrics, /livez and /readyz"}}',
                        b"application/json")


class HealthEndpoints:
    def __init__(self, app: Any | None, metrics: Metrics, readiness: Readiness = _nothing_to_check) -> None:
        self.app = app or _not_found
        self.metrics = metrics
        self.readiness = readiness

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/livez":
            await send_body(send, 200, b'{"status":"ok"}', b"application/json")
        elif path == "/readyz":
            status, report = await self.ready()
            await send_body(send, status, json.dumps(report, separators=(",", ":")).encode(), b"application/json")
        else:
            await send_body(send, 200, await self.metrics.exposition(), CONTENT_TYPE.encode())

    async def ready(self) -> tuple[int, dict]:
        try:
            stores = await asyncio.wait_for(self.readiness(), READINESS_TIMEOUT_S)
        except Exception as error:  # a readiness answer describes a failure, it does not raise it
            return 503, {"status": "not_ready", "error": type(error).__name__}
        is_ready = all(store.get("status") == "ok" for store in stores.values())
        return (200 if is_ready else 503), {"status": "ready" if is_ready else "not_ready", "stores": stores}


class InternalListener:
    """Serve :class:`HealthEndpoints` on ``bind`` (hypercorn, in this event loop) until :meth:`stop`.

    The socket is SO_REUSEPORT: ``taskiq worker --workers N`` starts N
    processes from one configuration, and each binds the same address (the
    kernel picks one per connection, so run one worker process per deployment
    for whole-deployment numbers; docs/operations.md).
    """

    def __init__(self, endpoints: HealthEndpoints, bind: str) -> None:
        self.endpoints = endpoints
        self.bind = bind
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        host, _, port = self.bind.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, int(port)))
        sock.listen(64)
        config = Config()
        config.bind = [f"fd://{os.dup(sock.fileno())}"]  # hypercorn owns (and closes) the duplicate
        sock.close()
        config.accesslog = None
        config.errorlog = logging.getLogger("hypercorn.error")
        config.graceful_timeout = 1.0
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(serve(self.endpoints, config, shutdown_trigger=self._stop.wait),
                                         name=f"internal listener {self.bind}")
        log.info("internal listener on http://%s/ (/metrics, /livez, /readyz)", self.bind)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, 3)
            self._task = None
