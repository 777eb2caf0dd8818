"""Catalog sync: full and incremental through paged Admin GraphQL, bulk via origin.shopify.bulk.

Each page is applied by origin.shopify.sync_pages (shared with bulk, which never
imports this module).

A run moves through phases, each page committed with the run's resume point:

    products (paged; incremental: updated_at > since)  ->  collections (+ membership)
    ->  prune (full and bulk only: products Shopify no longer has)  ->  succeeded

``cursor`` holds ``<phase>|<GraphQL endCursor>``. A worker killed mid-run
leaves the message unacknowledged; the stream redelivers it and the run
continues from the last committed page. Re-applying a page is harmless (the
upserts are idempotent), so the worst case is one page done twice.
"""

from __future__ import annotations

import logging

from origin.db import utcnow
from origin.services import Services
from origin.shopify import documents
from origin.shopify.bulk import run_bulk_sync
from origin.shopify.client import AdminClient
from origin.shopify.connections import get_connection
from origin.shopify.errors import ShopifyError
from origin.shopify.mapping import collection_from_node, product_from_node
from origin.shopify.models import RUN_ACTIVE_STATES, RUN_FAILED, RUN_FINISHED_STATES, RUN_RUNNING, RUN_SUCCEEDED, SYNC_BULK, SYNC_FULL, SyncRun
from origin.shopify.runs import get_run, update_run
from origin.shopify.sync_pages import (
    PHASE_COLLECTIONS,
    PHASE_PRODUCTS,
    PHASE_PRUNE,
    SyncStopped,
    apply_collections,
    apply_products,
    prune_unseen,
)
from origin.shopify.tables import shopify_connections, shopify_sync_runs

log = logging.getLogger(__name__)


def make_client(services: Services, connection) -> AdminClient:
    settings = services.settings
    return AdminClient(
        services.http,
        shop_domain=connection.shop_domain,
        access_token=connection.access_token,
        api_version=settings.shopify_api_version,
        api_base_url=settings.shopify_api_base_url,
        metrics=services.metrics,
        **services.shopify_client_options,  # tests shorten the HTTP retry backoff
    )


def split_cursor(cursor: str | None) -> tuple[str, str | None]:
    if not cursor:
        return PHASE_PRODUCTS, None
    phase, _, after = cursor.partition("|")
    return phase, after or None


async def run_catalog_sync(services: Services, tenant_id: int, run_id: int, *, client: AdminClient | None = None) -> SyncRun:
    run = await get_run(services, tenant_id, run_id)
    if run.state in RUN_FINISHED_STATES:
        return run  # a redelivered message for a finished (or cancelled) run
    connection = await get_connection(services, tenant_id, require_connected=False)
    if not connection.is_connected:
        await update_run(services, run_id, state=RUN_FAILED, error="the shop is disconnected", finished_at=utcnow())
        return await get_run(services, tenant_id, run_id)
    # Only a queued or running run is taken: a cancel that lands meanwhile wins.
    if not await _take(services, run_id, started_at=run.started_at or utcnow()):
        return await get_run(services, tenant_id, run_id)
    client = client or make_client(services, connection)
    try:
        if run.kind == SYNC_BULK:
            await run_bulk_sync(services, client, await get_run(services, tenant_id, run_id))
        else:
            await _run_paged(services, client, await get_run(services, tenant_id, run_id))
    except ShopifyError as error:
        if getattr(error, "is_transient", False):
            raise  # the run stays running at its cursor; the task is retried with backoff
        await update_run(services, run_id, only_if_running=True, state=RUN_FAILED, error=error.message, finished_at=utcnow())
        raise
    except SyncStopped:
        return await get_run(services, tenant_id, run_id)
    finished = utcnow()
    if not await update_run(services, run_id, only_if_running=True, state=RUN_SUCCEEDED, cursor=None, finished_at=finished):
        return await get_run(services, tenant_id, run_id)
    async with services.db.begin() as conn:
        await conn.execute(shopify_connections.update().where(shopify_connections.c.tenant_id == tenant_id).values(last_synced_at=finished))
    return await get_run(services, tenant_id, run_id)


async def _take(services: Services, run_id: int, **values) -> bool:
    async with services.db.begin() as conn:
        result = await conn.execute(
            shopify_sync_runs.update().where(shopify_sync_runs.c.id == run_id, shopify_sync_runs.c.state.in_(RUN_ACTIVE_STATES))
            .values(state=RUN_RUNNING, updated_at=utcnow(), **values)
        )
    return result.rowcount > 0


async def _run_paged(services: Services, client: AdminClient, run: SyncRun) -> None:
    phase, after = split_cursor(run.cursor)
    prunes = run.kind == SYNC_FULL
    if phase == PHASE_PRODUCTS:
        search = f"updated_at:>'{run.since.strftime('%Y-%m-%dT%H:%M:%SZ')}'" if run.since else None
        while True:
            data = await client.execute(
                documents.PRODUCTS_PAGE, {"first": documents.PRODUCTS_FIRST, "after": after, "query": search},
                cost=documents.PRODUCTS_QUERY_COST,
            )
            connection = data["products"]
            records = [product_from_node(edge["node"]) for edge in connection["edges"]]
            has_next = connection["pageInfo"]["hasNextPage"]
            after = connection["pageInfo"]["endCursor"]
            next_cursor = f"{PHASE_PRODUCTS}|{after}" if has_next else f"{PHASE_COLLECTIONS}|"
            await apply_products(services, run, records, next_cursor, remember_seen=prunes)
            if not has_next:
                break
        phase, after = PHASE_COLLECTIONS, None
    if phase == PHASE_COLLECTIONS:
        while True:
            data = await client.execute(
                documents.COLLECTIONS_PAGE, {"first": documents.COLLECTIONS_FIRST, "after": after, "query": None},
                cost=documents.COLLECTIONS_QUERY_COST,
            )
            connection = data["collections"]
            nodes = [edge["node"] for edge in connection["edges"]]
            records = [collection_from_node(node, await _all_members(client, node)) for node in nodes]
            has_next = connection["pageInfo"]["hasNextPage"]
            after = connection["pageInfo"]["endCursor"]
            next_cursor = f"{PHASE_COLLECTIONS}|{after}" if has_next else f"{PHASE_PRUNE}|"
            await apply_collections(services, run, records, next_cursor)
            if not has_next:
                break
        phase = PHASE_PRUNE
    if phase == PHASE_PRUNE and prunes:
        await prune_unseen(services, run)


async def _all_members(client: AdminClient, node: dict) -> list[str]:
    members = [edge["node"]["id"] for edge in node["products"]["edges"]]
    page = node["products"]["pageInfo"]
    while page["hasNextPage"]:
        data = await client.execute(
            documents.COLLECTION_MEMBERS_PAGE, {"id": node["id"], "first": documents.MAX_FIRST, "after": page["endCursor"]},
            cost=documents.MEMBERS_QUERY_COST,
        )
        products_page = data["collection"]["products"]
        members.extend(edge["node"]["id"] for edge in products_page["edges"])
        page = products_page["pageInfo"]
    return members
