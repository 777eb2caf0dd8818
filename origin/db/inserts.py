"""insert_returning_ids: rows of one tenant into a table in one statement, and their new ids in the rows' order."""

from __future__ import annotations

import functools
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_returning_ids(conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]], *, key: str) -> list[int]:
    """Insert ``rows`` (all of one tenant) and return their ids; ``key`` is a column unique per tenant.

    One row: the insert's own id. Several: MySQL hands back no ids of a multi-row insert it can be
    trusted with (innodb_autoinc_lock_mode 2 interleaves them), and MySQL 8 has no RETURNING, so
    the new rows are read back by their keys: two statements for any number of rows, one code path
    for MySQL, MariaDB and SQLite.
    """
    insert = _insert_of(table)
    if len(rows) == 1:
        return [int((await conn.execute(insert, rows[0])).inserted_primary_key[0])]
    await conn.execute(insert, list(rows))
    found = await conn.execute(_ids_by_key(table, key), {"b_tenant": rows[0]["tenant_id"], "b_keys": [row[key] for row in rows]})
    by_key = {row.key: row.id for row in found}
    return [by_key[row[key]] for row in rows]


# Built once per table (a hot path runs them): building a statement costs about as much CPU as executing it.
@functools.cache
def _insert_of(table: sa.Table) -> sa.Insert:
    return table.insert()


@functools.cache
def _ids_by_key(table: sa.Table, key: str) -> sa.Select:
    return sa.select(table.c.id, table.c[key].label("key")).where(
        table.c.tenant_id == sa.bindparam("b_tenant"), table.c[key].in_(sa.bindparam("b_keys", expanding=True))
    )
