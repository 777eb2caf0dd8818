"""Settings push/fetch run rows (astro_primary.shopify_settings_runs): how each 202 ended.

The seller API answers a push or fetch with 202 and the run's Location; the
worker marks it running, then succeeded with the fields it wrote (push) or
adopted (fetch), or failed with Shopify's refusal. A task that dead-letters
after its retries fails its run with the last error (workers.job_outcomes),
and replaying the dead letter queues the same run again.
"""

from __future__ import annotations

from typing import Awaitable, Callable

import sqlalchemy as sa

from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.services import Services
from origin.shopify.connections import get_connection
from origin.shopify.errors import ShopifyError, ShopifyErrorCode
from origin.shopify.models import RUN_ACTIVE_STATES, RUN_FAILED, RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, SETTINGS_FETCH, SETTINGS_PUSH, SettingsRun
from origin.shopify.tables import shopify_settings_runs

PUSH_QUEUE, PUSH_TASK = "SHOPIFY_SETTINGS_PUSH", "shopify.push_settings"
FETCH_QUEUE, FETCH_TASK = "SHOPIFY_SETTINGS_FETCH", "shopify.fetch_settings"
TASKS = {SETTINGS_PUSH: (PUSH_QUEUE, PUSH_TASK), SETTINGS_FETCH: (FETCH_QUEUE, FETCH_TASK)}


def _from_row(row) -> SettingsRun:
    return SettingsRun(**{name: getattr(row, name) for name in SettingsRun.__dataclass_fields__})


async def get_settings_run(services: Services, tenant_id: int, run_id: int) -> SettingsRun:
    async with services.db.connect() as conn:
        row = (
            await conn.execute(
                sa.select(shopify_settings_runs).where(shopify_settings_runs.c.tenant_id == tenant_id, shopify_settings_runs.c.id == run_id)
            )
        ).first()
    if row is None:
        raise ShopifyError(ShopifyErrorCode.SETTINGS_RUN_NOT_FOUND, f"no settings run {run_id} for this store", kind=ErrorKind.NOT_FOUND)
    return _from_row(row)


async def do_queue_settings_run(services: Services, tenant_id: int, kind: str) -> SettingsRun:
    """Record a push or fetch and queue its task (refused when the store is not connected)."""
    await get_connection(services, tenant_id)
    queue, task = TASKS[kind]

    async def unqueued(error: Exception) -> None:  # nothing will run it: say so rather than stay queued
        await finish_settings_run(services, run_id, state=RUN_FAILED, error=f"could not be queued: {error}"[:1000])

    async with transaction(services) as (conn, effects):
        now = utcnow()
        result = await conn.execute(
            shopify_settings_runs.insert().values(tenant_id=tenant_id, kind=kind, state=RUN_QUEUED, created_at=now, updated_at=now)
        )
        run_id = int(result.inserted_primary_key[0])
        # Read before the commit, so the 202 shows the run as queued: after it a fast worker may already hold it.
        queued = _from_row((await conn.execute(sa.select(shopify_settings_runs).where(shopify_settings_runs.c.id == run_id))).one())
        effects.enqueue(queue, task, tenant_id=tenant_id, run_id=run_id, on_failure=unqueued)
    return queued


async def run_settings_task(
    services: Services, tenant_id: int, run_id: int | None, work: Callable[[], Awaitable[list[str]]],
) -> list[str]:
    """Run ``work`` as run ``run_id``: running, then succeeded with its fields, or failed with a permanent error.

    A transient error leaves the run running and propagates (the task retries);
    ``run_id`` is None for a message queued before runs were recorded.
    """
    if run_id is not None:
        await _update(services, run_id, RUN_ACTIVE_STATES, state=RUN_RUNNING, started_at=utcnow())
    try:
        fields = await work()
    except ShopifyError as error:
        if run_id is not None and not getattr(error, "is_transient", False):
            await finish_settings_run(services, run_id, state=RUN_FAILED, error=error.message)
        raise
    if run_id is not None:
        await finish_settings_run(services, run_id, state=RUN_SUCCEEDED, fields=fields)
    return fields


async def finish_settings_run(services: Services, run_id: int, *, state: str, **values) -> None:
    if "error" in values and values["error"] is not None:
        values["error"] = values["error"][:1000]
    await _update(services, run_id, RUN_ACTIVE_STATES, state=state, finished_at=utcnow(), **values)


async def reopen_for_replay(services: Services, tenant_id: int, run_id: int) -> None:
    """A replayed dead letter runs its run again: failed -> queued."""
    async with services.db.begin() as conn:
        await conn.execute(
            shopify_settings_runs.update()
            .where(shopify_settings_runs.c.tenant_id == tenant_id, shopify_settings_runs.c.id == run_id, shopify_settings_runs.c.state == RUN_FAILED)
            .values(state=RUN_QUEUED, error=None, finished_at=None, updated_at=utcnow())
        )


async def _update(services: Services, run_id: int, from_states: tuple[str, ...], **values) -> None:
    async with services.db.begin() as conn:
        await conn.execute(
            shopify_settings_runs.update()
            .where(shopify_settings_runs.c.id == run_id, shopify_settings_runs.c.state.in_(from_states))
            .values(updated_at=utcnow(), **values)
        )
