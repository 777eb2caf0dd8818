"""Catalog sync: full and incremental through paged Admin GraphQL, bulk via origin.shopify.bulk.

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

import sqlalchemy as sa

from origin.db import products, shopify_connections, shopify_sync_runs, shopify_sync_seen, utcnow
from origin.invalidation import publish_purge
from origin.services import Services
from origin.shopify import catalog_writes, documents
from origin.shopify.catalog_writes import Purge
from origin.shopify.client import AdminClient
from origin.shopify.connections import get_connection
from origin.shopify.errors import ShopifyError
from origin.shopify.mapping import ProductRecord, collection_from_node, product_from_node
from origin.shopify.models import RUN_FAILED, RUN_RUNNING, RUN_SUCCEEDED, SYNC_BULK, SYNC_FULL, SyncRun
from origin.shopify.runs import get_run, update_run

log = logging.getLogger(__name__)

PHASE_PRODUCTS = "products"
PHASE_COLLECTIONS = "collections"
PHASE_PRUNE = "prune"


def make_client(services: Services, connection) -> AdminClient:
    settings = services.settings
    return AdminClient(
        services.http,
        shop_domain=connection.shop_domain,
        access_token=connection.access_token,
        api_version=settings.shopify_api_version,
        api_base_url=settings.shopify_api_base_url,
        **services.shopify_client_options,  # tests shorten the HTTP retry backoff
    )


def split_cursor(cursor: str | None) -> tuple[str, str | None]:
    if not cursor:
        return PHASE_PRODUCTS, None
    phase, _, after = cursor.partition("|")
    return phase, after or None


async def run_catalog_sync(services: Services, tenant_id: int, run_id: int, *, client: AdminClient | None = None) -> SyncRun:
    run = await get_run(services, tenant_id, run_id)
    if run.state in (RUN_SUCCEEDED, RUN_FAILED):
        return run  # a redelivered message for a finished run
    connection = await get_connection(services, tenant_id, require_connected=False)
    if not connection.is_connected:
        await update_run(services, run_id, state=RUN_FAILED, error="the shop is disconnected", finished_at=utcnow())
        return await get_run(services, tenant_id, run_id)
    await update_run(services, run_id, state=RUN_RUNNING, started_at=run.started_at or utcnow())
    client = client or make_client(services, connection)
    try:
        if run.kind == SYNC_BULK:
            from origin.shopify.bulk import run_bulk_sync

            await run_bulk_sync(services, client, await get_run(services, tenant_id, run_id))
        else:
            await _run_paged(services, client, await get_run(services, tenant_id, run_id))
    except ShopifyError as error:
        if getattr(error, "is_transient", False):
            raise  # the run stays running at its cursor; the task is retried with backoff
        await update_run(services, run_id, state=RUN_FAILED, error=error.message, finished_at=utcnow())
        raise
    except SyncStopped:
        return await get_run(services, tenant_id, run_id)
    finished = utcnow()
    if not await update_run(services, run_id, only_if_running=True, state=RUN_SUCCEEDED, cursor=None, finished_at=finished):
        return await get_run(services, tenant_id, run_id)
    async with services.db.begin() as conn:
        await conn.execute(shopify_connections.update().where(shopify_connections.c.tenant_id == tenant_id).values(last_synced_at=finished))
    return await get_run(services, tenant_id, run_id)


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


async def apply_products(services: Services, run: SyncRun, records: list[ProductRecord], next_cursor: str, *, remember_seen: bool) -> None:
    """One page in one transaction: upserts, the seen-set, counts and the resume point."""
    purge = Purge(run.tenant_id)
    async with services.db.begin() as conn:
        applied = await catalog_writes.upsert_products(conn, run.tenant_id, records, purge)
        written = sum(1 for product_id in applied.values() if product_id is not None)
        if remember_seen and records:
            gids = [record.gid for record in records]
            known = set(
                (await conn.execute(
                    sa.select(shopify_sync_seen.c.shopify_gid).where(shopify_sync_seen.c.run_id == run.id, shopify_sync_seen.c.shopify_gid.in_(gids))
                )).scalars()
            )
            fresh = [item for item in dict.fromkeys(gids) if item not in known]
            if fresh:
                await conn.execute(shopify_sync_seen.insert(), [{"run_id": run.id, "shopify_gid": item} for item in fresh])
        await _advance(conn, run, next_cursor, products_seen=len(records), products_written=written)
    if purge.tags:
        await publish_purge(services, run.tenant_id, purge.unique_tags)


async def apply_collections(services: Services, run: SyncRun, records: list, next_cursor: str) -> None:
    purge = Purge(run.tenant_id)
    async with services.db.begin() as conn:
        for record in records:
            await catalog_writes.upsert_collection(conn, run.tenant_id, record, purge)
        await _advance(conn, run, next_cursor, collections_seen=len(records))
    if purge.tags:
        await publish_purge(services, run.tenant_id, purge.unique_tags)


class SyncStopped(Exception):
    """The run was stopped from outside (app/uninstalled failed it): drop the page, end quietly."""


async def _advance(conn, run: SyncRun, next_cursor: str, **increments: int) -> None:
    """Counts and resume point, in the page's transaction; a stopped run rolls the page back."""
    values = {name: getattr(shopify_sync_runs.c, name) + amount for name, amount in increments.items()}
    result = await conn.execute(
        shopify_sync_runs.update()
        .where(shopify_sync_runs.c.id == run.id, shopify_sync_runs.c.state == RUN_RUNNING)
        .values(cursor=next_cursor, updated_at=utcnow(), **values)
    )
    if result.rowcount == 0:
        raise SyncStopped(run.id)


async def prune_unseen(services: Services, run: SyncRun) -> int:
    """End of a full sync: products from Shopify that this run did not see were deleted there."""
    purge = Purge(run.tenant_id)
    seen = sa.select(shopify_sync_seen.c.shopify_gid).where(shopify_sync_seen.c.run_id == run.id)
    deleted_at = run.started_at or utcnow()
    async with services.db.begin() as conn:
        gone = (
            await conn.execute(
                sa.select(products.c.shopify_gid).where(
                    products.c.tenant_id == run.tenant_id, products.c.shopify_gid.is_not(None), products.c.shopify_gid.not_in(seen)
                )
            )
        ).scalars().all()
        for shopify_gid in gone:
            await catalog_writes.delete_product(conn, run.tenant_id, shopify_gid, deleted_at, purge)
        await conn.execute(shopify_sync_seen.delete().where(shopify_sync_seen.c.run_id == run.id))
        await _advance(conn, run, f"{PHASE_PRUNE}|done", products_deleted=len(gone))
    if purge.tags:
        await publish_purge(services, run.tenant_id, purge.unique_tags)
    return len(gone)
