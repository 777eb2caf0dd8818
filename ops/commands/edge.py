"""zelly edge: the edge cache as its own process, in front of ZELLY_EDGE_UPSTREAM.

Served by granian by default (measured fastest on one core, docs/decisions.md);
``--server hypercorn`` runs it inside this process like the origin. The edge
gets purges over Redis pub/sub and shares its Redis tier when ZELLY_REDIS_URL
is set; without Redis a separate edge process only expires pages by TTL, so
it says so at start-up.

Also here, for the processes that wire the edge or Cloudflare in:
``edge_config(settings)`` and ``cloudflare_purge_job(settings, services)``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys

from edge.app import EdgeApp, create_edge_app
from edge.cloudflare import CloudflarePurgeQueue
from edge.config import EdgeConfig
from ops.serve import serve_all, shutdown_event
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


def build_edge_app(settings: Settings) -> EdgeApp:
    redis_client = make_redis(settings.redis_url) if settings.redis_url else None
    broadcast = RedisBroadcast(redis_client) if redis_client is not None else None
    app = create_edge_app(
        edge_config(settings), settings.edge_upstream,
        broadcast_subscribe=broadcast.subscribe if broadcast is not None else None, redis=redis_client,
    )
    if redis_client is not None:
        app.shutdown_hooks.append(redis_client.aclose)
    else:
        log.warning("edge: ZELLY_REDIS_URL is empty, so this process receives no purges; pages expire by TTL only")
    return app


def create_edge_app_from_env() -> EdgeApp:
    """granian's ``--factory`` target: one edge app per worker process."""
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per miss is noise; errors still show
    return build_edge_app(settings)


async def run_edge(args: argparse.Namespace, settings: Settings) -> int:
    host, port = parse_bind(settings.edge_bind)
    print(f"edge:     http://{settings.edge_bind}/  ->  {settings.edge_upstream}  ({args.server})", flush=True)
    if args.server == "granian":
        command = [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", host, "--port", str(port),
            "--workers", str(args.workers), "--runtime-mode", "st", "--loop", "uvloop", "--no-ws",
            "--log-level", settings.log_level.lower(), GRANIAN_FACTORY,
        ]
        os.execv(sys.executable, command)  # granian owns the process from here (signals, workers)
    stop = shutdown_event()
    await serve_all([(build_edge_app(settings), settings.edge_bind)], stop)
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
