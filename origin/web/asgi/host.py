"""Outermost layer of the public app: parse the ``Host`` once, or answer 400.

The parsed host (tls.hostnames.normalize_host: lower case, no port, no trailing
dot, A-labels) is stored in the scope under ``HOST_SCOPE_KEY`` for every layer
and handler behind: nothing behind this layer parses the Host again (issue 10,
item 3). Refused here, as the platform's 400 page (JSON on API paths):

- a Host the parser refuses (``a..b``, a 64-character label, an underscore,
  a bad port, NUL or CRLF, bytes that are not UTF-8...);
- no Host, or more than one ``Host`` header.

Quart builds its URL adapter from the Host while it creates the request
context, and Werkzeug raises on names it cannot encode before any error
handler runs (a 500), so a Unicode Host is handed on as its A-label.
"""

from __future__ import annotations

from typing import Any, Callable

from origin.web.asgi.responses import ASGIApp, send_refusal
from tls.hostnames import HostnameError, MalformedHostname, host_from_header

HOST_SCOPE_KEY = "zelly.host"
BAD_HOST_MESSAGE = "This request's Host header is not a valid hostname."


def request_host(scope: dict[str, Any]) -> str:
    """The request's host in normal form, as HostParse stored it."""
    return scope[HOST_SCOPE_KEY]


def parse_host(headers: list[tuple[bytes, bytes]]) -> tuple[str, bytes]:
    """(normalized host, raw header) of exactly one Host header; raises HostnameError."""
    raw = None
    for name, value in headers:
        if name == b"host":
            if raw is not None:
                raise MalformedHostname(None, "more than one Host header")
            raw = value
    if raw is None:
        raise MalformedHostname(None, "the request has no Host header")
    return host_from_header(raw), raw


class HostParse:
    def __init__(self, app: ASGIApp, quart_app: Any = None) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] in ("http", "websocket"):
            try:
                host, raw = parse_host(scope["headers"])
            except HostnameError:
                if scope["type"] == "http":
                    # One fixed message: a flood of garbage hosts renders nothing and echoes nothing.
                    await send_refusal(scope, send, 400, "invalid_host", BAD_HOST_MESSAGE, "Bad request")
                return  # a websocket is closed unaccepted
            if not raw.isascii():
                scope["headers"] = [(name, host.encode() if name == b"host" else value) for name, value in scope["headers"]]
            scope[HOST_SCOPE_KEY] = host
        await self.app(scope, receive, send)
