"""Running clickhouse-connect calls off the event loop, one at a time per client.

chDB has no async client and clickhouse-connect's HTTP client is synchronous,
so every call goes through ``asyncio.to_thread``. One client is one chDB
connection handle (or one HTTP session id), which must not run two statements
at once, so calls on the same client queue on an asyncio lock instead of
occupying several executor threads that would only wait on each other.
A ClickHouse server past one process can take a second client for the
consumer (see ``runtime``) so inserts never wait behind dashboard queries.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Sequence

_locks: "weakref.WeakKeyDictionary[Any, asyncio.Lock]" = weakref.WeakKeyDictionary()


def _lock_for(client: Any) -> asyncio.Lock:
    lock = _locks.get(client)
    if lock is None:
        lock = _locks[client] = asyncio.Lock()
    return lock


async def query_rows(client: Any, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple]:
    async with _lock_for(client):
        result = await asyncio.to_thread(client.query, sql, parameters=parameters)
    return list(result.result_rows)


async def command(client: Any, sql: str, parameters: dict[str, Any] | None = None) -> Any:
    async with _lock_for(client):
        return await asyncio.to_thread(client.command, sql, parameters=parameters)


async def insert_json_rows(
    client: Any, table: str, json_array: bytes, column_names: Sequence[str], *, deduplication_token: str
) -> None:
    """One INSERT of a JSON array of row objects (JSONEachRow), parsed by ClickHouse, not Python.

    A retry of the same rows with the same token is dropped by ClickHouse.
    """
    async with _lock_for(client):
        await asyncio.to_thread(
            client.raw_insert,
            table,
            list(column_names),
            insert_block=json_array,
            settings={"insert_deduplication_token": deduplication_token},
            fmt="JSONEachRow",
        )
