"""zelly edge: the edge cache as its own process, in front of ZELLY_EDGE_UPSTREAM.

Served by granian by default (measured fastest on one core, docs/decisions.md);
``--server hypercorn`` runs it inside this process like the origin. The edge
gets purges over Redis pub/sub (ZELLY_REDIS_URL) and shares its Redis tier on
ZELLY_EDGE_REDIS_URL, or ZELLY_REDIS_URL when that is empty; without Redis a
separate edge process only expires pages by TTL, so it says so at start-up.
Purge and stats are served on ZELLY_EDGE_INTERNAL_BIND only.

Also here, for the processes that wire the edge or Cloudflare in:
``edge_config(settings)`` and ``cloudflare_purge_job(settings, services)``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys

import redis.asyncio as aioredis
from hypercorn.asyncio import serve

from edge.app import EdgeApp, create_edge_app
from edge.cloudflare import CloudflarePurgeQueue
from edge.config import EdgeConfig
from observability.process import configure_process
from ops.serve import hypercorn_config, serve_all, shutdown_event
from origin.broadcast import RedisBroadcast
from origin.services import Services, make_redis
from origin.settings import Settings, parse_bind

log = logging.getLogger(__name__)

GRANIAN_FACTORY = "ops.commands.edge:create_edge_app_from_env"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("edge", help="serve the edge cache (ZELLY_EDGE_BIND) in front of ZELLY_EDGE_UPSTREAM")
    parser.add_argument("--server", choices=("granian", "hypercorn"), default="granian",
                        help="ASGI server (default granian: fastest measured, see docs/decisions.md)")
    parser.add_argument("--workers", type=int, default=1, help="granian worker processes (each has its own memory tier)")
    parser.set_defaults(handler=run_edge)


def edge_config(settings: Settings) -> EdgeConfig:
    return EdgeConfig(
        cache_bytes=settings.edge_cache_bytes,
        tenant_quota_bytes=settings.edge_tenant_quota_bytes,
        internal_token=settings.internal_token.reveal(),
        trusted_proxies=settings.trusted_proxies,
    )


# The Redis tier is on the request path (every memory miss reads it): a Redis that
# stops answering must cost a miss this long at most, never a hung request. The
# tier pauses itself after an error (edge/redis_tier.py).
EDGE_TIER_REDIS_TIMEOUT = 0.5


def edge_tier_redis(settings: Settings) -> aioredis.Redis | None:
    """The Redis tier's client: ZELLY_EDGE_REDIS_URL (its own, allkeys-lru Redis) or ZELLY_REDIS_URL; None for memory only."""
    url = settings.edge_redis_url or settings.redis_url
    if not url:
        return None
    return aioredis.Redis.from_url(url, socket_connect_timeout=EDGE_TIER_REDIS_TIMEOUT, socket_timeout=EDGE_TIER_REDIS_TIMEOUT)


def build_edge_app(settings: Settings) -> EdgeApp:
    # Purges arrive on the origin's Redis (pub/sub, a blocking read: no socket timeout);
    # the cached pages live on the edge's own Redis when ZELLY_EDGE_REDIS_URL names one.
    pubsub_client = make_redis(settings.redis_url) if settings.redis_url else None
    broadcast = RedisBroadcast(pubsub_client) if pubsub_client is not None else None
    tier_client = edge_tier_redis(settings)
    app = create_edge_app(
        edge_config(settings), settings.edge_upstream,
        broadcast_subscribe=broadcast.subscribe if broadcast is not None else None, redis=tier_client,
    )
    for client in (pubsub_client, tier_client):
        if client is not None:
            app.shutdown_hooks.append(client.aclose)
    if pubsub_client is None:
        log.warning("edge: ZELLY_REDIS_URL is empty, so this process receives no purges; pages expire by TTL only")
    return app


def serve_internal_listener(app: EdgeApp, bind: str) -> None:
    """Serve ``app.internal_app`` on ``bind`` beside the public listener, for as long as ``app`` runs.

    Under granian each worker process runs this in its own event loop; the
    socket is SO_REUSEPORT so every worker can bind it (the kernel picks one per
    connection: stats are that worker's, and a purge posted here clears that
    worker's memory and the shared Redis tier; the origin's pub/sub purges reach
    every worker).
    """
    stop = asyncio.Event()
    serving: list[asyncio.Task] = []

    async def start() -> None:
        host, port = parse_bind(bind)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(128)
        config = hypercorn_config(f"fd://{os.dup(sock.fileno())}")  # hypercorn owns (and closes) the duplicate
        sock.close()
        serving.append(asyncio.create_task(serve(app.internal_app, config, shutdown_trigger=stop.wait)))

    async def finish() -> None:
        stop.set()
        for task in serving:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 5)

    app.startup_hooks.append(start)
    app.shutdown_hooks.insert(0, finish)


def _as_hook(function):
    async def hook() -> None:
        function()
    return hook


def create_edge_app_from_env() -> EdgeApp:
    """granian's ``--factory`` target: one edge app per worker process."""
    settings = Settings.from_env()
    stop_tracing = configure_process(service="edge", log_level=settings.log_level, secrets=settings.secret_values(),
                                     otlp_endpoint=settings.otlp_endpoint)
    app = build_edge_app(settings)
    app.shutdown_hooks.append(_as_hook(stop_tracing))
    serve_internal_listener(app, settings.edge_internal_bind)
    return app


async def run_edge(args: argparse.Namespace, settings: Settings) -> int:
    host, port = parse_bind(settings.edge_bind)
    print(f"edge:     http://{settings.edge_bind}/  ->  {settings.edge_upstream}  ({args.server})"
          f"   internal: http://{settings.edge_internal_bind}/internal/edge/", flush=True)
    if args.server == "granian":
        command = [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", host, "--port", str(port),
            "--workers", str(args.workers), "--runtime-mode", "st", "--loop", "uvloop", "--no-ws",
            "--log-level", settings.log_level.lower(), GRANIAN_FACTORY,
        ]
        os.execv(sys.executable, command)  # granian owns the process from here (signals, workers)
    stop = shutdown_event()
    app = build_edge_app(settings)
    await serve_all([(app, settings.edge_bind), (app.internal_app, settings.edge_internal_bind)], stop)
    return 0


def cloudflare_purge_job(settings: Settings, services: Services):
    """A ``serve_all`` background job that sends the origin's purges to Cloudflare, or None when disabled.

    It attaches the queue as ``Services.cloudflare_purge`` (which
    origin.invalidation.publish_purge fills after each write) and sends batches
    until ``stop`` is set, then drains what is left for a few seconds.
    """
    if not settings.cloudflare_api_token or not settings.cloudflare_zone_id:
        return None
    queue = CloudflarePurgeQueue(
        services.http, api_base=settings.cloudflare_api_base, zone_id=settings.cloudflare_zone_id,
        token=settings.cloudflare_api_token.reveal(), batch_size=settings.cloudflare_purge_batch, plan=settings.cloudflare_plan,
    )
    services.attach(cloudflare_purge=queue)

    async def job(stop: asyncio.Event) -> None:
        sender = asyncio.create_task(queue.run())
        try:
            await stop.wait()
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.drain(), 5)
            services.attach(cloudflare_purge=None)

    return job
