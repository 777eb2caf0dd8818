"""The edge as two ASGI apps sharing one cache: the public proxy and the internal listener.

    app = create_edge_app(config, upstream, broadcast_subscribe=..., redis=...)
    app                 # public: the page cache; its lifespan runs the upstream and the purge subscriber
    app.internal_app    # internal (ZELLY_EDGE_INTERNAL_BIND): /metrics, /livez, /readyz, /internal/edge/purge and /stats
    wrap_origin(origin_asgi_app, config, broadcast)      # zelly dev: one process

Internal means internal (issue 13, item 3): the public app answers every
``/internal/`` path with 404 itself, whatever the token, so purge and stats
are reachable only on the internal listener, which is bound to a private
address and never put behind Caddy. The bearer token still guards it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Awaitable, Callable

from edge.config import EdgeConfig
from edge.internal import PREFIX as INTERNAL_PREFIX
from edge.internal import InternalEndpoints, send_json
from edge.internal import error as internal_error
from edge.proxy import EdgeProxy
from edge.purge import Purger, Subscribe, run_purge_subscriber
from edge.redis_tier import RedisTier
from edge.stats import EdgeStats
from edge.store import MemoryStore
from edge.upstream import AsgiUpstream, make_upstream, send_plain
from observability.endpoints import HealthEndpoints
from observability.metrics import Metrics
from observability.requests import ObservedRequests

log = logging.getLogger(__name__)

PUBLIC_REFUSED_PREFIX = "/internal/"  # the Caddyfile refuses the same prefix


class EdgeApp:
    def __init__(self, config: EdgeConfig, upstream: Any, *, broadcast_subscribe: Subscribe | None = None, redis: Any = None) -> None:
        self.config = config
        self.upstream = make_upstream(upstream)
        self.store = MemoryStore(config.cache_bytes, config.tenant_quota_bytes)
        self.redis_tier = RedisTier(
            redis, ttl_slack=config.redis_ttl_slack, max_ttl=config.redis_max_ttl,
            admissions_per_minute=config.redis_admissions_per_minute,
        ) if redis is not None else None
        self.stats = EdgeStats()
        self.purger = Purger(config, self.store, self.redis_tier, self.stats)
        # This process's metrics, on the internal listener's /metrics (observability/).
        self.metrics = Metrics("edge")
        self.proxy = EdgeProxy(config, self.upstream, self.store, self.redis_tier, self.stats, self.purger, self.metrics)
        self.internal = InternalEndpoints(config, self.purger, self.stats, self.store)
        self._redis = redis
        self._observed = ObservedRequests(self._http, self.metrics, trusts_peer=config.is_trusted_proxy,
                                          on_response_start=self._count_cache_outcome)
        self._health = HealthEndpoints(self._internal_http, self.metrics, readiness=self._readiness)
        self._broadcast_subscribe = broadcast_subscribe
        self._subscriber: asyncio.Task | None = None
        self.subscribed = asyncio.Event()  # set once purges are being received (tests wait on it)
        self.startup_hooks: list[Callable[[], Awaitable[None]]] = []  # e.g. serve the internal listener (zelly edge)
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []  # e.g. close the Redis client a process opened

    async def __call__(self, scope: dict, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._observed(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket" and isinstance(self.upstream, AsgiUpstream):
            await self.upstream.app(scope, receive, send)  # nothing to cache: straight through
        elif kind == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1011})

    async def _http(self, scope: dict, receive, send) -> None:
        if scope["path"].startswith(PUBLIC_REFUSED_PREFIX):
            await send_plain(send, 404, b"Not found.")
        else:
            await self.proxy.handle(scope, receive, send)

    def _count_cache_outcome(self, family: str, message: dict) -> None:
        for name, value in reversed(message["headers"]):  # this edge appends Cache-Status last but for the request id
            if name == b"cache-status":
                self.metrics.edge_lookups.inc((family, cache_outcome(value)))
                return

    async def _readiness(self) -> dict[str, dict]:
        """Ready when the Redis tier answers (purges and shared pages come through it); memory-only: always."""
        if self._redis is None:
            return {"cache": {"backend": "memory", "status": "ok"}}
        try:
            await asyncio.wait_for(self._redis.ping(), 2.0)
        except Exception as error:  # a readiness answer describes a failure, it does not raise it
            return {"cache": {"backend": "redis", "status": "down", "error": type(error).__name__}}
        return {"cache": {"backend": "redis", "status": "ok"}}

    async def internal_app(self, scope: dict, receive, send) -> None:
        """The internal listener: /metrics, /livez, /readyz, then purge and stats."""
        await self._health(scope, receive, send)

    async def _internal_http(self, scope: dict, receive, send) -> None:
        """Its lifespan has nothing to run: the public app's starts everything."""
        kind = scope["type"]
        if kind == "http":
            if scope["path"].startswith(INTERNAL_PREFIX):
                await self.internal(scope, receive, send)
            else:
                await send_json(send, 404, internal_error("not_found", "the edge's internal listener has /internal/edge/purge and /internal/edge/stats"))
        elif kind == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return

    async def startup(self) -> None:
        await self.upstream.startup()
        if self._broadcast_subscribe is not None:
            self._subscriber = asyncio.create_task(run_purge_subscriber(self._broadcast_subscribe, self.purger, self.subscribed))
        for hook in self.startup_hooks:
            await hook()

    async def shutdown(self) -> None:
        if self._subscriber is not None:
            self._subscriber.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._subscriber
            self._subscriber = None
        await self.proxy.aclose()
        await self.upstream.shutdown()
        for hook in self.shutdown_hooks:
            await hook()

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as error:  # tell the server; it refuses to serve
                    log.exception("edge start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def cache_outcome(cache_status: bytes) -> str:
    """hit, stale, miss or bypass, from this edge's ``Cache-Status`` (edge/proxy.py writes the forms)."""
    if b"fwd=bypass" in cache_status:
        return "bypass"
    if b"stale" in cache_status:  # stale-while-revalidate, stale-if-error
        return "stale"
    if b"; hit" in cache_status or b"collapsed" in cache_status:
        return "hit"
    return "miss"


def create_edge_app(config: EdgeConfig, upstream: Any, *, broadcast_subscribe: Subscribe | None = None, redis: Any = None) -> EdgeApp:
    """The edge in front of ``upstream`` (origin URL, httpx.AsyncClient with base_url, or ASGI app).

    ``broadcast_subscribe(channel)`` is an async context manager yielding an async
    iterator of messages (the origin's ``Services.broadcast.subscribe``); ``redis``
    a ``redis.asyncio.Redis`` for the shared tier, or None for memory only.
    """
    return EdgeApp(config, upstream, broadcast_subscribe=broadcast_subscribe, redis=redis)


def wrap_origin(origin_asgi_app: Any, config: EdgeConfig, broadcast: Any, *, redis: Any = None) -> EdgeApp:
    """``zelly dev``: the edge around the origin's public app in the same process."""
    return create_edge_app(config, origin_asgi_app, broadcast_subscribe=broadcast.subscribe, redis=redis)
