"""Catalog reads: connection first, tenant next, every WHERE names the tenant.

Listings use keyset pagination: the cursor carries the sort value and id of
the last row, so page 50 costs what page 1 costs and concurrent inserts never
shift rows between pages. A product page is three round trips (product,
variants, images); a listing is two (rows, their first images).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.catalog.errors import CatalogError, CatalogErrorCode as Code
from origin.catalog.models import Collection, Page, Product, ProductImage, ProductSummary, SitemapEntry, Variant
from origin.catalog.tables import collection_products, collections, product_images, products, variants
from origin.numbers import parse_bounded_int

SORTS = ("manual", "price-asc", "price-desc", "title-asc", "title-desc", "newest")
MAX_PAGE_SIZE = 250


# --------------------------------------------------------------------------- row -> model


def variant_from_row(row) -> Variant:
    return Variant(
        id=row.id,
        product_id=row.product_id,
        title=row.title,
        sku=row.sku,
        options=tuple(value for value in (row.option1, row.option2, row.option3) if value is not None),
        price=row.price,
        compare_at_price=row.compare_at_price,
        inventory_quantity=row.inventory_quantity,
        inventory_policy=row.inventory_policy,
        position=row.position,
    )


def image_from_row(row) -> ProductImage:
    return ProductImage(
        id=row.id,
        product_id=row.product_id,
        url=row.url,
        alt=row.alt,
        width=row.width,
        height=row.height,
        position=row.position,
    )


def product_from_row(row, variant_rows: Sequence = (), image_rows: Sequence = ()) -> Product:
    return Product(
        id=row.id,
        tenant_id=row.tenant_id,
        handle=row.handle,
        title=row.title,
        description_html=row.description_html,
        vendor=row.vendor,
        product_type=row.product_type,
        tags=tuple(tag for tag in row.tags.split(",") if tag),
        status=row.status,
        option_names=tuple(name for name in (row.option1_name, row.option2_name, row.option3_name) if name),
        price_min=row.price_min,
        price_max=row.price_max,
        compare_at_price_min=row.compare_at_price_min,
        is_available=row.is_available,
        created_at=row.created_at,
        updated_at=row.updated_at,
        variants=tuple(variant_from_row(v) for v in variant_rows),
        images=tuple(image_from_row(i) for i in image_rows),
        shopify_gid=row.shopify_gid,
    )


def collection_from_row(row) -> Collection:
    return Collection(
        id=row.id,
        tenant_id=row.tenant_id,
        handle=row.handle,
        title=row.title,
        description_html=row.description_html,
        image_url=row.image_url,
        created_at=row.created_at,
        updated_at=row.updated_at,
        shopify_gid=row.shopify_gid,
    )


# --------------------------------------------------------------------------- products


async def _load_product(conn: AsyncConnection, tenant_id: int, where) -> Product | None:
    row = (await conn.execute(sa.select(products).where(products.c.tenant_id == tenant_id, where))).first()
    if row is None:
        return None
    variant_rows = (
        await conn.execute(
            sa.select(variants)
            .where(variants.c.tenant_id == tenant_id, variants.c.product_id == row.id)
            .order_by(variants.c.position, variants.c.id)
        )
    ).all()
    image_rows = (
        await conn.execute(
            sa.select(product_images)
            .where(product_images.c.tenant_id == tenant_id, product_images.c.product_id == row.id)
            .order_by(product_images.c.position, product_images.c.id)
        )
    ).all()
    return product_from_row(row, variant_rows, image_rows)


async def select_image_urls_under(conn: AsyncConnection, tenant_id: int, prefix: str) -> frozenset[str]:
    """Every product image URL of the tenant that starts with ``prefix`` (the demo media the seed wrote)."""
    rows = await conn.execute(
        sa.select(product_images.c.url).where(product_images.c.tenant_id == tenant_id, product_images.c.url.startswith(prefix, autoescape=True))
    )
    return frozenset(row.url for row in rows)


async def select_product(conn: AsyncConnection, tenant_id: int, product_id: int) -> Product | None:
    return await _load_product(conn, tenant_id, products.c.id == product_id)


async def select_product_by_handle(
    conn: AsyncConnection, tenant_id: int, handle: str, *, include_unpublished: bool = False
) -> Product | None:
    where = products.c.handle == handle
    if not include_unpublished:
        where = sa.and_(where, products.c.status == "active")
    return await _load_product(conn, tenant_id, where)


async def select_product_id_by_handle(conn: AsyncConnection, tenant_id: int, handle: str) -> int | None:
    query = sa.select(products.c.id).where(products.c.tenant_id == tenant_id, products.c.handle == handle)
    return (await conn.execute(query)).scalar_one_or_none()


async def select_variant(conn: AsyncConnection, tenant_id: int, variant_id: int) -> Variant | None:
    row = (
        await conn.execute(sa.select(variants).where(variants.c.tenant_id == tenant_id, variants.c.id == variant_id))
    ).first()
    return variant_from_row(row) if row else None


async def select_variants(conn: AsyncConnection, tenant_id: int, variant_ids: Sequence[int]) -> dict[int, Variant]:
    """Variants by id (for carts), with no product join: one round trip."""
    if not variant_ids:
        return {}
    rows = await conn.execute(
        sa.select(variants).where(variants.c.tenant_id == tenant_id, variants.c.id.in_(list(variant_ids)))
    )
    return {row.id: variant_from_row(row) for row in rows}


# --------------------------------------------------------------------------- listings


def encode_cursor(values: Sequence[Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, dt.datetime):
            return value.isoformat()
        return value

    raw = json.dumps([plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_CURSOR_CHARS = 2048  # a title sort key is at most a few hundred characters once encoded
MAX_CURSOR_PRICE = Decimal(10) ** 15  # well past any price (origin.catalog.inputs.MAX_PRICE)


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    invalid = CatalogError(Code.INVALID_CURSOR, "cursor is not one this listing handed out", field="cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        if len(cursor) > MAX_CURSOR_CHARS:
            raise invalid
        value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        # Ids and positions are 63-bit in both databases: a larger number would reach SQL as an overflow.
        last_id = parse_bounded_int(last_id)
        if last_id is None or isinstance(value, (list, dict)):
            raise invalid
        if sort in ("price-asc", "price-desc"):
            value = Decimal(str(value))
            if not value.is_finite() or abs(value) > MAX_CURSOR_PRICE:
                raise invalid
        elif sort == "newest":
            value = dt.datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise invalid
        elif sort == "manual":
            value = parse_bounded_int(value)
            if value is None:
                raise invalid
        elif not isinstance(value, str) or len(value) > MAX_CURSOR_CHARS:
            raise invalid
        return value, last_id
    except (ValueError, TypeError, InvalidOperation, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise invalid from None


def _sort_columns(sort: str, position=None):
    """(sort expression, id expression, descending?) for a sort name."""
    if sort == "price-asc":
        return products.c.price_min, products.c.id, False
    if sort == "price-desc":
        return products.c.price_min, products.c.id, True
    if sort == "title-asc":
        return sa.func.lower(products.c.title), products.c.id, False
    if sort == "title-desc":
        return sa.func.lower(products.c.title), products.c.id, True
    if sort == "newest":
        return products.c.created_at, products.c.id, True
    if sort == "manual" and position is not None:
        return position, products.c.id, False
    raise CatalogError(Code.INVALID_SORT, f"sort must be one of {', '.join(SORTS)}", field="sort")


def _summary_value(sort: str, row) -> Any:
    if sort.startswith("price"):
        return row.price_min
    if sort.startswith("title"):
        return row.title.lower()
    if sort == "newest":
        return row.created_at
    return row.position


async def _first_images(conn: AsyncConnection, tenant_id: int, product_ids: list[int]) -> dict[int, ProductImage]:
    if not product_ids:
        return {}
    rows = await conn.execute(
        sa.select(product_images)
        .where(product_images.c.tenant_id == tenant_id, product_images.c.product_id.in_(product_ids))
        .order_by(product_images.c.product_id, product_images.c.position, product_images.c.id)
    )
    first: dict[int, ProductImage] = {}
    for row in rows:
        first.setdefault(row.product_id, image_from_row(row))
    return first


async def _page_of_summaries(
    conn: AsyncConnection,
    tenant_id: int,
    query: sa.Select,
    *,
    sort: str,
    limit: int,
    cursor: str | None,
    position=None,
    available_only: bool = False,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
) -> Page[ProductSummary]:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise CatalogError(Code.INVALID_FIELD, f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
    order_value, order_id, descending = _sort_columns(sort, position)
    if available_only:
        query = query.where(products.c.is_available.is_(True))
    if price_min is not None:
        query = query.where(products.c.price_min >= price_min)
    if price_max is not None:
        query = query.where(products.c.price_min <= price_max)
    if cursor:
        value, last_id = decode_cursor(cursor, sort)
        if descending:
            query = query.where(sa.or_(order_value < value, sa.and_(order_value == value, order_id < last_id)))
        else:
            query = query.where(sa.or_(order_value > value, sa.and_(order_value == value, order_id > last_id)))
    if descending:
        query = query.order_by(order_value.desc(), order_id.desc())
    else:
        query = query.order_by(order_value.asc(), order_id.asc())
    rows = (await conn.execute(query.limit(limit + 1))).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    images = await _first_images(conn, tenant_id, [row.id for row in rows])
    items = tuple(
        ProductSummary(
            id=row.id,
            handle=row.handle,
            title=row.title,
            vendor=row.vendor,
            status=row.status,
            price_min=row.price_min,
            price_max=row.price_max,
            compare_at_price=row.compare_at_price_min,
            is_available=row.is_available,
            image=images.get(row.id),
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    )
    next_cursor = encode_cursor([_summary_value(sort, rows[-1]), rows[-1].id]) if has_more and rows else None
    return Page(items=items, next_cursor=next_cursor)


SUMMARY_COLUMNS = (
    products.c.id,
    products.c.handle,
    products.c.title,
    products.c.vendor,
    products.c.status,
    products.c.price_min,
    products.c.price_max,
    products.c.compare_at_price_min,
    products.c.is_available,
    products.c.created_at,
    products.c.updated_at,
)


async def select_products(
    conn: AsyncConnection,
    tenant_id: int,
    *,
    sort: str = "newest",
    limit: int = 24,
    cursor: str | None = None,
    status: str | None = "active",
    available_only: bool = False,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
) -> Page[ProductSummary]:
    """All products of a tenant; ``status=None`` includes drafts and archived (seller API)."""
    if sort == "manual":
        sort = "newest"
    query = sa.select(*SUMMARY_COLUMNS).where(products.c.tenant_id == tenant_id)
    if status is not None:
        query = query.where(products.c.status == status)
    return await _page_of_summaries(
        conn, tenant_id, query, sort=sort, limit=limit, cursor=cursor,
        available_only=available_only, price_min=price_min, price_max=price_max,
    )


async def select_collection_products(
    conn: AsyncConnection,
    tenant_id: int,
    collection_id: int,
    *,
    sort: str = "manual",
    limit: int = 24,
    cursor: str | None = None,
    available_only: bool = False,
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    include_unpublished: bool = False,
) -> Page[ProductSummary]:
    query = (
        sa.select(*SUMMARY_COLUMNS, collection_products.c.position)
        .join(collection_products, collection_products.c.product_id == products.c.id)
        .where(
            products.c.tenant_id == tenant_id,
            collection_products.c.tenant_id == tenant_id,
            collection_products.c.collection_id == collection_id,
        )
    )
    if not include_unpublished:
        query = query.where(products.c.status == "active")
    return await _page_of_summaries(
        conn, tenant_id, query, sort=sort, limit=limit, cursor=cursor, position=collection_products.c.position,
        available_only=available_only, price_min=price_min, price_max=price_max,
    )


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search_products(
    conn: AsyncConnection, tenant_id: int, q: str, *, limit: int = 24, cursor: str | None = None
) -> Page[ProductSummary]:
    """Active products whose title, tags or vendor contain every word of ``q`` (case-insensitive)."""
    words = [word for word in q.split() if word][:8]
    if not words:
        return Page(items=(), next_cursor=None)
    query = sa.select(*SUMMARY_COLUMNS).where(products.c.tenant_id == tenant_id, products.c.status == "active")
    for word in words:
        pattern = _like_pattern(word[:100])
        query = query.where(
            sa.or_(
                sa.func.lower(products.c.title).like(pattern, escape="\\"),
                products.c.tags.like(pattern, escape="\\"),
                sa.func.lower(products.c.vendor).like(pattern, escape="\\"),
            )
        )
    return await _page_of_summaries(conn, tenant_id, query, sort="title-asc", limit=limit, cursor=cursor)


# --------------------------------------------------------------------------- collections


async def select_collection(conn: AsyncConnection, tenant_id: int, collection_id: int) -> Collection | None:
    row = (
        await conn.execute(
            sa.select(collections).where(collections.c.tenant_id == tenant_id, collections.c.id == collection_id)
        )
    ).first()
    return collection_from_row(row) if row else None


async def select_collection_by_handle(conn: AsyncConnection, tenant_id: int, handle: str) -> Collection | None:
    row = (
        await conn.execute(
            sa.select(collections).where(collections.c.tenant_id == tenant_id, collections.c.handle == handle)
        )
    ).first()
    return collection_from_row(row) if row else None


async def select_collections(conn: AsyncConnection, tenant_id: int) -> list[Collection]:
    rows = await conn.execute(
        sa.select(collections).where(collections.c.tenant_id == tenant_id).order_by(collections.c.title, collections.c.id)
    )
    return [collection_from_row(row) for row in rows]


async def select_product_collection_ids(conn: AsyncConnection, tenant_id: int, product_id: int) -> list[int]:
    rows = await conn.execute(
        sa.select(collection_products.c.collection_id)
        .where(collection_products.c.tenant_id == tenant_id, collection_products.c.product_id == product_id)
        .order_by(collection_products.c.collection_id)
    )
    return list(rows.scalars())


async def select_collection_product_ids(conn: AsyncConnection, tenant_id: int, collection_id: int) -> list[int]:
    """Member product ids in their manual order (any status)."""
    rows = await conn.execute(
        sa.select(collection_products.c.product_id)
        .where(collection_products.c.tenant_id == tenant_id, collection_products.c.collection_id == collection_id)
        .order_by(collection_products.c.position, collection_products.c.product_id)
    )
    return list(rows.scalars())


async def select_sitemap_entries(conn: AsyncConnection, tenant_id: int) -> list[SitemapEntry]:
    """Paths of every active product and every collection, for /sitemap.xml."""
    product_rows = await conn.execute(
        sa.select(products.c.handle, products.c.updated_at)
        .where(products.c.tenant_id == tenant_id, products.c.status == "active")
        .order_by(products.c.handle)
    )
    collection_rows = await conn.execute(
        sa.select(collections.c.handle, collections.c.updated_at)
        .where(collections.c.tenant_id == tenant_id)
        .order_by(collections.c.handle)
    )
    entries = [SitemapEntry(f"/collections/{row.handle}", row.updated_at) for row in collection_rows]
    entries += [SitemapEntry(f"/products/{row.handle}", row.updated_at) for row in product_rows]
    return entries
