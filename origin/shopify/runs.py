"""Sync run rows (astro_primary.shopify_sync_runs): create, read, progress, finish.

A run is queued by the seller API / CLI / scheduler, then owned by one
SHOPIFY_CATALOG_SYNC task. Its ``cursor`` is the resume point (a GraphQL page
cursor, or ``bulk:<lines applied>``); counts move forward with each committed page.

Every run ends (issue 12): succeeded; failed with the cause (a permanent error,
or the task dead-lettered after its retries: :func:`fail_dead_lettered_run`);
cancelled by the seller (:func:`do_cancel_sync`); or abandoned. ``updated_at`` is
the run's heartbeat (every committed page, every bulk poll); an active run that
has not moved for :data:`SYNC_LEASE` belongs to a worker that died without its
message coming back (a flushed Redis, a lost in-memory queue), and the next
start fails it instead of answering ``sync_running`` for ever. A worker still
holding such a run finds it no longer ``running`` at its next page and stops.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.services import Services
from origin.shopify.connections import get_connection
from origin.shopify.errors import ShopifyError, ShopifyErrorCode
from origin.shopify.models import (
    RUN_ACTIVE_STATES, RUN_CANCELLED, RUN_FAILED, RUN_QUEUED, RUN_RUNNING, SYNC_INCREMENTAL, SYNC_KINDS, SyncRun,
)
from origin.shopify.tables import shopify_sync_runs

SYNC_QUEUE = "SHOPIFY_CATALOG_SYNC"
SYNC_TASK = "shopify.run_catalog_sync"
# Longer than any quiet spell of a live run: the retry backoff between attempts is capped at
# 300 s (workers.retry.RetryPolicy) and a bulk wait heartbeats at every poll.
SYNC_LEASE = dt.timedelta(minutes=15)
COUNTERS = ("products_seen", "products_written", "products_deleted", "collections_seen")


def run_from_row(row) -> SyncRun:
    return SyncRun(**{name: getattr(row, name) for name in SyncRun.__dataclass_fields__})


async def select_run(conn: AsyncConnection, tenant_id: int, run_id: int) -> SyncRun | None:
    row = (
        await conn.execute(sa.select(shopify_sync_runs).where(shopify_sync_runs.c.tenant_id == tenant_id, shopify_sync_runs.c.id == run_id))
    ).first()
    return run_from_row(row) if row else None


async def get_run(services: Services, tenant_id: int, run_id: int) -> SyncRun:
    async with services.db.connect() as conn:
        run = await select_run(conn, tenant_id, run_id)
    if run is None:
        raise ShopifyError(ShopifyErrorCode.SYNC_NOT_FOUND, f"no sync run {run_id} for this store", kind=ErrorKind.NOT_FOUND)
    return run


async def select_latest_runs(conn: AsyncConnection, tenant_id: int, limit: int = 10) -> list[SyncRun]:
    rows = await conn.execute(
        sa.select(shopify_sync_runs).where(shopify_sync_runs.c.tenant_id == tenant_id).order_by(shopify_sync_runs.c.id.desc()).limit(limit)
    )
    return [run_from_row(row) for row in rows]


async def select_last_success(conn: AsyncConnection, tenant_id: int) -> SyncRun | None:
    row = (
        await conn.execute(
            sa.select(shopify_sync_runs)
            .where(shopify_sync_runs.c.tenant_id == tenant_id, shopify_sync_runs.c.state == "succeeded")
            .order_by(shopify_sync_runs.c.id.desc())
            .limit(1)
        )
    ).first()
    return run_from_row(row) if row else None


async def do_start_sync(services: Services, tenant_id: int, kind: str) -> SyncRun:
    """Queue a run; one active run per tenant (a second request gets the running one's 409)."""
    if kind not in SYNC_KINDS:
        raise ShopifyError(ShopifyErrorCode.INVALID_SYNC_KIND, f"kind must be one of {', '.join(SYNC_KINDS)}", field="kind")
    await get_connection(services, tenant_id)

    async def unqueued(error: Exception) -> None:  # a run no worker will take must not block the next one
        await update_run(services, run.id, state=RUN_FAILED, error=f"could not be queued: {error}"[:1000], finished_at=utcnow())

    async with transaction(services) as (conn, effects):
        active = (
            await conn.execute(
                sa.select(shopify_sync_runs.c.id, shopify_sync_runs.c.updated_at).where(
                    shopify_sync_runs.c.tenant_id == tenant_id, shopify_sync_runs.c.state.in_(RUN_ACTIVE_STATES)
                ).with_for_update()
            )
        ).first()
        if active is not None:
            if utcnow() - active.updated_at < SYNC_LEASE:
                raise ShopifyError(ShopifyErrorCode.SYNC_RUNNING, f"sync run {active.id} is still in progress", kind=ErrorKind.CONFLICT)
            await conn.execute(
                shopify_sync_runs.update().where(shopify_sync_runs.c.id == active.id).values(
                    state=RUN_FAILED, finished_at=utcnow(), updated_at=utcnow(),
                    error=f"abandoned: no progress since {active.updated_at:%Y-%m-%d %H:%M:%S} UTC (its worker stopped)",
                )
            )
        since = None
        if kind == SYNC_INCREMENTAL:
            last = await select_last_success(conn, tenant_id)
            since = last.started_at if last else None
        now = utcnow()
        result = await conn.execute(
            shopify_sync_runs.insert().values(tenant_id=tenant_id, kind=kind, state=RUN_QUEUED, since=since, created_at=now, updated_at=now)
        )
        run = await select_run(conn, tenant_id, int(result.inserted_primary_key[0]))
        effects.enqueue(SYNC_QUEUE, SYNC_TASK, tenant_id=tenant_id, run_id=run.id, on_failure=unqueued)
    return run


async def update_run(services: Services, run_id: int, *, only_if_running: bool = False, **values) -> bool:
    """Write the run; with ``only_if_running``, only while nothing (an uninstall) stopped it."""
    query = shopify_sync_runs.update().where(shopify_sync_runs.c.id == run_id)
    if only_if_running:
        query = query.where(shopify_sync_runs.c.state == "running")
    async with services.db.begin() as conn:
        result = await conn.execute(query.values(updated_at=utcnow(), **values))
    return result.rowcount > 0


async def fail_active_runs(services: Services, tenant_id: int, error: str) -> None:
    async with services.db.begin() as conn:
        await conn.execute(
            shopify_sync_runs.update()
            .where(shopify_sync_runs.c.tenant_id == tenant_id, shopify_sync_runs.c.state.in_(RUN_ACTIVE_STATES))
            .values(state=RUN_FAILED, error=error, finished_at=utcnow(), updated_at=utcnow())
        )


async def touch_run(services: Services, run_id: int) -> bool:
    """The heartbeat of a run that waits (a bulk operation): False once it is no longer running."""
    return await update_run(services, run_id, only_if_running=True)


async def do_cancel_sync(services: Services, tenant_id: int, run_id: int) -> SyncRun:
    """Stop a queued or running run; its worker drops the page in flight and ends at its next commit."""
    async with services.db.begin() as conn:
        result = await conn.execute(
            shopify_sync_runs.update()
            .where(shopify_sync_runs.c.tenant_id == tenant_id, shopify_sync_runs.c.id == run_id, shopify_sync_runs.c.state.in_(RUN_ACTIVE_STATES))
            .values(state=RUN_CANCELLED, error="cancelled by the seller", finished_at=utcnow(), updated_at=utcnow())
        )
    run = await get_run(services, tenant_id, run_id)  # 404 for another store's run
    if result.rowcount == 0:
        raise ShopifyError(ShopifyErrorCode.SYNC_FINISHED, f"sync run {run_id} already ended ({run.state})", kind=ErrorKind.CONFLICT)
    return run


async def fail_dead_lettered_run(services: Services, run_id: int, cause: str) -> None:
    """The run's task was given up on: the run ends failed with the last error, not ``running`` for ever."""
    async with services.db.begin() as conn:
        await conn.execute(
            shopify_sync_runs.update()
            .where(shopify_sync_runs.c.id == run_id, shopify_sync_runs.c.state.in_(RUN_ACTIVE_STATES))
            .values(state=RUN_FAILED, error=cause[:1000], finished_at=utcnow(), updated_at=utcnow())
        )


async def reopen_for_replay(services: Services, tenant_id: int, run_id: int) -> None:
    """A replayed dead letter continues its run from the cursor: failed -> queued again.

    Refused while another run of the store is active (one at a time, as in do_start_sync).
    """
    async with services.db.begin() as conn:
        active = (
            await conn.execute(
                sa.select(shopify_sync_runs.c.id).where(
                    shopify_sync_runs.c.tenant_id == tenant_id, shopify_sync_runs.c.state.in_(RUN_ACTIVE_STATES),
                    shopify_sync_runs.c.id != run_id,
                ).with_for_update()
            )
        ).scalar_one_or_none()
        if active is not None:
            raise ShopifyError(ShopifyErrorCode.SYNC_RUNNING, f"sync run {active} is in progress; replay this one after it", kind=ErrorKind.CONFLICT)
        await conn.execute(
            shopify_sync_runs.update()
            .where(shopify_sync_runs.c.tenant_id == tenant_id, shopify_sync_runs.c.id == run_id, shopify_sync_runs.c.state == RUN_FAILED)
            .values(state=RUN_QUEUED, error=None, finished_at=None, updated_at=utcnow())
        )
