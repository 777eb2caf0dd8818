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
import contextlib
import weakref
from typing import Any, AsyncIterator, Sequence

from clickhouse_connect.driver.exceptions import OperationalError

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.errors import ErrorKind

_locks: "weakref.WeakKeyDictionary[Any, asyncio.Lock]" = weakref.WeakKeyDictionary()


def _lock_for(client: Any) -> asyncio.Lock:
    lock = _locks.get(client)
    if lock is None:
        lock = _locks[client] = asyncio.Lock()
    return lock


@contextlib.asynccontextmanager
async def _turn(client: Any) -> AsyncIterator[None]:
    """The client's lock, and a ClickHouse that cannot be reached made the domain's "unavailable".

    clickhouse-connect raises OperationalError for a refused, reset or timed-out
    connection (a query ClickHouse rejects is a DatabaseError and stays one): the
    web layer answers that 503 with Retry-After instead of a 500, and the consumer
    retries it with backoff (it is not bad data) while events wait in their queue.
    """
    async with _lock_for(client):
        try:
            yield
        except OperationalError as error:
            raise AnalyticsError(
                AnalyticsErrorCode.ANALYTICS_UNAVAILABLE,
                "analytics (ClickHouse) is briefly unavailable; retry in a few seconds",
                kind=ErrorKind.UNAVAILABLE,
            ) from error


async def query_rows(client: Any, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple]:
    async with _turn(client):
        result = await asyncio.to_thread(client.query, sql, parameters=parameters)
    return list(result.result_rows)


async def command(client: Any, sql: str, parameters: dict[str, Any] | None = None) -> Any:
    async with _turn(client):
        return await asyncio.to_thread(client.command, sql, parameters=parameters)


async def insert_json_rows(
    client: Any, table: str, json_array: bytes, column_names: Sequence[str], *, deduplication_token: str
) -> None:
    """One INSERT of a JSON array of row objects (JSONEachRow), parsed by ClickHouse, not Python.

    A retry of the same rows with the same token is dropped by ClickHouse.
    """
    async with _turn(client):
        await asyncio.to_thread(
            client.raw_insert,
            table,
            list(column_names),
            insert_block=json_array,
            settings={"insert_deduplication_token": deduplication_token},
            fmt="JSONEachRow",
        )
