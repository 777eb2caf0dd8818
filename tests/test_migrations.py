"""Migrations: empty -> head -> empty on both backends, and head matches the declared tables (origin.tables)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ops import migrate
from origin import db
from origin.tables import metadata
from origin.settings import Settings


async def _table_names(engine, settings: Settings) -> set[str]:
    names = db.schema_names(settings.database_schema_prefix)

    def read(sync) -> set[str]:
        inspector = sa.inspect(sync)
        return {f"{logical}.{table}" for logical, real in names.items() for table in inspector.get_table_names(schema=real)}

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def _fresh_engine(settings: Settings, backend: str):
    if backend == "servers":
        prefix = settings.database_schema_prefix + "mig_"
        settings = settings.replace(database_schema_prefix=prefix)
        await db.drop_mysql_databases(settings.effective_database_url, prefix)
        await migrate.prepare_databases(settings)
    return settings, db.create_engine(settings.effective_database_url, settings.database_schema_prefix)


async def test_upgrade_to_head_then_downgrade_to_empty(settings: Settings, backend: str) -> None:
    settings, engine = await _fresh_engine(settings, backend)
    try:
        await migrate.upgrade(engine, settings.database_schema_prefix)

        tables = await _table_names(engine, settings)
        assert {f"{t.schema}.{t.name}" for t in metadata.sorted_tables} <= tables
        assert await migrate.current_revision(engine, settings.database_schema_prefix) == migrate.head_revision()

        await migrate.downgrade(engine, settings.database_schema_prefix)

        assert await _table_names(engine, settings) <= {"astro_primary.alembic_version"}
        assert await migrate.current_revision(engine, settings.database_schema_prefix) is None
    finally:
        await engine.dispose()
        if backend == "servers":
            await db.drop_mysql_databases(settings.effective_database_url, settings.database_schema_prefix)


def _translated_metadata(names: dict[str, str]) -> sa.MetaData:
    """The declared tables under their real database names (autogenerate ignores schema_translate_map)."""
    translated = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(
            translated,
            schema=names[table.schema],
            referred_schema_fn=lambda table, to_schema, constraint, referred_schema: names.get(referred_schema, referred_schema),
        )
    return translated


async def test_head_matches_the_declared_tables(settings: Settings, backend: str) -> None:
    settings, engine = await _fresh_engine(settings, backend)
    names = db.schema_names(settings.database_schema_prefix)
    try:
        await migrate.upgrade(engine, settings.database_schema_prefix)

        def diff(sync):
            context = MigrationContext.configure(
                sync,
                opts={
                    "include_schemas": True,
                    "compare_type": True,
                    "include_name": lambda name, type_, parent: type_ != "schema" or name in names.values(),
                    "include_object": lambda obj, name, type_, reflected, compare_to: name != "alembic_version",
                },
            )
            return compare_metadata(context, _translated_metadata(names))

        async with engine.connect() as conn:
            differences = await conn.run_sync(diff)

        assert differences == []
    finally:
        await engine.dispose()
        if backend == "servers":
            await db.drop_mysql_databases(settings.effective_database_url, settings.database_schema_prefix)
