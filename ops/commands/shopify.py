"""zelly shopify connect|sync|cancel."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from origin.services import open_services
from origin.settings import Settings
from origin.shopify import connections, runs
from origin.shopify.models import RUN_FINISHED_STATES
from origin.tenancy import queries
from origin.tenancy.errors import unknown_tenant
from workers.dispatch import open_task_queue
from workers.retry import RetryPolicy

# Embedded, the sync runs inside this command while an operator watches: one retry after
# the client's own HTTP retries, then the run fails and says why (`zelly deadletters
# replay` continues it from its cursor). With Redis the workers' own policy applies.
INTERACTIVE_RETRIES = RetryPolicy(max_attempts=2)

BAR_WIDTH = 30


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("shopify", help="connect a tenant to its Shopify store and sync the catalog")
    sub = parser.add_subparsers(dest="shopify_command", metavar="ACTION", required=True)
    connect = sub.add_parser("connect", help="store the shop domain, Admin API token and webhook secret (encrypted)")
    connect.add_argument("slug")
    connect.add_argument("--shop", required=True, help="<name>.myshopify.com")
    connect.add_argument("--token", required=True, help="Admin API access token")
    connect.add_argument("--webhook-secret", required=True, help="the app's webhook signing secret")
    connect.set_defaults(handler=connect_shop)
    sync = sub.add_parser("sync", help="run a catalog sync and show its progress")
    sync.add_argument("slug")
    sync.add_argument("--kind", choices=("full", "incremental", "bulk"), default="full")
    sync.set_defaults(handler=sync_shop)
    cancel = sub.add_parser("cancel", help="stop a queued or running catalog sync (what it committed stays)")
    cancel.add_argument("slug")
    cancel.add_argument("run_id", type=int)
    cancel.set_defaults(handler=cancel_sync)


async def _tenant_id(services, slug: str) -> int:
    async with services.db.connect() as conn:
        tenant = await queries.select_tenant_by_slug(conn, slug)
    if tenant is None:
        raise unknown_tenant(repr(slug))
    return tenant.id


async def connect_shop(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        connection = await connections.do_connect(
            services, await _tenant_id(services, args.slug),
            shop_domain=args.shop, access_token=args.token, webhook_secret=args.webhook_secret,
        )
    print(f"{args.slug}: connected to {connection.shop_domain}")
    return 0


def render_progress(run) -> str:
    # The total is unknown until the products phase ends; the bar fills by phase, the counts are exact.
    done = {"queued": 0, "running": 0.5, "succeeded": 1, "failed": 1, "cancelled": 1}[run.state]
    if run.state == "running" and run.cursor and not run.cursor.startswith(("products", "bulk-products")):
        done = 0.9
    filled = int(BAR_WIDTH * done)
    return (f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {run.state:<9} products {run.products_seen:>7} seen "
            f"{run.products_written:>7} written {run.products_deleted:>5} deleted  collections {run.collections_seen:>5}")


async def sync_shop(args: argparse.Namespace, settings: Settings) -> int:
    # The run's row says how it ended, in one line below; the task's tracebacks and retry
    # notes would only interleave with the progress bar (the dead letter keeps the error).
    for name in ("taskiq", "workers.retry", "origin.shopify.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    async with open_services(settings, with_analytics=False) as services:
        tenant_id = await _tenant_id(services, args.slug)
        async with open_task_queue(settings, services, queue_names=("SHOPIFY_CATALOG_SYNC",), retry_policy=INTERACTIVE_RETRIES):
            run = await runs.do_start_sync(services, tenant_id, args.kind)
            while run.state not in RUN_FINISHED_STATES:
                sys.stdout.write(render_progress(run))
                sys.stdout.flush()
                await asyncio.sleep(0.5)
                run = await runs.get_run(services, tenant_id, run.id)
    print(render_progress(run))
    if run.state != "succeeded":
        print(f"zelly: sync {run.id} {run.state}: {run.error}", file=sys.stderr)
        return 1
    return 0


async def cancel_sync(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        run = await runs.do_cancel_sync(services, await _tenant_id(services, args.slug), args.run_id)
    print(f"{args.slug}: sync {run.id} cancelled ({run.products_written} products written before it stopped)")
    return 0
