"""Order-safe, idempotent catalog writes keyed by Shopify GID.

Rules (issue 6, "Processing"):

- the row is found by (tenant_id, shopify_gid); the database's unique key on
  that pair makes a concurrent double insert fail (retried, then it updates);
- an older ``updated_at`` never overwrites a newer one (equal re-applies: same data);
- a delete leaves a tombstone, so an update older than the delete that arrives
  after it is dropped; a delete of an unknown product is only that tombstone;
- the denormalized listing fields (price_min/max, is_available, ...) are
  recomputed from the variants in the same transaction by
  ``origin.catalog.actions.recompute_product_summaries``.

Each function takes an open transaction (``conn``) and returns what the caller
must purge after commit; none of them commits or purges itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from edge import tags as cache_tags
from origin.catalog.actions import recompute_product_summaries
from origin.db import (
    collection_products,
    collections,
    product_images,
    products,
    shopify_inventory_items,
    shopify_tombstones,
    utcnow,
    variants,
)
from origin.shopify.mapping import CollectionRecord, ProductRecord, VariantRecord


@dataclass
class Purge:
    """Cache tags a batch of writes touched; sent once after the commit."""

    tenant_id: int
    tags: list[str] = field(default_factory=list)

    def add(self, *tags: str) -> None:
        self.tags.extend(tags)

    @property
    def unique_tags(self) -> list[str]:
        return list(dict.fromkeys(self.tags))


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


async def upsert_product(conn: AsyncConnection, tenant_id: int, record: ProductRecord, purge: Purge) -> int | None:
    """Insert or update one product with its variants and images; None when the record is stale."""
    deleted_at = await _tombstone_time(conn, tenant_id, record.gid)
    if deleted_at is not None and deleted_at >= record.updated_at:
        return None
    existing = (
        await conn.execute(
            sa.select(products.c.id, products.c.shopify_updated_at)
            .where(products.c.tenant_id == tenant_id, products.c.shopify_gid == record.gid)
            .with_for_update()
        )
    ).first()
    if existing is not None and existing.shopify_updated_at is not None and existing.shopify_updated_at > record.updated_at:
        return None
    now = utcnow()
    values = dict(
        handle=await _free_handle(conn, products, tenant_id, record.handle, record.gid),
        title=record.title,
        description_html=record.description_html,
        vendor=record.vendor,
        product_type=record.product_type,
        tags=",".join(record.tags)[:1000],
        status=record.status,
        option1_name=record.option_names[0],
        option2_name=record.option_names[1],
        option3_name=record.option_names[2],
        shopify_updated_at=record.updated_at,
        published_at=record.published_at,
        updated_at=now,
    )
    if existing is None:
        result = await conn.execute(
            products.insert().values(tenant_id=tenant_id, shopify_gid=record.gid, created_at=now, **values)
        )
        product_id = int(result.inserted_primary_key[0])
    else:
        product_id = existing.id
        await conn.execute(products.update().where(products.c.id == product_id, products.c.tenant_id == tenant_id).values(**values))
    await _replace_variants(conn, tenant_id, product_id, record.variants)
    await recompute_product_summaries(conn, tenant_id, [product_id])
    await conn.execute(product_images.delete().where(product_images.c.tenant_id == tenant_id, product_images.c.product_id == product_id))
    if record.images:
        await conn.execute(
            product_images.insert(),
            [
                dict(tenant_id=tenant_id, product_id=product_id, url=image.url[:2048], alt=image.alt[:512],
                     width=image.width, height=image.height, position=image.position, shopify_gid=image.gid, created_at=now)
                for image in record.images
            ],
        )
    if deleted_at is not None:  # the tombstone is older than this record: Shopify knows the product again
        await conn.execute(
            shopify_tombstones.delete().where(shopify_tombstones.c.tenant_id == tenant_id, shopify_tombstones.c.shopify_gid == record.gid)
        )
    purge.add(cache_tags.product_tag(tenant_id, product_id), *await _collection_tags(conn, tenant_id, product_id))
    return product_id


async def _replace_variants(conn: AsyncConnection, tenant_id: int, product_id: int, records: tuple[VariantRecord, ...]) -> None:
    """Update variants in place by GID (their ids stay stable for carts), add new ones, drop the rest."""
    rows = await conn.execute(
        sa.select(variants.c.id, variants.c.shopify_gid).where(variants.c.tenant_id == tenant_id, variants.c.product_id == product_id)
    )
    by_gid = {row.shopify_gid: row.id for row in rows}
    wanted = {record.gid for record in records}
    stale = [variant_id for variant_gid, variant_id in by_gid.items() if variant_gid not in wanted]
    if stale:
        await conn.execute(variants.delete().where(variants.c.tenant_id == tenant_id, variants.c.id.in_(stale)))
    now = utcnow()
    inserts = []
    for record in records:
        values = dict(
            title=record.title, sku=record.sku, option1=record.options[0], option2=record.options[1], option3=record.options[2],
            price=record.price, compare_at_price=record.compare_at_price, position=record.position,
            inventory_quantity=record.inventory_quantity, inventory_policy=record.inventory_policy, updated_at=now,
        )
        if record.gid in by_gid:
            await conn.execute(variants.update().where(variants.c.id == by_gid[record.gid]).values(**values))
        else:
            inserts.append(dict(tenant_id=tenant_id, product_id=product_id, shopify_gid=record.gid, created_at=now, **values))
    if inserts:
        await conn.execute(variants.insert(), inserts)
    items = [(record.inventory_item_gid, record.gid) for record in records if record.inventory_item_gid]
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


async def delete_product(conn: AsyncConnection, tenant_id: int, shopify_gid: str, deleted_at: dt.datetime, purge: Purge) -> int | None:
    """Remove the product (variants, images, memberships cascade); unknown GIDs only leave the tombstone."""
    await _write_tombstone(conn, tenant_id, shopify_gid, deleted_at)
    product_id = (
        await conn.execute(sa.select(products.c.id).where(products.c.tenant_id == tenant_id, products.c.shopify_gid == shopify_gid))
    ).scalar_one_or_none()
    if product_id is None:
        return None
    purge.add(cache_tags.product_tag(tenant_id, product_id), *await _collection_tags(conn, tenant_id, product_id))
    await conn.execute(products.delete().where(products.c.tenant_id == tenant_id, products.c.id == product_id))
    return product_id


async def set_inventory(conn: AsyncConnection, tenant_id: int, inventory_item_gid: str, available: int, purge: Purge) -> int | None:
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
    purge.add(cache_tags.product_tag(tenant_id, row.product_id), *await _collection_tags(conn, tenant_id, row.product_id))
    return row.product_id


async def upsert_collection(conn: AsyncConnection, tenant_id: int, record: CollectionRecord, purge: Purge) -> int | None:
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
    purge.add(cache_tags.collection_tag(tenant_id, collection_id))
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


async def delete_collection(conn: AsyncConnection, tenant_id: int, shopify_gid: str, deleted_at: dt.datetime, purge: Purge) -> int | None:
    await _write_tombstone(conn, tenant_id, shopify_gid, deleted_at)
    collection_id = (
        await conn.execute(sa.select(collections.c.id).where(collections.c.tenant_id == tenant_id, collections.c.shopify_gid == shopify_gid))
    ).scalar_one_or_none()
    if collection_id is None:
        return None
    purge.add(cache_tags.collection_tag(tenant_id, collection_id))
    await conn.execute(collections.delete().where(collections.c.tenant_id == tenant_id, collections.c.id == collection_id))
    return collection_id
