"""Catalog writes. Each ``do_*`` validates everything first, runs one
transaction, and only after the commit retires cached pages (origin.invalidation).

A product's listing fields (price_min, price_max, compare_at_price_min,
is_available) are derived from its variants; every write that touches variants
calls :func:`recompute_product_summaries` in the same transaction, so listings
never disagree with product pages.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from edge import tags as cache_tags
from origin.catalog import inputs, queries
from origin.catalog.errors import CatalogError, CatalogErrorCode as Code, not_found
from origin.catalog.inputs import NewCollection, NewImage, NewProduct, NewVariant
from origin.catalog.models import Collection, Product, ProductImage, Variant
from origin.catalog.tables import collection_products, collections, product_images, products, variants
from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.services import Services
from origin.tenancy.errors import unknown_tenant
from origin.tenancy.queries import select_tenant


def _duplicate_handle(handle: str, what: str = "product") -> CatalogError:
    return CatalogError(
        Code.DUPLICATE_HANDLE, f"another {what} already uses the handle {handle!r}", field="handle", kind=ErrorKind.CONFLICT
    )


async def _currency_digits(conn: AsyncConnection, tenant_id: int) -> int:
    tenant = await select_tenant(conn, tenant_id)
    if tenant is None:
        raise unknown_tenant(tenant_id)
    return tenant.currency_digits


async def _require_product(conn: AsyncConnection, tenant_id: int, product_id: int, *, lock: bool = False):
    query = sa.select(products).where(products.c.tenant_id == tenant_id, products.c.id == product_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise not_found(Code.UNKNOWN_PRODUCT, "product", product_id)
    return row


async def recompute_product_summaries(conn: AsyncConnection, tenant_id: int, product_ids: Iterable[int]) -> None:
    """Derive each product's listing fields from its variants (inside the caller's transaction)."""
    for product_id in product_ids:
        rows = (
            await conn.execute(
                sa.select(variants.c.price, variants.c.compare_at_price, variants.c.inventory_quantity, variants.c.inventory_policy)
                .where(variants.c.tenant_id == tenant_id, variants.c.product_id == product_id)
                .order_by(variants.c.price, variants.c.position, variants.c.id)
            )
        ).all()
        values: dict[str, Any] = {"price_min": 0, "price_max": 0, "compare_at_price_min": None, "is_available": False}
        if rows:
            values = {
                "price_min": rows[0].price,
                "price_max": rows[-1].price,
                "compare_at_price_min": rows[0].compare_at_price,
                "is_available": any(r.inventory_policy == "continue" or r.inventory_quantity > 0 for r in rows),
            }
        await conn.execute(
            products.update()
            .where(products.c.tenant_id == tenant_id, products.c.id == product_id)
            .values(**values, updated_at=utcnow())
        )


async def _collection_tags(conn: AsyncConnection, tenant_id: int, product_id: int) -> list[str]:
    return [
        cache_tags.collection_tag(tenant_id, collection_id)
        for collection_id in await queries.select_product_collection_ids(conn, tenant_id, product_id)
    ]


async def _product_page_tags(conn: AsyncConnection, tenant_id: int, product_id: int) -> list[str]:
    """The tags of every page showing this product: its own and its collections'."""
    return [cache_tags.product_tag(tenant_id, product_id), *await _collection_tags(conn, tenant_id, product_id)]


def _option_count(product_row) -> int:
    return sum(1 for name in (product_row.option1_name, product_row.option2_name, product_row.option3_name) if name)


# --------------------------------------------------------------------------- products


async def insert_product(conn: AsyncConnection, tenant_id: int, product: NewProduct, digits: int) -> int:
    """Validate and insert one product with its variants and images; returns its id."""
    row, variant_rows, image_rows = inputs.clean_new_product(product, digits)
    now = utcnow()
    try:
        result = await conn.execute(
            products.insert().values(tenant_id=tenant_id, published_at=now if row["status"] == "active" else None, **row)
        )
    except IntegrityError:
        raise _duplicate_handle(row["handle"]) from None
    product_id = result.inserted_primary_key[0]
    await conn.execute(
        variants.insert(),
        [dict(values, tenant_id=tenant_id, product_id=product_id, position=i + 1) for i, values in enumerate(variant_rows)],
    )
    if image_rows:
        await conn.execute(
            product_images.insert(),
            [dict(values, tenant_id=tenant_id, product_id=product_id, position=i + 1) for i, values in enumerate(image_rows)],
        )
    await recompute_product_summaries(conn, tenant_id, [product_id])
    return product_id


async def do_create_product(services: Services, tenant_id: int, product: NewProduct) -> Product:
    async with transaction(services) as (conn, effects):
        digits = await _currency_digits(conn, tenant_id)
        product_id = await insert_product(conn, tenant_id, product, digits)
        created = await queries.select_product(conn, tenant_id, product_id)
        # A new product can appear on any listing of the tenant: retire them all.
        effects.purge(tenant_id, cache_tags.tenant_tag(tenant_id))
    assert created is not None
    return created


