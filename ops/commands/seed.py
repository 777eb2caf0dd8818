"""zelly seed --demo: three demo tenants with catalogs (deterministic, idempotent)."""

from __future__ import annotations

import argparse

from origin.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("seed", help="load demo data (three tenants, ~200 products each)")
    parser.add_argument("--demo", action="store_true", required=True, help="the demo tenants acme, nordic and kyoto")
    parser.set_defaults(handler=run)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from ops.seed import seed_demo
    from origin.services import open_services

    async with open_services(settings, with_analytics=False) as services:
        await seed_demo(services, echo=print)
    return 0
