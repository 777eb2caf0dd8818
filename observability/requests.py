"""The outermost layer of every HTTP app: request id, metrics and the request's span.

``ObservedRequests(app, metrics, trusts_peer=...)`` wraps a raw ASGI app:

- the request id is the ``X-Request-Id`` the peer sent when the peer is a
  trusted proxy (``trusts_peer(client address)``, ZELLY_TRUSTED_PROXIES) and the
  value is well formed, else a new one; it is returned on the response and set
  in observability.context for every log line and task enqueued meanwhile;
- one count and one latency observation per request, by route family, tenant
  (filled in by whoever resolved it, observability.context.bind_tenant) and
  status class;
- with tracing on, the ``http.request`` span every other span nests in.

``on_response_start(route family, message)`` sees each response's start (the edge
counts its cache outcome by page type from ``Cache-Status``). A proxy hands
the id on to its upstream itself (the edge: edge/keys.py ``upstream_headers``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from observability import context, tracing
from observability.metrics import Metrics, route_family

ASGIApp = Callable[..., Any]
# One line per request at DEBUG (Caddy keeps the access log in production): off by default, so the
# hot path pays one level check.
access_log = logging.getLogger("zelly.access")


def never_trusted(address: str | None) -> bool:
    return False


class ObservedRequests:
    def __init__(self, app: ASGIApp, metrics: Metrics, *, trusts_peer: Callable[[str | None], bool] = never_trusted,
                 on_response_start: Callable[[str, dict], None] | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.trusts_peer = trusts_peer
        self.on_response_start = on_response_start

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        offered = None
        for name, value in scope["headers"]:
            if name == context.REQUEST_ID_HEADER:
                client = scope.get("client")  # the peer is checked only when it offers an id
                if self.trusts_peer(client[0] if client else None):
                    offered = value
                break
        request_id = context.accepted_request_id(offered)
        current, token = context.start(request_id)
        header = (context.REQUEST_ID_HEADER, request_id.encode())
        status = 500  # what the client gets when the app raises before answering
        on_start = self.on_response_start

        async def send_observed(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: the app may send a shared, constant header list.
                message = {**message, "headers": [*message.get("headers", ()), header]}
                if on_start is not None:
                    on_start(family, message)
            await send(message)

        family = route_family(scope["path"])
        try:
            if tracing.is_enabled():
                with tracing.span("http.request", {"http.method": scope["method"], "http.route": family,
                                                   "zelly.request_id": request_id}) as span:
                    await self.app(scope, receive, send_observed)
                    span.set_attribute("http.status_code", status)
                    if current.tenant_id is not None:
                        span.set_attribute("zelly.tenant_id", current.tenant_id)
            else:
                await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe_request(family, current.tenant_id, status, seconds)
            if access_log.isEnabledFor(logging.DEBUG):
                query = scope.get("query_string") or b""
                access_log.debug("%s %s%s %d %.1fms", scope["method"], scope["path"],
                                 "?" + query.decode("latin-1") if query else "", status, seconds * 1000)
            context.current.reset(token)
