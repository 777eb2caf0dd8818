"""zelly dev (the whole stack on embedded defaults) and zelly origin (the origin alone).

`zelly dev` is one process: the origin wrapped in the edge cache (public
listener), the internal listener (TLS ask hook), Caddy in front for HTTPS, and
the background jobs (domain verification, Cloudflare purges when configured).
"""

from __future__ import annotations

import argparse
import contextlib
from typing import Callable

from edge.app import wrap_origin
from ops.commands.edge import cloudflare_purge_job, edge_config, edge_tier_redis
from ops.data_dir_lock import hold_data_dir
from ops.ports import caddy_binds, check_binds, describe_holder, listener_binds
from ops.mail_server import LoopbackMailServer, run_mail_server
from ops.process import origin_process
from ops.serve import serve_all, shutdown_event
from origin.app import create_app, create_internal_app
from origin.checkout.sweeps import periodic_checkout_sweeps
from origin.domains.periodic import periodic_verifier
from origin.outbox.periodic import periodic_outbox_sweep
from origin.services import Services, open_services
from origin.settings import ConfigurationError, Settings
from tls.caddy_process import options_from_settings, run_caddy

DEMO_SLUGS = ("acme", "nordic", "kyoto")


def register(subparsers: argparse._SubParsersAction) -> None:
    dev = subparsers.add_parser("dev", help="migrate, seed the demo on first run, and serve the whole stack")
    dev.add_argument("--no-seed", action="store_true", help="do not seed the demo tenants")
    dev.add_argument("--no-caddy", action="store_true", help="do not start Caddy (HTTP only, no TLS)")
    dev.add_argument("--server", choices=("granian", "hypercorn"), default="granian",
                     help="the public listener's server, in this process (default granian: fastest measured, see docs/decisions.md)")
    dev.set_defaults(handler=run_dev)

    origin = subparsers.add_parser("origin", help="serve the origin (public + internal listeners) under hypercorn")
    origin.add_argument("--no-jobs", action="store_true",
                        help="skip the periodic jobs (domain checks; embedded: outbox and checkout sweeps): another origin "
                             "process runs them. Each origin still sends its own writes' Cloudflare purges")
    origin.add_argument("--without-analytics", action="store_true",
                        help="do not open ZELLY_ANALYTICS_URL (chDB: the store-events consumer holds it; reports answer 503)")
    origin.set_defaults(handler=run_origin)


def background_jobs(settings: Settings, services: Services, *, periodic: bool = True) -> list[Callable]:
    """Jobs an origin process runs beside its listeners.

    The Cloudflare purge sender runs in every origin: it sends the purges of this process's own
    writes (origin.invalidation fills its in-process queue). The ``periodic`` ones (domain checks;
    on the embedded default the outbox and checkout sweeps) belong in exactly one process.
    """
    jobs: list[Callable] = []
    cloudflare = cloudflare_purge_job(settings, services)
    if cloudflare is not None:
        jobs.append(cloudflare)
    if not periodic:
        return jobs
    jobs.append(periodic_verifier(services))
    if not settings.redis_url:  # in-memory brokers have no scheduler; with Redis, workers.*:scheduler sweep
        jobs.append(periodic_outbox_sweep(services))
        jobs.append(periodic_checkout_sweeps(services))
    return jobs


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@contextlib.asynccontextmanager
async def dev_mail_server(settings: Settings):
    """The loopback SMTP server the outbox sends to in development; None when ZELLY_SMTP_HOST is elsewhere."""
    if settings.smtp_host not in LOOPBACK_HOSTS:
        yield None
        return
    async with contextlib.AsyncExitStack() as stack:
        try:
            server = await stack.enter_async_context(
                run_mail_server(settings.data_dir / "mail", host=settings.smtp_host, port=settings.smtp_port)
            )
        except OSError as error:  # the port is taken (another dev stack?): one line naming the variable
            raise ConfigurationError(
                "ZELLY_SMTP_PORT", f"cannot start the dev mail server on {settings.smtp_host}:{settings.smtp_port}: "
                f"{error.strerror or error} (held by {describe_holder(settings.smtp_port)})"
            ) from None
        yield server


