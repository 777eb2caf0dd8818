"""Catalog writes from an external catalog (Shopify): order-safe, idempotent, keyed by its GID.

Rules (issue 6, "Processing"):

- the row is found by (tenant_id, shopify_gid); the database's unique key on
  that pair makes a concurrent double insert fail (retried, then it updates);
- an older ``updated_at`` never overwrites a newer one (equal re-applies: same data);
- a delete leaves a tombstone, so an update older than the delete that arrives
  after it is dropped; a delete of an unknown product is only that tombstone;
- the denormalized listing fields (price_min/max, is_available, ...) are
  recomputed from the variants in the same transaction by
  ``origin.catalog.actions.recompute_product_summaries``.

Each function takes an open transaction (``conn``) and the transaction's
:class:`~origin.invalidation.AfterCommit`, into which it puts the tags to purge;
none of them commits or purges itself. Shopify (origin/shopify/processing.py,
sync_pages.py, compliance.py) is the caller: it maps its documents to the
``External*`` inputs of origin.catalog.inputs and calls in here.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from edge import tags as cache_tags
from origin.catalog.actions import recompute_product_summaries
from origin.catalog.inputs import ExternalCollection, ExternalProduct, ExternalVariant
from origin.catalog.tables import collection_products, collections, product_images, products, shopify_inventory_items, shopify_tombstones, variants
from origin.db import utcnow
from origin.invalidation import AfterCommit


async def _tombstone_time(conn: AsyncConnection, tenant_id: int, shopify_gid: str) -> dt.datetime | None:
    query = sa.select(shopify_tombstones.c.deleted_at).where(
        shopify_tombstones.c.tenant_id == tenant_id, shopify_tombstones.c.shopify_gid == shopify_gid
    )
    return (await conn.execute(query)).scalar_one_or_none()


async def _write_tombstone(conn: AsyncConnection, tenant_id: int, shopify_gid: str, deleted_at: dt.datetime) -> None:
    current = await _tombstone_time(conn, tenant_id, shopify_gid)
    if current is None:
        await conn.execute(shopify_tombstones.insert().values(tenant_id=tenant_id, shopify_gid=shopify_gid, deleted_at=deleted_at))
    elif deleted_at > current:
        await conn.execute(
            shopify_tombstones.update()
            .where(shopify_tombstones.c.tenant_id == tenant_id, shopify_tombstones.c.shopify_gid == shopify_gid)
            .values(deleted_at=deleted_at)
        )


async def _free_handle(conn: AsyncConnection, table: sa.Table, tenant_id: int, handle: str, shopify_gid: str) -> str:
    """The handle, or handle-<id> when another row of the tenant already uses it."""
    query = sa.select(table.c.id).where(
        table.c.tenant_id == tenant_id,
        table.c.handle == handle,
        sa.or_(table.c.shopify_gid.is_(None), table.c.shopify_gid != shopify_gid),
    )
    if (await conn.execute(query)).first() is None:
        return handle
    return f"{handle}-{shopify_gid.rsplit('/', 1)[-1]}"[:255]


async def _collection_tags(conn: AsyncConnection, tenant_id: int, product_id: int) -> list[str]:
    rows = await conn.execute(
        sa.select(collection_products.c.collection_id).where(
            collection_products.c.tenant_id == tenant_id, collection_products.c.product_id == product_id
        )
    )
    return [cache_tags.collection_tag(tenant_id, collection_id) for (collection_id,) in rows]


async def upsert_product(conn: AsyncConnection, tenant_id: int, record: ExternalProduct, effects: AfterCommit) -> int | None:
    """Insert or update one product with its variants and images; None when the record is stale."""
    return (await upsert_products(conn, tenant_id, [record], effects))[record.gid]


def _product_values(record: ExternalProduct, handle: str, now) -> dict:
    return dict(
        handle=handle, title=record.title, description_html=record.description_html, vendor=record.vendor,
        product_type=record.product_type, tags=",".join(record.tags)[:1000], status=record.status,
        option1_name=record.option_names[0], option2_name=record.option_names[1], option3_name=record.option_names[2],
        shopify_updated_at=record.updated_at, published_at=record.published_at, updated_at=now,
    )


async def upsert_products(conn: AsyncConnection, tenant_id: int, records: list[ExternalProduct], effects: AfterCommit) -> dict[str, int | None]:
    """A page of products in a fixed number of statements (plus two per product for the summaries).

    Returns GID -> product id, or None for a record that was stale (older than the
    row or than its tombstone). The same rules as one at a time, batched: a sync
    page of 250 products would otherwise be thousands of round trips.
    """
    latest: dict[str, ExternalProduct] = {}
    for record in records:  # a page may repeat a product; the newest version wins
        if record.gid not in latest or record.updated_at >= latest[record.gid].updated_at:
            latest[record.gid] = record
    gids = list(latest)
    result: dict[str, int | None] = {gid: None for gid in gids}
    if not gids:
        return result
    tombstones = dict((await conn.execute(
        sa.select(shopify_tombstones.c.shopify_gid, shopify_tombstones.c.deleted_at)
        .where(shopify_tombstones.c.tenant_id == tenant_id, shopify_tombstones.c.shopify_gid.in_(gids))
    )).all())
    existing = {row.shopify_gid: row for row in await conn.execute(
        sa.select(products.c.id, products.c.shopify_gid, products.c.shopify_updated_at)
        .where(products.c.tenant_id == tenant_id, products.c.shopify_gid.in_(gids))
        .with_for_update()
    )}
    fresh = []
    for gid, record in latest.items():
        if gid in tombstones and tombstones[gid] >= record.updated_at:
            continue
        row = existing.get(gid)
        if row is not None and row.shopify_updated_at is not None and row.shopify_updated_at > record.updated_at:
            continue
        fresh.append(record)
    if not fresh:
        return result
    taken = {
        row.handle for row in await conn.execute(
            sa.select(products.c.handle, products.c.shopify_gid).where(
                products.c.tenant_id == tenant_id, products.c.handle.in_([record.handle for record in fresh])
            )
        )
        if row.shopify_gid is None or row.shopify_gid not in latest or latest[row.shopify_gid].handle != row.handle
    }
    now = utcnow()
    inserts, updates = [], []
    for record in fresh:
        handle = record.handle if record.handle not in taken else f"{record.handle}-{record.gid.rsplit('/', 1)[-1]}"[:255]
        values = _product_values(record, handle, now)
        if record.gid in existing:
            updates.append({"b_id": existing[record.gid].id, **values})
        else:
            inserts.append({"tenant_id": tenant_id, "shopify_gid": record.gid, "created_at": now, **values})
    if inserts:
        await conn.execute(products.insert(), inserts)
    if updates:
        await conn.execute(products.update().where(products.c.id == sa.bindparam("b_id")), updates)
    ids = dict((await conn.execute(
        sa.select(products.c.shopify_gid, products.c.id)
        .where(products.c.tenant_id == tenant_id, products.c.shopify_gid.in_([record.gid for record in fresh]))
    )).all())
    product_ids = [ids[record.gid] for record in fresh]
    await _replace_variants(conn, tenant_id, {ids[record.gid]: record.variants for record in fresh}, now)
    await recompute_product_summaries(conn, tenant_id, product_ids)
    await conn.execute(product_images.delete().where(product_images.c.tenant_id == tenant_id, product_images.c.product_id.in_(product_ids)))
    images = [
        dict(tenant_id=tenant_id, product_id=ids[record.gid], url=image.url[:2048], alt=image.alt[:512],
             width=image.width, height=image.height, position=image.position, shopify_gid=image.gid, created_at=now)
        for record in fresh for image in record.images
    ]
    if images:
        await conn.execute(product_images.insert(), images)
    revived = [record.gid for record in fresh if record.gid in tombstones]  # older tombstones: Shopify knows them again
    if revived:
        await conn.execute(
            shopify_tombstones.delete().where(shopify_tombstones.c.tenant_id == tenant_id, shopify_tombstones.c.shopify_gid.in_(revived))
        )
    memberships = await conn.execute(
        sa.select(collection_products.c.collection_id).distinct().where(
            collection_products.c.tenant_id == tenant_id, collection_products.c.product_id.in_(product_ids)
        )
    )
    effects.purge(tenant_id, *(cache_tags.product_tag(tenant_id, product_id) for product_id in product_ids))
    effects.purge(tenant_id, *(cache_tags.collection_tag(tenant_id, collection_id) for (collection_id,) in memberships))
    result.update({record.gid: ids[record.gid] for record in fresh})
    return result


async def _replace_variants(conn: AsyncConnection, tenant_id: int, wanted_by_product: dict[int, tuple[ExternalVariant, ...]], now) -> None:
    """Update variants in place by GID (their ids stay stable for carts), add new ones, drop the rest."""
    rows = await conn.execute(
        sa.select(variants.c.id, variants.c.shopify_gid, variants.c.product_id)
        .where(variants.c.tenant_id == tenant_id, variants.c.product_id.in_(list(wanted_by_product)))
    )
    by_key = {(row.product_id, row.shopify_gid): row.id for row in rows}
    wanted = {(product_id, record.gid) for product_id, records in wanted_by_product.items() for record in records}
    stale = [variant_id for key, variant_id in by_key.items() if key not in wanted]
    if stale:
        await conn.execute(variants.delete().where(variants.c.tenant_id == tenant_id, variants.c.id.in_(stale)))
    inserts, updates, items = [], [], []
    for product_id, records in wanted_by_product.items():
        for record in records:
            values = dict(
                title=record.title, sku=record.sku, option1=record.options[0], option2=record.options[1], option3=record.options[2],
                price=record.price, compare_at_price=record.compare_at_price, position=record.position,
                inventory_quantity=record.inventory_quantity, inventory_policy=record.inventory_policy, updated_at=now,
            )
            if (product_id, record.gid) in by_key:
                updates.append({"b_id": by_key[(product_id, record.gid)], **values})
            else:
                inserts.append(dict(tenant_id=tenant_id, product_id=product_id, shopify_gid=record.gid, created_at=now, **values))
            if record.inventory_item_gid:
                items.append((record.inventory_item_gid, record.gid))
    if updates:
        await conn.execute(variants.update().where(variants.c.id == sa.bindparam("b_id")), updates)
    if inserts:
        await conn.execute(variants.insert(), inserts)
    if items:
        await conn.execute(
            shopify_inventory_items.delete().where(
                shopify_inventory_items.c.tenant_id == tenant_id,
                shopify_inventory_items.c.inventory_item_gid.in_([item for item, _ in items]),
            )
        )
        await conn.execute(
            shopify_inventory_items.insert(),
            [dict(tenant_id=tenant_id, inventory_item_gid=item, variant_gid=variant_gid) for item, variant_gid in items],
        )


async def delete_product(conn: AsyncConnection, tenant_id: int, shopify_gid: str, deleted_at: dt.datetime, effects: AfterCommit) -> int | None:
    """Remove the product (variants, images, memberships cascade); unknown GIDs only leave the tombstone."""
    await _write_tombstone(conn, tenant_id, shopify_gid, deleted_at)
    product_id = (
        await conn.execute(sa.select(products.c.id).where(products.c.tenant_id == tenant_id, products.c.shopify_gid == shopify_gid))
    ).scalar_one_or_none()
    if product_id is None:
        return None
    effects.purge(tenant_id, cache_tags.product_tag(tenant_id, product_id), *await _collection_tags(conn, tenant_id, product_id))
    await conn.execute(products.delete().where(products.c.tenant_id == tenant_id, products.c.id == product_id))
    return product_id


async def set_inventory(conn: AsyncConnection, tenant_id: int, inventory_item_gid: str, available: int, effects: AfterCommit) -> int | None:
    """inventory_levels/update: the variant's quantity and its product's is_available."""
    variant_gid = (
        await conn.execute(
            sa.select(shopify_inventory_items.c.variant_gid).where(
                shopify_inventory_items.c.tenant_id == tenant_id, shopify_inventory_items.c.inventory_item_gid == inventory_item_gid
            )
        )
    ).scalar_one_or_none()
    if variant_gid is None:
        return None
    row = (
        await conn.execute(
            sa.select(variants.c.id, variants.c.product_id).where(variants.c.tenant_id == tenant_id, variants.c.shopify_gid == variant_gid)
        )
    ).first()
    if row is None:
        return None
    await conn.execute(variants.update().where(variants.c.id == row.id).values(inventory_quantity=available, updated_at=utcnow()))
    await recompute_product_summaries(conn, tenant_id, [row.product_id])
    effects.purge(tenant_id, cache_tags.product_tag(tenant_id, row.product_id), *await _collection_tags(conn, tenant_id, row.product_id))
    return row.product_id


async def upsert_collection(conn: AsyncConnection, tenant_id: int, record: ExternalCollection, effects: AfterCommit) -> int | None:
    deleted_at = await _tombstone_time(conn, tenant_id, record.gid)
    if deleted_at is not None and deleted_at >= record.updated_at:
        return None
    existing = (
        await conn.execute(
            sa.select(collections.c.id, collections.c.shopify_updated_at)
            .where(collections.c.tenant_id == tenant_id, collections.c.shopify_gid == record.gid)
            .with_for_update()
        )
    ).first()
    if existing is not None and existing.shopify_updated_at is not None and existing.shopify_updated_at > record.updated_at:
        return None
    now = utcnow()
    values = dict(
        handle=await _free_handle(conn, collections, tenant_id, record.handle, record.gid),
        title=record.title, description_html=record.description_html, image_url=record.image_url,
        shopify_updated_at=record.updated_at, updated_at=now,
    )
    if existing is None:
        result = await conn.execute(collections.insert().values(tenant_id=tenant_id, shopify_gid=record.gid, created_at=now, **values))
        collection_id = int(result.inserted_primary_key[0])
    else:
        collection_id = existing.id
        await conn.execute(collections.update().where(collections.c.id == collection_id).values(**values))
    if record.product_gids is not None:
        await set_collection_products(conn, tenant_id, collection_id, list(record.product_gids))
    effects.purge(tenant_id, cache_tags.collection_tag(tenant_id, collection_id))
    return collection_id


async def set_collection_products(conn: AsyncConnection, tenant_id: int, collection_id: int, product_gids: list[str]) -> None:
    """Membership in Shopify's order; products Zelly does not have (yet) are skipped."""
    await conn.execute(
        collection_products.delete().where(collection_products.c.tenant_id == tenant_id, collection_products.c.collection_id == collection_id)
    )
    if not product_gids:
        return
    ids: dict[str, int] = {}
    for start in range(0, len(product_gids), 500):
        chunk = product_gids[start:start + 500]
        rows = await conn.execute(
            sa.select(products.c.shopify_gid, products.c.id).where(products.c.tenant_id == tenant_id, products.c.shopify_gid.in_(chunk))
        )
        ids.update({row.shopify_gid: row.id for row in rows})
    members = [ids[item] for item in dict.fromkeys(product_gids) if item in ids]
    if members:
        await conn.execute(
            collection_products.insert(),
            [dict(tenant_id=tenant_id, collection_id=collection_id, product_id=product_id, position=index + 1) for index, product_id in enumerate(members)],
        )


async def delete_collection(conn: AsyncConnection, tenant_id: int, shopify_gid: str, deleted_at: dt.datetime, effects: AfterCommit) -> int | None:
    await _write_tombstone(conn, tenant_id, shopify_gid, deleted_at)
    collection_id = (
        await conn.execute(sa.select(collections.c.id).where(collections.c.tenant_id == tenant_id, collections.c.shopify_gid == shopify_gid))
    ).scalar_one_or_none()
    if collection_id is None:
        return None
    effects.purge(tenant_id, cache_tags.collection_tag(tenant_id, collection_id))
    await conn.execute(collections.delete().where(collections.c.tenant_id == tenant_id, collections.c.id == collection_id))
    return collection_id
