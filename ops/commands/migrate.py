"""zelly migrate: bring every store's schema to head."""

from __future__ import annotations

import argparse

from ops import migrate as relational
from origin.analytics.schema import migrate_analytics
from origin.services import open_services
from origin.settings import Settings, redact_url

# Other stores' migrations (analytics) register here: async (services) -> str summary.
EXTRA_MIGRATIONS: list = []
EXTRA_MIGRATIONS.append(migrate_analytics)  # ClickHouse / chDB events schema (issue 7)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("migrate", help="apply database migrations (MySQL/SQLite and analytics)")
    parser.add_argument("--revision", default="head", help="relational target revision (default: head)")
    parser.set_defaults(handler=run)


async def migrate_all(settings: Settings, revision: str = "head", *, echo=print) -> None:
    await relational.prepare_databases(settings)
    async with open_services(settings, with_analytics=bool(EXTRA_MIGRATIONS), require_analytics=bool(EXTRA_MIGRATIONS)) as services:
        echo(f"relational: {redact_url(settings.effective_database_url)} -> {revision}")
        await relational.upgrade(services.db, settings.database_schema_prefix, revision)
        for migration in EXTRA_MIGRATIONS:
            echo(await migration(services))


async def run(args: argparse.Namespace, settings: Settings) -> int:
    await migrate_all(settings, args.revision)
    print("migrations: done")
    return 0
