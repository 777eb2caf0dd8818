"""Relational migrations (Alembic) on the open engine, for both backends.

Alembic runs synchronously inside ``run_sync`` on the async engine's connection,
so MySQL and SQLite take the same path; the version table lives in astro_primary.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from origin import db
from origin.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection, schema_prefix: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    config.attributes["schema_names"] = db.schema_names(schema_prefix)
    return config


async def prepare_databases(settings: Settings) -> None:
    """MySQL needs its three databases to exist before Alembic can connect to them."""
    if not settings.uses_embedded_database:
        await db.create_mysql_databases(settings.effective_database_url, settings.database_schema_prefix)


async def upgrade(engine: AsyncEngine, schema_prefix: str, revision: str = "head") -> None:
    async with engine.begin() as conn, db.unbounded_reads(conn):
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync, schema_prefix), revision))


async def downgrade(engine: AsyncEngine, schema_prefix: str, revision: str = "base") -> None:
    async with engine.begin() as conn, db.unbounded_reads(conn):
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync, schema_prefix), revision))


async def current_revision(engine: AsyncEngine, schema_prefix: str) -> str | None:
    version_schema = db.schema_names(schema_prefix)[db.ASTRO_PRIMARY]

    def read(sync) -> str | None:
        context = MigrationContext.configure(sync, opts={"version_table_schema": version_schema})
        return context.get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(None, ""))
    return script.get_current_head()
