"""The shared relational kernel: one metadata, the column types, the engine.

One code path for MySQL (aiomysql) and the embedded SQLite (aiosqlite). The
three logical schemas of the platform Zelly replaces are three MySQL databases,
or three SQLite files attached to one connection:

- ``astro_primary``: tenants, API tokens, domains, catalog, orders, Shopify;
- ``ecom_store_front``: customers, sessions, addresses;
- ``backoffice``: daily per-tenant aggregates, task dead letters.

Tables carry the logical schema name; :func:`create_engine` maps it to the real
database name (``database_schema_prefix`` lets tests run in private databases).
No foreign key crosses a schema: SQLite cannot enforce one across attached files.

The tables themselves live with their domain (``origin/<domain>/tables.py``) and
register on :data:`metadata`; ``origin.tables`` imports every one of them, for
Alembic and for whoever creates the whole schema at once.

- ``schema``  metadata (with its naming convention) and the schema names;
- ``types``   Id, UTCDateTime, Money, LongText, utcnow and the common columns;
- ``engine``  create_engine (both backends), MySQL database create/drop;
- ``faults``  is_database_unavailable: a lost or refused connection, not a bad query;
- ``inserts`` insert_returning_ids: a batch of one tenant's rows and their new ids.

May import sqlalchemy (and aiomysql, whose reads engine.py bounds) only: every domain imports this package.
"""

from origin.db.engine import create_engine, create_mysql_databases, unbounded_reads, drop_mysql_databases, schema_names, sqlite_directory, sqlite_writer_turn
from origin.db.inserts import insert_returning_ids
from origin.db.schema import ASTRO_PRIMARY, BACKOFFICE, ECOM_STORE_FRONT, SCHEMAS, metadata
from origin.db.types import Id, LongText, Money, UTCDateTime, tenant_id_column, timestamps, utcnow

__all__ = [
    "ASTRO_PRIMARY",
    "BACKOFFICE",
    "ECOM_STORE_FRONT",
    "SCHEMAS",
    "Id",
    "LongText",
    "Money",
    "UTCDateTime",
    "create_engine",
    "create_mysql_databases",
    "drop_mysql_databases",
    "insert_returning_ids",
    "metadata",
    "schema_names",
    "sqlite_directory",
    "sqlite_writer_turn",
    "tenant_id_column",
    "timestamps",
    "utcnow",
]
