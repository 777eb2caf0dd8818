"""Where misses go: the origin over HTTP (httpx), or the origin's ASGI app in this process.

Two operations:

- ``fetch``: one buffered request for a cacheable miss, with a deadline; a
  connection failure or the deadline raises UpstreamError (stale-if-error's cue);
- ``forward``: a bypassed request streamed both ways, untouched apart from the
  headers the edge cleaned.

Keep-alive races (issue 12, item 5): the origin (hypercorn) closes a connection
idle for ``keep_alive_timeout`` (75 s, ops/serve.py); the edge drops its own
idle connections after UPSTREAM_KEEPALIVE_SECONDS, well below that, so it
rarely reuses one the origin is closing. When it does anyway (the close and
the reuse cross on the wire), a GET or HEAD that failed before any response
byte is sent once more on a fresh connection: the origin never answered, so
it cannot have acted on it. Every 502/504 the edge produces is logged with its
cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol
from urllib.parse import unquote

import httpx

log = logging.getLogger(__name__)

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


# Below the origin's keep_alive_timeout (75 s): the edge, not the origin, should be
# the side that retires an idle connection.
UPSTREAM_KEEPALIVE_SECONDS = 15.0

# What a reused connection that the origin closed under us looks like: the request
# went out (or tried to) and not one response byte came back. A ConnectError (a
# fresh connection failed) or a timeout is not retried: the origin is down or slow,
# and a second try would only double the wait.
_STALE_CONNECTION_ERRORS = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})


class UpstreamError(Exception):
    """The origin could not be reached or did not answer in time."""


class UpstreamTimeout(UpstreamError):
    pass


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]  # names lower-cased
    body: bytes


class Upstream(Protocol):
    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...

    async def fetch(self, method: str, target: str, headers: list[tuple[bytes, bytes]], timeout: float, scope: dict) -> UpstreamResponse: ...

    async def forward(self, scope: dict, receive, send, headers: list[tuple[bytes, bytes]]) -> None: ...


class HttpUpstream:
    """The origin in another process. ``client`` is owned by the caller unless created here."""

    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._owns_client = client is None
        self._timeout = timeout
        self._fresh_client: httpx.AsyncClient | None = None  # retries: never a pooled connection
        self.retries = 0  # requests sent a second time after a stale connection (tests, stats)

    async def startup(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=5.0),
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=UPSTREAM_KEEPALIVE_SECONDS),
                follow_redirects=False,
            )
        # No keep-alive at all: each retry opens its own connection, so it cannot
        # land on another connection the origin is closing.
        self._fresh_client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout, connect=5.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=0),
            follow_redirects=False,
        )

    async def shutdown(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._fresh_client is not None:
            await self._fresh_client.aclose()
            self._fresh_client = None

    async def _send(self, method: str, make_request: Callable[[], httpx.Request]) -> httpx.Response:
        """Send, and for GET/HEAD send once more on a fresh connection if a reused one died before answering."""
        assert self._client is not None and self._fresh_client is not None, "startup() first"
        try:
            return await self._client.send(make_request(), stream=True)
        except _STALE_CONNECTION_ERRORS as error:
            if method not in _IDEMPOTENT_METHODS:
                raise
            self.retries += 1
            log.info("edge: upstream connection failed before answering %s (%s: %s); retrying once on a fresh connection",
                     method, type(error).__name__, error)
            return await self._fresh_client.send(make_request(), stream=True)

    async def fetch(self, method, target, headers, timeout, scope) -> UpstreamResponse:
        # httpx.Request, not client.build_request: the client's default headers
        # (Accept-Encoding: gzip, User-Agent) must not change what is stored.
        url = self.base_url + target
        try:
            async with asyncio.timeout(timeout):
                response = await self._send(method, lambda: httpx.Request(method, url, headers=headers))
                try:
                    body = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
        except TimeoutError:
            raise UpstreamTimeout(f"no answer from {self.base_url} within {timeout}s") from None
        except httpx.HTTPError as error:
            raise UpstreamError(f"{type(error).__name__}: {error}") from None
        return UpstreamResponse(response.status_code, [(n.lower(), v) for n, v in response.headers.raw], body)

    async def forward(self, scope, receive, send, headers) -> None:
        async def request_body():
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body"):
                    return

        has_body = scope["method"] not in ("GET", "HEAD", "OPTIONS", "DELETE") or any(n == b"content-length" for n, _ in headers)
        target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        method = scope["method"]
        sent_headers = [(n, v) for n, v in headers if n != b"content-length" or has_body]
        if has_body:
            method = method if method not in _IDEMPOTENT_METHODS else method + "-with-body"  # a streamed body cannot be sent twice

        def make_request() -> httpx.Request:
            return httpx.Request(scope["method"], self.base_url + target, headers=sent_headers, content=request_body() if has_body else None)

        try:
            response = await self._send(method, make_request)
        except httpx.TimeoutException as error:
            log.warning("edge: 504 for %s %s: upstream timeout (%s)", scope["method"], target, type(error).__name__)
            await send_plain(send, 504, b"The store did not answer in time. Please try again.")
            return
        except httpx.HTTPError as error:
            log.warning("edge: 502 for %s %s: upstream unreachable (%s: %s)", scope["method"], target, type(error).__name__, error)
            await send_plain(send, 502, b"The store cannot be reached right now. Please try again.")
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(n.lower(), v) for n, v in response.headers.raw if n.lower() not in _RESPONSE_HOP_BY_HOP]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


_RESPONSE_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"proxy-connection"})


async def send_plain(send, status: int, text: bytes, extra_headers: list[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(text)).encode()),
        (b"cache-control", b"no-store"), *extra_headers]})
    await send({"type": "http.response.body", "body": text, "more_body": False})


class AsgiUpstream:
    """The origin app in this process (``zelly dev``): called directly, no socket, no httpx."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._lifespan_task: asyncio.Task | None = None
        self._lifespan_in: asyncio.Queue[dict] = asyncio.Queue()
        self._lifespan_out: asyncio.Queue[dict] = asyncio.Queue()

    async def startup(self) -> None:
        """Run the wrapped app's lifespan (Quart's before_serving) as a server would."""
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._lifespan_task = asyncio.create_task(self.app(scope, self._lifespan_in.get, self._lifespan_out.put))
        await self._lifespan_in.put({"type": "lifespan.startup"})
        message = await self._next_lifespan_message()
        if message is not None and message["type"] == "lifespan.startup.failed":
            raise RuntimeError(f"the wrapped app failed to start: {message.get('message', '')}")

    async def shutdown(self) -> None:
        if self._lifespan_task is None or self._lifespan_task.done():
            return
        await self._lifespan_in.put({"type": "lifespan.shutdown"})
        await self._next_lifespan_message()
        self._lifespan_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._lifespan_task

    async def _next_lifespan_message(self) -> dict | None:
        getter = asyncio.create_task(self._lifespan_out.get())
        done, _ = await asyncio.wait({getter, self._lifespan_task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        return None  # the app does not speak lifespan; nothing to run

    async def fetch(self, method, target, headers, timeout, scope) -> UpstreamResponse:
        path, _, query = target.partition("?")
        inner_scope = {
            **scope, "method": method, "path": unquote(path), "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"), "headers": headers,
        }
        status = 502
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        finished = asyncio.Event()
        request_sent = False

        async def receive() -> dict:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await finished.wait()  # the app may listen for a disconnect: only once it has answered
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = [(n.lower(), v) for n, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    finished.set()

        try:
            async with asyncio.timeout(timeout):
                await self.app(inner_scope, receive, send)
        except TimeoutError:
            raise UpstreamTimeout(f"the origin app did not answer within {timeout}s") from None
        except Exception as error:  # the wrapped app crashed: to the edge that is an origin error
            log.exception("the wrapped origin app raised")
            raise UpstreamError(f"{type(error).__name__}: {error}") from None
        finally:
            finished.set()
        return UpstreamResponse(status, response_headers, b"".join(chunks))

    async def forward(self, scope, receive, send, headers) -> None:
        await self.app({**scope, "headers": headers}, receive, send)


def make_upstream(upstream: Any) -> Upstream:
    """A URL, an httpx.AsyncClient (its base_url is the origin), an ASGI app, or an Upstream."""
    if isinstance(upstream, str):
        return HttpUpstream(upstream)
    if isinstance(upstream, httpx.AsyncClient):
        return HttpUpstream(str(upstream.base_url), upstream)
    if hasattr(upstream, "fetch") and hasattr(upstream, "forward"):
        return upstream
    if callable(upstream):
        return AsgiUpstream(upstream)
    raise TypeError(f"upstream must be a URL, an httpx.AsyncClient or an ASGI app, not {type(upstream).__name__}")