async def do_update_product(services: Services, tenant_id: int, product_id: int, changes: Mapping[str, Any]) -> Product:
    row = inputs.clean_product_changes(changes)
    async with transaction(services) as (conn, effects):
        current = await _require_product(conn, tenant_id, product_id, lock=True)
        if row.get("status") == "active" and current.published_at is None:
            row["published_at"] = utcnow()
        if row:
            try:
                await conn.execute(
                    products.update()
                    .where(products.c.tenant_id == tenant_id, products.c.id == product_id)
                    .values(**row, updated_at=utcnow())
                )
            except IntegrityError:
                raise _duplicate_handle(row["handle"]) from None
        tags = await _product_page_tags(conn, tenant_id, product_id)
        updated = await queries.select_product(conn, tenant_id, product_id)
        if {"status", "handle", "title"} & set(row):
            tags.append(cache_tags.tenant_tag(tenant_id))  # search, sitemap and listings change too
        effects.purge(tenant_id, *tags)
    assert updated is not None
    return updated


async def do_delete_product(services: Services, tenant_id: int, product_id: int) -> None:
    async with transaction(services) as (conn, effects):
        await _require_product(conn, tenant_id, product_id, lock=True)
        await delete_products(conn, tenant_id, [product_id])
        effects.purge(tenant_id, cache_tags.tenant_tag(tenant_id), cache_tags.product_tag(tenant_id, product_id))


async def delete_products(conn: AsyncConnection, tenant_id: int, product_ids: Sequence[int]) -> None:
    """Delete products and everything that hangs off them (explicitly: SQLite FKs are per file)."""
    if not product_ids:
        return
    ids = list(product_ids)
    for table in (collection_products, product_images, variants):
        await conn.execute(table.delete().where(table.c.tenant_id == tenant_id, table.c.product_id.in_(ids)))
    await conn.execute(products.delete().where(products.c.tenant_id == tenant_id, products.c.id.in_(ids)))


# --------------------------------------------------------------------------- variants and inventory


async def do_create_variant(services: Services, tenant_id: int, product_id: int, variant: NewVariant) -> Variant:
    async with transaction(services) as (conn, effects):
        product = await _require_product(conn, tenant_id, product_id, lock=True)
        digits = await _currency_digits(conn, tenant_id)
        option_count = _option_count(product)
        values = inputs.clean_variant(variant, "variant", option_count, digits)
        existing = (
            await conn.execute(sa.select(variants).where(variants.c.tenant_id == tenant_id, variants.c.product_id == product_id))
        ).all()
        if len(existing) >= inputs.MAX_VARIANTS:
            raise CatalogError(Code.TOO_MANY_VARIANTS, f"a product has at most {inputs.MAX_VARIANTS} variants", field="variants")
        if any(inputs.option_key(row._mapping) == inputs.option_key(values) for row in existing):
            raise CatalogError(Code.DUPLICATE_VARIANT, "a variant with these option values exists", field="variant.options")
        position = max((row.position for row in existing), default=0) + 1
        result = await conn.execute(
            variants.insert().values(**values, tenant_id=tenant_id, product_id=product_id, position=position)
        )
        await recompute_product_summaries(conn, tenant_id, [product_id])
        created = await queries.select_variant(conn, tenant_id, result.inserted_primary_key[0])
        tags = await _product_page_tags(conn, tenant_id, product_id)
        effects.purge(tenant_id, *tags)
    assert created is not None
    return created


async def _require_variant(conn: AsyncConnection, tenant_id: int, variant_id: int):
    row = (
        await conn.execute(
            sa.select(variants).where(variants.c.tenant_id == tenant_id, variants.c.id == variant_id).with_for_update()
        )
    ).first()
    if row is None:
        raise not_found(Code.UNKNOWN_VARIANT, "variant", variant_id)
    return row


async def do_update_variant(services: Services, tenant_id: int, variant_id: int, changes: Mapping[str, Any]) -> Variant:
    async with transaction(services) as (conn, effects):
        current = await _require_variant(conn, tenant_id, variant_id)
        product = await _require_product(conn, tenant_id, current.product_id, lock=True)
        digits = await _currency_digits(conn, tenant_id)
        option_count = _option_count(product)
        row = inputs.clean_variant_changes(changes, option_count, digits)
        if "option1" in row:
            siblings = (
                await conn.execute(
                    sa.select(variants).where(
                        variants.c.tenant_id == tenant_id,
                        variants.c.product_id == current.product_id,
                        variants.c.id != variant_id,
                    )
                )
            ).all()
            if any(inputs.option_key(s._mapping) == inputs.option_key(row) for s in siblings):
                raise CatalogError(Code.DUPLICATE_VARIANT, "a variant with these option values exists", field="options")
        if row:
            await conn.execute(
                variants.update()
                .where(variants.c.tenant_id == tenant_id, variants.c.id == variant_id)
                .values(**row, updated_at=utcnow())
            )
            await recompute_product_summaries(conn, tenant_id, [current.product_id])
        updated = await queries.select_variant(conn, tenant_id, variant_id)
        tags = await _product_page_tags(conn, tenant_id, current.product_id)
        effects.purge(tenant_id, *tags)
    assert updated is not None
    return updated


