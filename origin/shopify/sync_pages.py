"""One page of a catalog sync, applied in one transaction with the run's resume point.

Used by both the paged sync (origin.shopify.sync) and the bulk sync
(origin.shopify.bulk), so neither imports the other's internals: sync -> bulk ->
sync_pages, and sync -> sync_pages. The catalog rows are written by
origin.catalog.external_sync; the cache purges go out after each page's commit.
"""

from __future__ import annotations

import sqlalchemy as sa

from origin.catalog import external_sync
from origin.catalog.inputs import ExternalCollection, ExternalProduct
from origin.catalog.tables import products
from origin.db import utcnow
from origin.invalidation import transaction
from origin.services import Services
from origin.shopify.models import RUN_RUNNING, SyncRun
from origin.shopify.tables import shopify_sync_runs, shopify_sync_seen

PHASE_PRODUCTS = "products"
PHASE_COLLECTIONS = "collections"
PHASE_PRUNE = "prune"


async def apply_products(services: Services, run: SyncRun, records: list[ExternalProduct], next_cursor: str, *, remember_seen: bool) -> None:
    """One page in one transaction: upserts, the seen-set, counts and the resume point."""
    async with transaction(services) as (conn, effects):
        applied = await external_sync.upsert_products(conn, run.tenant_id, records, effects)
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


async def apply_collections(services: Services, run: SyncRun, records: list[ExternalCollection], next_cursor: str) -> None:
    async with transaction(services) as (conn, effects):
        for record in records:
            await external_sync.upsert_collection(conn, run.tenant_id, record, effects)
        await _advance(conn, run, next_cursor, collections_seen=len(records))


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
    seen = sa.select(shopify_sync_seen.c.shopify_gid).where(shopify_sync_seen.c.run_id == run.id)
    deleted_at = run.started_at or utcnow()
    async with transaction(services) as (conn, effects):
        gone = (
            await conn.execute(
                sa.select(products.c.shopify_gid).where(
                    products.c.tenant_id == run.tenant_id, products.c.shopify_gid.is_not(None), products.c.shopify_gid.not_in(seen)
                )
            )
        ).scalars().all()
        for shopify_gid in gone:
            await external_sync.delete_product(conn, run.tenant_id, shopify_gid, deleted_at, effects)
        await conn.execute(shopify_sync_seen.delete().where(shopify_sync_seen.c.run_id == run.id))
        await _advance(conn, run, f"{PHASE_PRUNE}|done", products_deleted=len(gone))
    return len(gone)
