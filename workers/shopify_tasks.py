"""The Shopify tasks, added to a broker by the deployment modules (and by dispatch in-process).

Each task takes ids and plain payloads, gets Services by injection, and calls
an origin.shopify action. Failures are classified by workers.retry.
"""

from __future__ import annotations

import sqlalchemy as sa
from taskiq import AsyncBroker, TaskiqDepends

from origin.shopify.tables import shopify_connections, shopify_sync_runs
from origin.services import Services
from origin.shopify import processing, settings_runs, shop_settings, sync
from origin.shopify.connections import get_connection
from origin.shopify.errors import ShopifyError
from origin.shopify.models import RUN_ACTIVE_STATES, SYNC_INCREMENTAL
from origin.shopify.runs import SYNC_TASK, do_start_sync
from origin.shopify.webhooks import PROCESS_TASK
from workers.runtime import task_services

from origin.shopify.settings_runs import FETCH_TASK, PUSH_TASK
SCHEDULE_TASK = "shopify.schedule_incremental_syncs"
INCREMENTAL_EVERY = "*/15 * * * *"


async def process_webhook(
    tenant_id: int, webhook_id: str, topic: str, body: str, triggered_at: str | None = None,
    services: Services = TaskiqDepends(task_services),
) -> str:
    return await processing.process_delivery(
        services, tenant_id=tenant_id, webhook_id=webhook_id, topic=topic, body=body, triggered_at=triggered_at
    )


async def run_catalog_sync(tenant_id: int, run_id: int, services: Services = TaskiqDepends(task_services)) -> str:
    run = await sync.run_catalog_sync(services, tenant_id, run_id)
    return run.state


async def push_settings(tenant_id: int, run_id: int | None = None, services: Services = TaskiqDepends(task_services)) -> list[str]:
    async def push() -> list[str]:
        client = sync.make_client(services, await get_connection(services, tenant_id))
        return [change.field for change in await shop_settings.push_settings(services, tenant_id, client)]

    return await settings_runs.run_settings_task(services, tenant_id, run_id, push)


async def fetch_settings(tenant_id: int, run_id: int | None = None, services: Services = TaskiqDepends(task_services)) -> list[str]:
    async def fetch() -> list[str]:
        client = sync.make_client(services, await get_connection(services, tenant_id))
        shop = await shop_settings.fetch_settings(services, tenant_id, client)
        return ["name", "contact_email"] if shop["contact_email"] else ["name"]

    return await settings_runs.run_settings_task(services, tenant_id, run_id, fetch)


async def schedule_incremental_syncs(services: Services = TaskiqDepends(task_services)) -> int:
    """The scheduler's job: an incremental run for every connected shop without an active run."""
    async with services.db.connect() as conn:
        busy = sa.select(shopify_sync_runs.c.tenant_id).where(shopify_sync_runs.c.state.in_(RUN_ACTIVE_STATES))
        tenant_ids = (
            await conn.execute(
                sa.select(shopify_connections.c.tenant_id).where(
                    shopify_connections.c.status == "connected", shopify_connections.c.tenant_id.not_in(busy)
                )
            )
        ).scalars().all()
    started = 0
    for tenant_id in tenant_ids:
        try:
            await do_start_sync(services, tenant_id, SYNC_INCREMENTAL)
            started += 1
        except ShopifyError:  # raced with a run started meanwhile: that run covers it
            continue
    return started


def register_webhook_tasks(broker: AsyncBroker) -> None:
    broker.register_task(process_webhook, task_name=PROCESS_TASK)


def register_catalog_sync_tasks(broker: AsyncBroker) -> None:
    broker.register_task(run_catalog_sync, task_name=SYNC_TASK, timeout=6 * 3600)
    broker.register_task(schedule_incremental_syncs, task_name=SCHEDULE_TASK, schedule=[{"cron": INCREMENTAL_EVERY}])


def register_settings_push_tasks(broker: AsyncBroker) -> None:
    broker.register_task(push_settings, task_name=PUSH_TASK)


def register_settings_fetch_tasks(broker: AsyncBroker) -> None:
    broker.register_task(fetch_settings, task_name=FETCH_TASK)