async def do_set_inventory(services: Services, tenant_id: int, variant_id: int, quantity: int) -> Variant:
    return await do_update_variant(services, tenant_id, variant_id, {"inventory_quantity": quantity})


async def do_delete_variant(services: Services, tenant_id: int, variant_id: int) -> None:
    async with transaction(services) as (conn, effects):
        current = await _require_variant(conn, tenant_id, variant_id)
        count = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(variants)
                .where(variants.c.tenant_id == tenant_id, variants.c.product_id == current.product_id)
            )
        ).scalar_one()
        if count <= 1:
            raise CatalogError(Code.NO_VARIANTS, "cannot delete a product's last variant; delete the product", field="variant")
        await conn.execute(variants.delete().where(variants.c.tenant_id == tenant_id, variants.c.id == variant_id))
        await recompute_product_summaries(conn, tenant_id, [current.product_id])
        tags = await _product_page_tags(conn, tenant_id, current.product_id)
        effects.purge(tenant_id, *tags)


# --------------------------------------------------------------------------- images


async def do_add_image(services: Services, tenant_id: int, product_id: int, image: NewImage) -> ProductImage:
    values = inputs.clean_image(image, "image")
    async with transaction(services) as (conn, effects):
        await _require_product(conn, tenant_id, product_id, lock=True)
        position = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(product_images.c.position), 0)).where(
                    product_images.c.tenant_id == tenant_id, product_images.c.product_id == product_id
                )
            )
        ).scalar_one() + 1
        if position > inputs.MAX_IMAGES:
            raise CatalogError(Code.INVALID_IMAGE, f"a product has at most {inputs.MAX_IMAGES} images", field="images")
        result = await conn.execute(
            product_images.insert().values(**values, tenant_id=tenant_id, product_id=product_id, position=position)
        )
        row = (await conn.execute(sa.select(product_images).where(product_images.c.id == result.inserted_primary_key[0]))).one()
        tags = await _product_page_tags(conn, tenant_id, product_id)
        effects.purge(tenant_id, *tags)
    return queries.image_from_row(row)


async def do_delete_image(services: Services, tenant_id: int, image_id: int) -> None:
    async with transaction(services) as (conn, effects):
        row = (
            await conn.execute(
                sa.select(product_images).where(product_images.c.tenant_id == tenant_id, product_images.c.id == image_id)
            )
        ).first()
        if row is None:
            raise not_found(Code.UNKNOWN_IMAGE, "image", image_id)
        await conn.execute(product_images.delete().where(product_images.c.tenant_id == tenant_id, product_images.c.id == image_id))
        tags = await _product_page_tags(conn, tenant_id, row.product_id)
        effects.purge(tenant_id, *tags)


# --------------------------------------------------------------------------- collections


