"""zelly dev (the whole stack on embedded defaults) and zelly origin (the origin alone)."""

from __future__ import annotations

import argparse

from edge.app import wrap_origin  # edge (issue 5)
from ops.commands.edge import edge_config  # edge (issue 5)
from ops.serve import serve_all, shutdown_event
from origin.app import create_app, create_internal_app
from origin.services import open_services
from origin.settings import Settings
from workers.dispatch import open_task_queue


def register(subparsers: argparse._SubParsersAction) -> None:
    dev = subparsers.add_parser("dev", help="migrate, seed the demo on first run, and serve the whole stack")
    dev.add_argument("--no-seed", action="store_true", help="do not seed the demo tenants")
    dev.set_defaults(handler=run_dev)

    origin = subparsers.add_parser("origin", help="serve the origin (public + internal listeners) under hypercorn")
    origin.set_defaults(handler=run_origin)


async def run_origin(args: argparse.Namespace, settings: Settings) -> int:
    stop = shutdown_event()
    # Redis configured: the queues only send and `taskiq worker` deployments consume (README "Workers").
    async with open_services(settings) as services, open_task_queue(services.settings, services):
        public = create_app(settings, services=services)
        internal = create_internal_app(settings, services=services)
        print(f"origin:   http://{settings.origin_bind}/   internal: http://{settings.internal_bind}/", flush=True)
        await serve_all([(public, settings.origin_bind), (internal, settings.internal_bind)], stop)
    return 0


async def run_dev(args: argparse.Namespace, settings: Settings) -> int:
    from ops.commands.migrate import migrate_all
    from ops.seed import seed_demo_if_empty

    await migrate_all(settings)
    stop = shutdown_event()
    # Embedded: in-memory brokers run every task (webhooks, syncs) in this process.
    async with open_services(settings) as services, open_task_queue(services.settings, services):
        if not args.no_seed:
            await seed_demo_if_empty(services, echo=print)
        public = create_app(settings, services=services)
        # edge (issue 5): the storefront is served through the edge cache, in this process.
        public = wrap_origin(public, edge_config(settings), services.broadcast, redis=services.redis)
        internal = create_internal_app(settings, services=services)
        host, _, port = settings.origin_bind.rpartition(":")
        print("\nZelly dev stack is up:", flush=True)
        for slug in ("acme", "nordic", "kyoto"):
            print(f"  storefront  http://{slug}.{settings.platform_domain}:{port}/")
        print(f"  health      http://{settings.origin_bind}/healthz")
        print(f"  internal    http://{settings.internal_bind}/healthz\n", flush=True)
        await serve_all([(public, settings.origin_bind), (internal, settings.internal_bind)], stop)
    return 0
