"""zelly tenant create|list|suspend|resume|token."""

from __future__ import annotations

import argparse

from origin.services import open_services
from origin.settings import Settings, parse_bind
from origin.tenancy import actions, queries
from origin.tenancy.resolution import platform_host, public_base_url
from origin.tenancy.errors import unknown_tenant


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tenant", help="create and manage tenants (merchants)")
    sub = parser.add_subparsers(dest="tenant_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="create a tenant; prints its id and a fresh API token (shown once)")
    create.add_argument("--slug", required=True, help="subdomain: <slug>.<ZELLY_PLATFORM_DOMAIN>")
    create.add_argument("--name", required=True, help="store name shown to shoppers")
    create.add_argument("--currency", default="USD", help="ISO 4217 code (default: USD)")
    create.add_argument("--locale", default=None, help="display locale such as en-US (default: by currency)")
    create.set_defaults(handler=create_tenant)

    listing = sub.add_parser("list", help="list tenants")
    listing.set_defaults(handler=list_tenants)

    for name, handler, text in (
        ("suspend", suspend_tenant, "suspend a store: shoppers get 503, certificates are refused"),
        ("resume", resume_tenant, "resume a suspended store"),
        ("token", issue_token, "issue another API token for a tenant (shown once)"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("slug")
        command.set_defaults(handler=handler)


async def create_tenant(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        tenant = await actions.do_create_tenant(
            services, slug=args.slug, name=args.name, currency=args.currency, locale=args.locale
        )
        issued = await actions.do_issue_api_token(services, tenant.id)
    host = platform_host(settings, tenant.slug)
    origin_port = parse_bind(settings.origin_bind)[1]
    print(f"tenant id: {tenant.id}")
    print(f"slug:      {tenant.slug}")
    # Both with their ports (issue 20, item 5): Caddy's public URL, and the origin's own listener.
    print(f"store:     {public_base_url(settings, host)}/  (the origin itself: http://{host}:{origin_port}/)")
    print(f"currency:  {tenant.currency}")
    print(f"api token: {issued.token}")
    print("           (shown once; only its hash is stored)")
    return 0


async def list_tenants(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        async with services.db.connect() as conn:
            tenants = await queries.select_tenants(conn)
    print(f"{'ID':>5}  {'SLUG':<20} {'CURRENCY':<8} {'STATUS':<10} NAME")
    for tenant in tenants:
        print(f"{tenant.id:>5}  {tenant.slug:<20} {tenant.currency:<8} {tenant.status:<10} {tenant.name}")
    return 0


async def _tenant_by_slug(services, slug: str):
    async with services.db.connect() as conn:
        tenant = await queries.select_tenant_by_slug(conn, slug)
    if tenant is None:
        raise unknown_tenant(repr(slug))
    return tenant


async def suspend_tenant(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        tenant = await actions.do_suspend_tenant(services, (await _tenant_by_slug(services, args.slug)).id)
    print(f"{tenant.slug}: {tenant.status}")
    return 0


async def resume_tenant(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        tenant = await actions.do_resume_tenant(services, (await _tenant_by_slug(services, args.slug)).id)
    print(f"{tenant.slug}: {tenant.status}")
    return 0


async def issue_token(args: argparse.Namespace, settings: Settings) -> int:
    async with open_services(settings, with_analytics=False) as services:
        issued = await actions.do_issue_api_token(services, (await _tenant_by_slug(services, args.slug)).id)
    print(f"api token: {issued.token}")
    return 0
