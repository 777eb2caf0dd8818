"""Alembic environment: runs on the connection ops.migrate hands it (MySQL or SQLite).

Tables carry logical schema names; the connection's schema_translate_map maps
them to real databases, so one set of migrations serves both backends and the
private databases tests use.
"""

from alembic import context

from origin import db, tables

config = context.config
connection = config.attributes["connection"]
names = config.attributes["schema_names"]

context.configure(
    connection=connection,
    target_metadata=tables.metadata,
    include_schemas=True,
    version_table_schema=names[db.ASTRO_PRIMARY],
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=lambda name, type_, parent: type_ != "schema" or name in names.values(),
)

with context.begin_transaction():
    context.run_migrations()
