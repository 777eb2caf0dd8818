"""ASGI guard: a malformed ``Host`` is a 400 before Quart sees the request.

Quart builds its URL adapter from the Host while creating the request context,
and Werkzeug raises (BadHost) on hosts such as ``a..b`` or a 64-character label
*before* any error handler can run, which ends as a 500. This guard answers
those with the platform's 400 page instead. The storefront blueprint installs
it when it is registered on an app.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from origin.tenancy.resolution import MalformedHost, normalize_host
from storefront.rendering import ThemeRenderer

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


class HostGuard:
    def __init__(self, app: ASGIApp, renderer: ThemeRenderer) -> None:
        self.app = app
        self.body = renderer.render_platform(
            "Bad request", "This request's Host header is not a valid hostname."
        ).encode()

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] in ("http", "websocket"):
            hosts = [value for name, value in scope.get("headers", ()) if name == b"host"]
            try:
                if len(hosts) > 1:
                    raise MalformedHost("more than one Host header")
                normalize_host(hosts[0].decode("latin-1") if hosts else None)
            except MalformedHost:
                if scope["type"] == "http":
                    await self._reject(send)
                return
        await self.app(scope, receive, send)

    async def _reject(self, send: Callable) -> None:
        await send({
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(self.body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        })
        await send({"type": "http.response.body", "body": self.body})