async def _require_collection(conn: AsyncConnection, tenant_id: int, collection_id: int, *, lock: bool = False):
    query = sa.select(collections).where(collections.c.tenant_id == tenant_id, collections.c.id == collection_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise not_found(Code.UNKNOWN_COLLECTION, "collection", collection_id)
    return row


async def do_create_collection(services: Services, tenant_id: int, collection: NewCollection) -> Collection:
    row = inputs.clean_new_collection(collection)
    async with transaction(services) as (conn, effects):
        if await select_tenant(conn, tenant_id) is None:
            raise unknown_tenant(tenant_id)
        try:
            result = await conn.execute(collections.insert().values(tenant_id=tenant_id, **row))
        except IntegrityError:
            raise _duplicate_handle(row["handle"], "collection") from None
        created = await queries.select_collection(conn, tenant_id, result.inserted_primary_key[0])
        effects.purge(tenant_id, cache_tags.tenant_tag(tenant_id))
    assert created is not None
    return created


async def do_update_collection(services: Services, tenant_id: int, collection_id: int, changes: Mapping[str, Any]) -> Collection:
    row = inputs.clean_collection_changes(changes)
    async with transaction(services) as (conn, effects):
        await _require_collection(conn, tenant_id, collection_id, lock=True)
        if row:
            try:
                await conn.execute(
                    collections.update()
                    .where(collections.c.tenant_id == tenant_id, collections.c.id == collection_id)
                    .values(**row, updated_at=utcnow())
                )
            except IntegrityError:
                raise _duplicate_handle(row["handle"], "collection") from None
        updated = await queries.select_collection(conn, tenant_id, collection_id)
        tags = [cache_tags.collection_tag(tenant_id, collection_id)]
        if {"handle", "title"} & set(row):
            tags.append(cache_tags.tenant_tag(tenant_id))  # navigation and sitemap name collections
        effects.purge(tenant_id, *tags)
    assert updated is not None
    return updated


async def do_delete_collection(services: Services, tenant_id: int, collection_id: int) -> None:
    async with transaction(services) as (conn, effects):
        await _require_collection(conn, tenant_id, collection_id, lock=True)
        await conn.execute(
            collection_products.delete().where(
                collection_products.c.tenant_id == tenant_id, collection_products.c.collection_id == collection_id
            )
        )
        await conn.execute(collections.delete().where(collections.c.tenant_id == tenant_id, collections.c.id == collection_id))
        effects.purge(tenant_id, cache_tags.tenant_tag(tenant_id), cache_tags.collection_tag(tenant_id, collection_id))


async def _require_products(conn: AsyncConnection, tenant_id: int, product_ids: Sequence[int], field: str = "product_ids") -> None:
    if len(set(product_ids)) != len(product_ids):
        raise CatalogError(Code.INVALID_FIELD, f"{field} lists a product twice", field=field)
    if any(isinstance(pid, bool) or not isinstance(pid, int) for pid in product_ids):
        raise CatalogError(Code.INVALID_FIELD, f"{field} must hold product ids (whole numbers)", field=field)
    if not product_ids:
        return
    found = set(
        (
            await conn.execute(
                sa.select(products.c.id).where(products.c.tenant_id == tenant_id, products.c.id.in_(list(product_ids)))
            )
        ).scalars()
    )
    missing = [pid for pid in product_ids if pid not in found]
    if missing:
        # Another tenant's id is reported exactly like one that does not exist.
        raise not_found(Code.UNKNOWN_PRODUCT, "product", missing[0])


async def do_set_collection_products(
    services: Services, tenant_id: int, collection_id: int, product_ids: Sequence[int]
) -> list[int]:
    """Replace the collection's members with ``product_ids``, in that order."""
    async with transaction(services) as (conn, effects):
        await _require_collection(conn, tenant_id, collection_id, lock=True)
        await _require_products(conn, tenant_id, product_ids)
        await conn.execute(
            collection_products.delete().where(
                collection_products.c.tenant_id == tenant_id, collection_products.c.collection_id == collection_id
            )
        )
        if product_ids:
            await conn.execute(
                collection_products.insert(),
                [
                    {"tenant_id": tenant_id, "collection_id": collection_id, "product_id": pid, "position": i + 1}
                    for i, pid in enumerate(product_ids)
                ],
            )
        members = await queries.select_collection_product_ids(conn, tenant_id, collection_id)
        effects.purge(tenant_id, cache_tags.collection_tag(tenant_id, collection_id))
    return members


async def do_add_collection_products(
    services: Services, tenant_id: int, collection_id: int, product_ids: Sequence[int]
) -> list[int]:
    """Append products not yet in the collection, after the current last one."""
    async with transaction(services) as (conn, effects):
        await _require_collection(conn, tenant_id, collection_id, lock=True)
        await _require_products(conn, tenant_id, product_ids)
        current = await queries.select_collection_product_ids(conn, tenant_id, collection_id)
        last = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(collection_products.c.position), 0)).where(
                    collection_products.c.tenant_id == tenant_id, collection_products.c.collection_id == collection_id
                )
            )
        ).scalar_one()
        new = [pid for pid in product_ids if pid not in set(current)]
        if new:
            await conn.execute(
                collection_products.insert(),
                [
                    {"tenant_id": tenant_id, "collection_id": collection_id, "product_id": pid, "position": last + i + 1}
                    for i, pid in enumerate(new)
                ],
            )
        members = await queries.select_collection_product_ids(conn, tenant_id, collection_id)
        effects.purge(tenant_id, cache_tags.collection_tag(tenant_id, collection_id))
    return members


async def do_remove_collection_product(services: Services, tenant_id: int, collection_id: int, product_id: int) -> None:
    async with transaction(services) as (conn, effects):
        await _require_collection(conn, tenant_id, collection_id, lock=True)
        result = await conn.execute(
            collection_products.delete().where(
                collection_products.c.tenant_id == tenant_id,
                collection_products.c.collection_id == collection_id,
                collection_products.c.product_id == product_id,
            )
        )
        if result.rowcount == 0:
            raise not_found(Code.UNKNOWN_PRODUCT, "product in this collection", product_id)
        effects.purge(tenant_id, cache_tags.collection_tag(tenant_id, collection_id), cache_tags.product_tag(tenant_id, product_id))
