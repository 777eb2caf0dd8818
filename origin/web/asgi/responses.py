"""The one writer of raw ASGI responses: bodies, JSON errors, the platform's HTML error pages.

JSON errors have the API's shape, ``{"error": {"code", "message", ...}}``, and
are encoded as Quart's ``jsonify`` encodes them (compact, ASCII, a trailing
newline), so an answer from a layer reads exactly like one from a handler.
Whether a refusal is JSON or HTML follows the same paths as origin/web/errors.py.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Awaitable, Callable, Iterable

from werkzeug.exceptions import MethodNotAllowed

from origin.web.errors import JSON_PREFIXES
from storefront.rendering import ThemeRenderer

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
Headers = Iterable[tuple[bytes, bytes]]

JSON = b"application/json"
TEXT = b"text/plain; charset=utf-8"
HTML = b"text/html; charset=utf-8"
NO_STORE = (b"cache-control", b"no-store")
# The probe (/.well-known/zelly/domain) is read by scripts: its refusals are JSON too.
_JSON_PATHS = (*JSON_PREFIXES, "/.well-known/zelly/")


async def send_body(send: Callable, status: int, body: bytes, content_type: bytes, headers: Headers = (), *, is_head: bool = False) -> None:
    """A whole response in two messages; ``is_head`` keeps the length and drops the body."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": b"" if is_head else body, "more_body": False})


async def send_not_modified(send: Callable, headers: Headers) -> None:
    await send({"type": "http.response.start", "status": 304, "headers": list(headers)})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, separators=(",", ":"), default=str) + "\n").encode()


async def send_json(send: Callable, status: int, payload: Any, headers: Headers = (), *, is_head: bool = False) -> None:
    await send_body(send, status, json_bytes(payload), JSON, [NO_STORE, *headers], is_head=is_head)


async def send_json_error(
    send: Callable, status: int, code: str, message: str, headers: Headers = (), *, is_head: bool = False, **extra: object
) -> None:
    await send_json(send, status, {"error": {"code": code, "message": message, **extra}}, headers, is_head=is_head)


def wants_json(scope: dict) -> bool:
    return scope["path"].startswith(_JSON_PATHS)


@functools.lru_cache(maxsize=32)
def platform_html(heading: str, message: str) -> bytes:
    """The platform's branded page (names no store): rendered once per message, then reused."""
    return ThemeRenderer().render_platform(heading, message).encode()


async def send_refusal(scope: dict, send: Callable, status: int, code: str, message: str, heading: str) -> None:
    """A request the platform will not serve (400 bad Host, 421, 410): JSON on API paths, HTML elsewhere."""
    is_head = scope["method"] == "HEAD"
    if wants_json(scope):
        await send_json_error(send, status, code, message, is_head=is_head)
    else:
        await send_body(send, status, platform_html(heading, message), HTML, [NO_STORE], is_head=is_head)


async def send_method_not_allowed(scope: dict, send: Callable, allowed: str) -> None:
    """What Quart answers for a path a layer owns: 405 JSON with ``Allow``, and 200 to ``OPTIONS``."""
    allow = (b"allow", allowed.encode())
    if scope["method"] == "OPTIONS":
        await send_body(send, 200, b"", HTML, [allow])
        return
    await send_json_error(send, 405, "method_not_allowed", MethodNotAllowed.description, [allow])


DISCONNECTED = b"<disconnected>"  # compared by identity, never a real body


async def read_body(receive: Callable, limit: int) -> bytes | None:
    """The whole body; None once it exceeds ``limit`` bytes; ``DISCONNECTED`` if the client left first."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return DISCONNECTED
    body = message.get("body", b"")
    if not message.get("more_body", False):  # most requests: one message
        return body if len(body) <= limit else None
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return DISCONNECTED
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