async def run_origin(args: argparse.Namespace, settings: Settings) -> int:
    check_binds(listener_binds(settings, "origin_bind", "internal_bind"))
    stop = shutdown_event()
    async with open_services(settings, with_analytics=not args.without_analytics) as services, origin_process(services):
        public = create_app(settings, services=services)
        internal = create_internal_app(settings, services=services)
        print(f"origin:   http://{settings.origin_bind}/   internal: http://{settings.internal_bind}/", flush=True)
        await serve_all(
            [(public, settings.origin_bind), (internal, settings.internal_bind)], stop,
            background=background_jobs(settings, services, periodic=not args.no_jobs),
        )
    return 0


async def run_dev(args: argparse.Namespace, settings: Settings) -> int:
    with hold_data_dir(settings.data_dir, "dev"):
        return await _run_dev(args, settings)


async def _run_dev(args: argparse.Namespace, settings: Settings) -> int:
    from ops.commands.migrate import migrate_all
    from ops.seed import seed_demo_if_empty

    # Every address up front, by the variable that sets it: a busy port is one line naming the
    # variable and the process holding it, before migrations or Caddy start (issue 19, item 8).
    check_binds(listener_binds(settings, "origin_bind", "internal_bind", "edge_internal_bind")
                + ([] if args.no_caddy else caddy_binds(settings)))
    await migrate_all(settings)
    stop = shutdown_event()
    # Embedded: in-memory brokers run every task (webhooks, syncs) in this process, and the
    # analytics consumer runs here too (chDB lets one process open its data).
    async with open_services(settings) as services, origin_process(services):
        if not args.no_seed:
            await seed_demo_if_empty(services, echo=print)
        public = create_app(settings, services=services)
        # The storefront is served through the edge cache, in this process (issue 5).
        tier_redis = edge_tier_redis(settings) if settings.edge_redis_url else services.redis
        public = wrap_origin(public, edge_config(settings), services.broadcast, redis=tier_redis)
        if settings.edge_redis_url:
            public.shutdown_hooks.append(tier_redis.aclose)
        internal = create_internal_app(settings, services=services)
        caddy = contextlib.nullcontext() if args.no_caddy else run_caddy(options_from_settings(settings))
        async with dev_mail_server(settings) as mail, caddy:
            _print_urls(settings, with_tls=not args.no_caddy, mail=mail)
            await serve_all(
                # The public listener under granian in this loop: hits at the edge's own speed (issue 14,
                # item 4); the internal listeners stay under hypercorn as `zelly origin` serves them.
                [(public, settings.origin_bind, args.server), (internal, settings.internal_bind), (public.internal_app, settings.edge_internal_bind)],
                stop, background=background_jobs(settings, services),
            )
    return 0


def _print_urls(settings: Settings, *, with_tls: bool, mail: LoopbackMailServer | None = None) -> None:
    port = settings.origin_bind.rpartition(":")[2]
    lines = ["", "Zelly dev stack is up:"]
    for slug in DEMO_SLUGS:
        lines.append(f"  storefront  http://{slug}.{settings.platform_domain}:{port}/")
    if with_tls:
        for slug in DEMO_SLUGS:
            lines.append(f"  https       https://{slug}.{settings.platform_domain}:{settings.https_port}/")
        lines.append("              (trust the local CA: zelly tls root prints its certificate)")
    lines += [
        f"  seller API  http://{settings.platform_domain}:{port}/api/v1/openapi.json",
        f"  API docs    http://{settings.platform_domain}:{port}/api/v1/docs",
        f"  health      http://{settings.internal_bind}/healthz  (each store and queue; the public one only says it is up)",
        f"  edge        http://{settings.edge_internal_bind}/internal/edge/stats",
    ]
    if mail is not None:
        lines += [
            f"  mail        {mail.mailbox.directory.resolve()}/  (one .eml per message; SMTP on {mail.host}:{mail.port})",
            "              read them with: zelly mail list, zelly mail show <n>",
        ]
    else:
        lines.append(f"  mail        sent through {settings.smtp_host}:{settings.smtp_port} (ZELLY_SMTP_HOST is not loopback)")
    lines.append("")
    print("\n".join(lines), flush=True)
