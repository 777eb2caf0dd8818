"""zelly analytics: run the store-events consumer, roll up a day, or print a dashboard link."""

from __future__ import annotations

import argparse
import datetime as dt

from observability.endpoints import HealthEndpoints, InternalListener
from ops.ports import check_binds, listener_binds
from ops.serve import shutdown_event
from origin.analytics.links import dashboard_url, sign_link_token
from origin.analytics.rollup import do_rollup_day
from origin.analytics.runtime import analytics_runtime
from origin.services import open_services
from origin.settings import Settings
from origin.tenancy.queries import select_tenant_by_slug
from origin.web.internal.probes import store_events_probe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("analytics", help="store analytics: consumer, rollups, dashboard links")
    commands = parser.add_subparsers(dest="analytics_command", required=True)
    consume = commands.add_parser(
        "consume", help="run the store-events consumer and the daily rollup (servers; zelly dev runs its own)"
    )
    consume.add_argument("--batch-rows", type=int, default=5000)
    consume.add_argument("--flush-seconds", type=float, default=1.0)
    consume.set_defaults(handler=run_consume)
    rollup = commands.add_parser("rollup", help="recompute backoffice.daily_tenant_aggregates for one UTC day")
    rollup.add_argument("--day", type=_day, default=None, help="YYYY-MM-DD (default: yesterday)")
    rollup.set_defaults(handler=run_rollup)
    link = commands.add_parser("dashboard-link", help="print a 15-minute link to a store's analytics page")
    link.add_argument("--tenant", required=True, help="the store's slug")
    link.set_defaults(handler=run_dashboard_link)


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-25, got {value!r}") from None


async def run_consume(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis_url:
        # Without Redis the queue is in the intake's own memory: only that process can consume it.
        print("zelly analytics consume needs ZELLY_REDIS_URL; on the embedded default `zelly dev` runs the consumer itself")
        return 2
    # A taken port is one line naming its variable, before the stores (and chDB) are opened for nothing.
    check_binds(listener_binds(settings, "worker_internal_bind"))
    stop = shutdown_event()
    async with open_services(settings, with_analytics=True, service="store-events") as services:
        services.metrics.add_probe("store_events", lambda metrics: store_events_probe(metrics, services))
        listener = InternalListener(HealthEndpoints(None, services.metrics, readiness=services.health), settings.worker_internal_bind)
        await listener.start()
        try:
            async with analytics_runtime(services, batch_rows=args.batch_rows, flush_seconds=args.flush_seconds):
                print(f"store-events consumer running; internal: http://{settings.worker_internal_bind}/; Ctrl-C to stop", flush=True)
                await stop.wait()
        finally:
            await listener.stop()
    return 0


async def run_rollup(args: argparse.Namespace, settings: Settings) -> int:
    day = args.day or dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    async with open_services(settings, with_analytics=True) as services:
        written = await do_rollup_day(services, day)
    print(f"rollup {day}: {written} tenants")
    return 0


async def run_dashboard_link(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        async with services.db.connect() as conn:
            tenant = await select_tenant_by_slug(conn, args.tenant)
        if tenant is None:
            print(f"no store with slug {args.tenant!r}")
            return 1
        token, _ = sign_link_token(services.keyring, tenant.id)
    print(dashboard_url(settings, tenant.slug, token))  # the platform's public URL, never the origin's bind address
    return 0
