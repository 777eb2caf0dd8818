"""The engine for both backends, and the MySQL databases behind the three schemas."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import weakref
from pathlib import Path
from typing import AsyncIterator

import aiomysql
import pymysql
from pymysql.constants import SERVER_STATUS
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from origin.db.schema import SCHEMAS


def schema_names(prefix: str) -> dict[str, str]:
    """Logical schema -> real database (MySQL) or attached file alias (SQLite)."""
    return {schema: f"{prefix}{schema}" for schema in SCHEMAS}


def sqlite_directory(url: sa.engine.URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise ValueError("the embedded database needs a file path, not :memory:")
    return Path(database).resolve().parent


class BoundedReadConnection(aiomysql.Connection):
    """An aiomysql connection whose every read from the server is bounded (PyMySQL's ``read_timeout``).

    aiomysql has no read timeout: a MariaDB that accepts connections and never
    answers (a wedged server, a network partition that drops packets, a proxy
    that stopped forwarding) holds the request, its pool connection and the
    pre-ping forever. A read that gets no byte within ``read_timeout`` seconds
    closes the connection and raises 2013 "Lost connection", exactly what a
    connection the server dropped raises: SQLAlchemy invalidates it, and the
    web layer answers 503 (origin/db/faults.py). The handshake reads go
    through here too, so connecting to such a server is bounded as well.
    The bound is per read, not per statement: a long result streams in many
    reads; only a statement whose first answer takes longer is cut (migrations
    lift the bound, see :func:`unbounded_reads`).
    """

    def __init__(self, *args, read_timeout: float | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    async def _read_bytes(self, num_bytes: int) -> bytes:
        # Bytes already in the reader's buffer come back without waiting, so they need no timer: a result
        # arrives in a few segments and is read in many small reads (a header and a payload per packet,
        # one packet per column), and arming and cancelling a timer for each cost more CPU than the read.
        reader = self._reader
        if self.read_timeout is None or (reader is not None and len(reader._buffer) >= num_bytes):
            return await super()._read_bytes(num_bytes)
        try:
            async with asyncio.timeout(self.read_timeout):
                return await super()._read_bytes(num_bytes)
        except TimeoutError:
            self.close()  # a half-read packet leaves the protocol unusable: this connection is done
            raise pymysql.err.OperationalError(
                pymysql.constants.CR.CR_SERVER_LOST,
                f"Lost connection to MySQL server during query (no answer within {self.read_timeout:g}s)",
            ) from None


async def _connect_bounded(read_timeout: float | None, *args, **kwargs) -> BoundedReadConnection:
    # What aiomysql.connect does, with the bounded connection class (SQLAlchemy's async_creator_fn hook).
    connection = BoundedReadConnection(*args, read_timeout=read_timeout, **kwargs)
    await connection._connect()
    return connection


@contextlib.asynccontextmanager
async def unbounded_reads(conn) -> AsyncIterator[None]:
    """Lift the read bound on one connection for a block (a migration's ALTER may run for minutes)."""
    raw = (await conn.get_raw_connection()).driver_connection
    previous = getattr(raw, "read_timeout", None)
    if isinstance(raw, BoundedReadConnection):
        raw.read_timeout = None
    try:
        yield
    finally:
        if isinstance(raw, BoundedReadConnection):
            raw.read_timeout = previous


def create_engine(
    url: str, schema_prefix: str = "", *, echo: bool = False, pool_size: int = 10, read_timeout_s: float | None = None
) -> AsyncEngine:
    """``read_timeout_s`` bounds every read from MariaDB (None: unbounded); SQLite ignores it (no network)."""
    parsed = sa.engine.make_url(url)
    names = schema_names(schema_prefix)
    if parsed.get_backend_name() == "sqlite":
        directory = sqlite_directory(parsed)
        directory.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, echo=echo, connect_args={"timeout": 30})
        _attach_sqlite_schemas(engine, directory, names)
    else:
        engine = create_async_engine(
            parsed.update_query_dict({"charset": "utf8mb4"}),
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_recycle=3600,
            # Not pool_pre_ping: _ping_if_idle (below) pings only a connection that sat idle, not one in use
            # a moment ago, a round trip saved per transaction under load.
            # The pool's reset is ours (_skip_reset_after_commit below): by default it sends a ROLLBACK
            # for every connection returned, even right after a COMMIT, one round trip per transaction.
            pool_reset_on_return=None,
            # READ COMMITTED, not InnoDB's REPEATABLE READ: each statement sees what other
            # transactions committed, so a read after an upsert that changed nothing (same
            # values) still finds the row a concurrent writer inserted, and no gap locks
            # turn concurrent webhook/sync upserts into deadlocks. Row locks (FOR UPDATE)
            # still serialize the writes that need it.
            isolation_level="READ COMMITTED",
            connect_args={
                "connect_timeout": 5,  # TCP connect; the handshake after it is bounded by read_timeout_s
                "async_creator_fn": functools.partial(_connect_bounded, read_timeout_s),
            },
        )
        event.listen(engine.sync_engine, "reset", _skip_reset_after_commit)
        event.listen(engine.sync_engine, "checkin", _note_checkin)
        event.listen(engine.sync_engine, "checkout", functools.partial(_ping_if_idle, engine.sync_engine.dialect))
    return engine.execution_options(schema_translate_map=names)


# A pooled connection returned longer ago than this is pinged before it is handed out (a MariaDB restart,
# a failover or wait_timeout may have closed it meanwhile: the pool then replaces every connection it holds).
# One returned more recently was answering a moment ago; under load every connection is, so no ping is paid.
# The price: a connection killed within this window fails its next statement (a 503, nothing written, the
# pool replaced) instead of being replaced silently. A restart takes longer than this.
PING_WHEN_IDLE_S = 0.1


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(dialect, dbapi_connection, record, _proxy) -> None:
    returned_at = record.info.get("returned_at")
    if returned_at is None or time.monotonic() - returned_at < PING_WHEN_IDLE_S:
        return  # new (its handshake just answered) or in use a moment ago
    try:
        dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            # As pool_pre_ping does: this one and every connection pooled before it are replaced.
            raise sa.exc.InvalidatePoolError() from error
        raise


def _skip_reset_after_commit(dbapi_connection, _record, reset_state) -> None:
    """Roll a returned MySQL connection back unless the server said it holds no transaction.

    Every OK packet carries the server's ``SERVER_STATUS_IN_TRANS`` flag (aiomysql keeps the
    last one): after a COMMIT or a ROLLBACK it is clear, and a second ROLLBACK would be a
    round trip that changes nothing. A connection returned with a transaction still open (a
    read-only block the Connection did not close, a failure mid-statement) is rolled back as
    the pool's default reset would; if that fails, the pool invalidates the connection.
    """
    if reset_state.terminate_only or not reset_state.asyncio_safe or reset_state.transaction_was_reset:
        return
    status = dbapi_connection.driver_connection.server_status  # None once the connection was closed
    if status is not None and not status & SERVER_STATUS.SERVER_STATUS_IN_TRANS:
        return
    dbapi_connection.rollback()


def _attach_sqlite_schemas(engine: AsyncEngine, directory: Path, names: dict[str, str]) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no branch - runs per connection
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        for real in names.values():
            cursor.execute(f"ATTACH DATABASE '{directory / (real + '.sqlite3')}' AS \"{real}\"")
            cursor.execute(f'PRAGMA "{real}".journal_mode = WAL')
        cursor.close()


async def create_mysql_databases(url: str, schema_prefix: str = "") -> None:
    """CREATE DATABASE for the three schemas (idempotent); MySQL only."""
    server = sa.engine.make_url(url).set(database=None)
    engine = create_async_engine(server)
    try:
        async with engine.begin() as conn:
            for real in schema_names(schema_prefix).values():
                await conn.exec_driver_sql(
                    f"CREATE DATABASE IF NOT EXISTS `{real}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
    finally:
        await engine.dispose()


async def drop_mysql_databases(url: str, schema_prefix: str) -> None:
    server = sa.engine.make_url(url).set(database=None)
    engine = create_async_engine(server)
    try:
        async with engine.begin() as conn:
            for real in schema_names(schema_prefix).values():
                await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{real}`")
    finally:
        await engine.dispose()


# SQLite takes one writer at a time; left to itself, a second writer waits in SQLite's busy handler, which
# backs off in sleeps of up to 100 ms. Queueing this process's hot writers (order placement, the email
# sender's claim and record, which run in the same process on the embedded default) on one asyncio lock
# instead makes them wait their turn at no cost. MySQL needs nothing of the kind: its row locks let
# unrelated writes overlap.
_sqlite_writers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def sqlite_writer_turn(engine: AsyncEngine):
    """``async with sqlite_writer_turn(services.db):`` around a write transaction: one at a time on SQLite, nothing on MySQL."""
    sync_engine = engine.sync_engine
    if sync_engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    lock = _sqlite_writers.get(sync_engine)
    if lock is None:
        lock = _sqlite_writers[sync_engine] = asyncio.Lock()
    return lock
