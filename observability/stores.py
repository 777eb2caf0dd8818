"""Timing (and, with tracing on, spans) of every SQL statement and Redis command a process sends.

SQL: SQLAlchemy's ``before_cursor_execute`` / ``after_cursor_execute`` events
on the engine, labelled by the statement's verb. Redis: the client's
``execute_command`` (every command of redis-py goes through it; a pipeline is
timed as one ``pipeline`` call), labelled by the command when it is one of
:data:`REDIS_COMMANDS`, else ``other``. Both cost a clock read and a
histogram observation per call; the labels are fixed, so the series are too.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from sqlalchemy import event

from observability import tracing
from observability.metrics import Metrics

SQL_VERBS = ("select", "insert", "update", "delete", "replace")
REDIS_COMMANDS = frozenset({
    "get", "set", "mget", "mset", "delete", "unlink", "exists", "expire", "pexpire", "incr", "incrby", "decr",
    "hget", "hset", "hgetall", "hdel", "hincrby", "sadd", "srem", "smembers", "zadd", "zrem", "zrange", "zrangebyscore",
    "zscan", "scan", "eval", "evalsha", "publish", "subscribe", "xadd", "xack", "xdel", "xlen", "xpending",
    "xreadgroup", "xautoclaim", "xclaim", "xinfo", "xgroup", "ping", "info", "flushdb",
})
_STARTED = "zelly_statement_started"


def instrument_engine(engine: Any, metrics: Metrics) -> None:
    """Time every statement of ``engine`` (an AsyncEngine or an Engine)."""
    sync_engine = getattr(engine, "sync_engine", engine)
    by_verb = {verb: metrics.db_seconds.labels(verb) for verb in (*SQL_VERBS, "other")}

    @event.listens_for(sync_engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        started = tracing.start_span("db.statement", {"db.statement": statement[:200]}) if tracing.is_enabled() else None
        conn.info.setdefault(_STARTED, []).append((time.perf_counter(), started))

    @event.listens_for(sync_engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, executemany) -> None:
        stack = conn.info.get(_STARTED)
        if not stack:
            return
        started_at, span = stack.pop()
        verb = statement.lstrip()[:7].split(None, 1)[0].lower() if statement else "other"
        by_verb.get(verb, by_verb["other"]).observe(time.perf_counter() - started_at)
        tracing.end_span(span)

    @event.listens_for(sync_engine, "handle_error")
    def failed(exception_context) -> None:
        conn = exception_context.connection
        stack = conn.info.get(_STARTED) if conn is not None else None
        if stack:
            _, span = stack.pop()
            tracing.end_span(span, exception_context.original_exception)


def instrument_redis(client: Any, metrics: Metrics) -> Any:
    """Time every command ``client`` (redis.asyncio.Redis) sends; returns the client."""
    histogram = metrics.redis_seconds
    by_command = {command: histogram.labels(command) for command in REDIS_COMMANDS}
    other = histogram.labels("other")
    pipeline_timer = histogram.labels("pipeline")
    execute_command = client.execute_command

    @functools.wraps(execute_command)
    async def timed(*args: Any, **options: Any) -> Any:
        name = args[0].lower() if args and isinstance(args[0], str) else "other"
        started = time.perf_counter()
        if tracing.is_enabled():
            with tracing.span("redis.command", {"db.system": "redis", "db.operation": name}):
                try:
                    return await execute_command(*args, **options)
                finally:
                    by_command.get(name, other).observe(time.perf_counter() - started)
        try:
            return await execute_command(*args, **options)
        finally:
            by_command.get(name, other).observe(time.perf_counter() - started)

    client.execute_command = timed  # this process's own client: every command method calls it
    original_pipeline = client.pipeline

    @functools.wraps(original_pipeline)
    def pipeline(*args: Any, **kwargs: Any) -> Any:
        created = original_pipeline(*args, **kwargs)
        execute = created.execute

        async def timed_execute(*execute_args: Any, **execute_kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await execute(*execute_args, **execute_kwargs)
            finally:
                pipeline_timer.observe(time.perf_counter() - started)

        created.execute = timed_execute
        return created

    client.pipeline = pipeline
    return client
