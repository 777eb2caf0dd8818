"""A tenant's storefront catalog held in process: listings, search and product pages from memory (issue 14, item 2).

A :class:`CatalogSnapshot` is everything the storefront reads of one tenant's
catalog at one catalog version (origin/catalog_versions.py): products with their
variants and images, collections and their manual order, and each sort's order.
The functions at the bottom answer the same calls as origin/catalog/queries.py,
same signature and same results, with the snapshot in place of the connection;
:data:`SNAPSHOT_READS` maps each SQL query to its in-memory twin, so a caller
picks a source and never a second implementation.

Why the results are the same, not just similar:

- each sort's order is the database's own (``ORDER BY lower(title), id`` is read
  from the database at build time, so its collation decides, not Python's), and a
  cursor is placed by the rank of the row it names;
- text matching (search, the title order of a cursor the snapshot did not hand
  out) is exact only where the database's case folding is ASCII's: a tenant whose
  titles, tags or vendors are not all ASCII, or a query that is not, is answered
  by SQL (:class:`NotInSnapshot`). So is anything else the snapshot cannot decide.

Invalidation needs no event of its own: a snapshot is valid for exactly the
catalog version it was read at (read *before* the rows, so a write racing the
build leaves a snapshot that is newer than its version, never older), and every
catalog write bumps the version after its commit, here or in another process
(the purge channel makes :class:`CatalogVersions` forget). A request whose
version has no snapshot yet is answered from SQL while one snapshot per tenant
is built in the background.

Memory: a snapshot costs about :data:`BYTES_PER_PRODUCT` per product (measured in
tests/catalog/test_snapshot.py); a tenant above :data:`MAX_SNAPSHOT_PRODUCTS`
is never held and keeps the SQL path (a 100,000-product store works, from SQL), and the held snapshots
together stay under :data:`MAX_SNAPSHOT_BYTES` (least recently used dropped).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from origin.catalog import queries as sql
from origin.catalog.errors import CatalogError, CatalogErrorCode as Code
from origin.catalog.models import Collection, Page, Product, ProductSummary
from origin.catalog.inputs import HANDLE_PATTERN
from origin.catalog.tables import collection_products, product_images, products, variants

log = logging.getLogger(__name__)

MAX_SNAPSHOT_PRODUCTS = 10_000
# Measured (tests/catalog/test_snapshot.py): ~4 KB for a product with two variants, an image and a
# 500-byte description; the bound assumes at most this, so a held tenant costs at most ~60 MB.
BYTES_PER_PRODUCT = 6_000
MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024
MAX_SEARCH_WORDS = 8


class NotInSnapshot(Exception):
    """The snapshot cannot answer this exactly: ask SQL."""


@dataclass(eq=False)
class CatalogSnapshot:
    tenant_id: int
    version: int
    products: dict[int, Product]  # every status
    summaries: dict[int, ProductSummary]
    by_handle: dict[str, int]
    collections: tuple[Collection, ...]  # in select_collections order (the database's)
    collection_by_handle: dict[str, Collection]
    members: dict[int, tuple[tuple[int, int], ...]]  # collection id -> ((position, product id), ...) in manual order
    order: dict[str, tuple[int, ...]]  # "price" / "title" / "newest" -> product ids ascending by (value, id)
    # "lower(title)\nlower(tags)\nlower(vendor)": what search matches. A search word holds no
    # whitespace (q.split()), so it is in this string exactly when it is in one of the three.
    haystacks: dict[int, str]
    is_ascii: bool  # every title, tag and vendor is ASCII: Python's case folding is the database's
    approx_bytes: int
    _rank: dict[str, dict[int, int]] = field(default_factory=dict)
    _member_orders: dict[tuple[int, str], tuple[int, ...]] = field(default_factory=dict)
    _search_text: tuple[str, list[int]] | None = None

    def rank(self, key: str) -> dict[int, int]:
        ranks = self._rank.get(key)
        if ranks is None:
            ranks = self._rank[key] = {product_id: index for index, product_id in enumerate(self.order[key])}
        return ranks

    def search_text(self) -> tuple[str, list[int]]:
        """Every haystack in title order joined by NUL, and where each starts: a search word is found
        with ``str.find`` across the whole catalog (C speed) instead of a test per product (issue 14)."""
        if self._search_text is None:
            starts, offset, parts = [], 0, []
            for product_id in self.order["title"]:
                haystack = self.haystacks[product_id]
                starts.append(offset)
                parts.append(haystack)
                offset += len(haystack) + 1
            self._search_text = ("\0".join(parts), starts)
        return self._search_text


# --------------------------------------------------------------------------- building


async def count_products(engine: AsyncEngine, tenant_id: int) -> int:
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(products).where(products.c.tenant_id == tenant_id)
        return (await conn.execute(query)).scalar_one()


async def load_snapshot(engine: AsyncEngine, tenant_id: int, version: int) -> CatalogSnapshot:
    """Read the tenant's whole catalog on one connection: six statements, whatever its size."""
    async with engine.connect() as conn:
        product_rows = (await conn.execute(sa.select(products).where(products.c.tenant_id == tenant_id))).all()
        variant_rows = (
            await conn.execute(
                sa.select(variants).where(variants.c.tenant_id == tenant_id).order_by(variants.c.product_id, variants.c.position, variants.c.id)
            )
        ).all()
        image_rows = (
            await conn.execute(
                sa.select(product_images)
                .where(product_images.c.tenant_id == tenant_id)
                .order_by(product_images.c.product_id, product_images.c.position, product_images.c.id)
            )
        ).all()
        # The database's order of lower(title): its collation, not Python's, decides ties and accents.
        title_order = tuple(
            (
                await conn.execute(
                    sa.select(products.c.id).where(products.c.tenant_id == tenant_id).order_by(sa.func.lower(products.c.title), products.c.id)
                )
            ).scalars()
        )
        collection_list = tuple(await sql.select_collections(conn, tenant_id))
        member_rows = (
            await conn.execute(
                sa.select(collection_products.c.collection_id, collection_products.c.product_id, collection_products.c.position)
                .where(collection_products.c.tenant_id == tenant_id)
                .order_by(collection_products.c.collection_id, collection_products.c.position, collection_products.c.product_id)
            )
        ).all()
    return build_snapshot(tenant_id, version, product_rows, variant_rows, image_rows, title_order, collection_list, member_rows)


def build_snapshot(tenant_id, version, product_rows, variant_rows, image_rows, title_order, collection_list, member_rows) -> CatalogSnapshot:
    variants_of: dict[int, list] = {}
    for row in variant_rows:
        variants_of.setdefault(row.product_id, []).append(row)
    images_of: dict[int, list] = {}
    for row in image_rows:
        images_of.setdefault(row.product_id, []).append(row)
    built: dict[int, Product] = {}
    summaries: dict[int, ProductSummary] = {}
    haystacks: dict[int, str] = {}
    is_ascii = True
    approx_bytes = 0
    for row in product_rows:
        product = sql.product_from_row(row, variants_of.get(row.id, ()), images_of.get(row.id, ()))
        built[row.id] = product
        summaries[row.id] = ProductSummary(
            id=product.id, handle=product.handle, title=product.title, vendor=product.vendor, status=product.status,
            price_min=product.price_min, price_max=product.price_max, compare_at_price=product.compare_at_price_min,
            is_available=product.is_available, image=product.images[0] if product.images else None,
            created_at=product.created_at, updated_at=product.updated_at,
        )
        haystacks[row.id] = f"{row.title.lower()}\n{row.tags.lower()}\n{row.vendor.lower()}"
        is_ascii = is_ascii and row.title.isascii() and row.tags.isascii() and row.vendor.isascii()
        approx_bytes += 1_800 + len(row.description_html) + len(row.title) * 3 + len(row.tags) * 2
        approx_bytes += 700 * len(product.variants) + 600 * len(product.images)
    members: dict[int, list[tuple[int, int]]] = {collection.id: [] for collection in collection_list}
    for row in member_rows:
        members.setdefault(row.collection_id, []).append((row.position, row.product_id))
    order = {
        "price": tuple(sorted(built, key=lambda pid: (built[pid].price_min, pid))),
        "newest": tuple(sorted(built, key=lambda pid: (built[pid].created_at, pid))),
        "title": tuple(title_order),
    }
    return CatalogSnapshot(
        tenant_id=tenant_id,
        version=version,
        products=built,
        summaries=summaries,
        by_handle={product.handle: product.id for product in built.values()},
        collections=collection_list,
        collection_by_handle={collection.handle: collection for collection in collection_list},
        members={collection_id: tuple(entries) for collection_id, entries in members.items()},
        order=order,
        haystacks=haystacks,
        is_ascii=is_ascii,
        approx_bytes=approx_bytes + 400 * len(member_rows) + 2_000 * len(collection_list),
    )


class CatalogSnapshots:
    """This process's snapshots, one per tenant, each for one catalog version.

    :meth:`get` never waits for a build: it answers with the snapshot of exactly
    the version asked for, or None (the caller reads SQL) after starting one
    background build for the tenant; a build that finishes behind the version is
    simply built again on a later request.
    """

    def __init__(self, engine: AsyncEngine, *, max_products: int = MAX_SNAPSHOT_PRODUCTS, max_bytes: int = MAX_SNAPSHOT_BYTES) -> None:
        self.engine = engine
        self.max_products = max_products
        self.max_bytes = max_bytes
        self._held: OrderedDict[int, CatalogSnapshot] = OrderedDict()
        self._too_big: dict[int, int] = {}  # tenant -> the version found too big (counted once per version)
        self._failed: dict[int, int] = {}  # tenant -> the version whose build failed: not retried per request
        self._building: dict[int, asyncio.Task] = {}
        self._bytes = 0

    def get(self, tenant_id: int, version: int) -> CatalogSnapshot | None:
        snapshot = self._held.get(tenant_id)
        if snapshot is not None and snapshot.version == version:
            self._held.move_to_end(tenant_id)
            return snapshot
        if (self.max_products > 0 and self._too_big.get(tenant_id) != version and self._failed.get(tenant_id) != version
                and tenant_id not in self._building):
            task = asyncio.get_running_loop().create_task(self._build(tenant_id, version), name=f"catalog snapshot t{tenant_id}")
            self._building[tenant_id] = task
        return None

    async def ready(self, tenant_id: int, version: int) -> CatalogSnapshot | None:
        """The snapshot for ``version``, building it now if needed (tests, warm-up): None if it is too big."""
        while True:
            snapshot = self.get(tenant_id, version)
            if snapshot is not None or self.max_products <= 0 or version in (self._too_big.get(tenant_id), self._failed.get(tenant_id)):
                return snapshot
            task = self._building.get(tenant_id)
            if task is None:
                return None  # the build failed (logged); SQL answers
            await asyncio.shield(task)

    async def _build(self, tenant_id: int, version: int) -> None:
        try:
            if await count_products(self.engine, tenant_id) > self.max_products:
                self._too_big[tenant_id] = version
                self._drop(tenant_id)
                return
            snapshot = await load_snapshot(self.engine, tenant_id, version)
            self._drop(tenant_id)
            self._held[tenant_id] = snapshot
            self._bytes += snapshot.approx_bytes
            while self._bytes > self.max_bytes and len(self._held) > 1:
                self._drop(next(iter(self._held)))
        except (sa.exc.SQLAlchemyError, OSError):
            # Once per version: a database that is down must not get a rebuild (and a log line) per request.
            self._failed[tenant_id] = version
            log.warning("catalog snapshot of tenant %s not built; its pages keep reading SQL", tenant_id, exc_info=True)
        finally:
            self._building.pop(tenant_id, None)

    def _drop(self, tenant_id: int) -> None:
        old = self._held.pop(tenant_id, None)
        if old is not None:
            self._bytes -= old.approx_bytes

    async def settle(self) -> None:
        """Wait for the builds under way (tests that count statements, shutdown)."""
        while self._building:
            await asyncio.gather(*map(asyncio.shield, self._building.values()), return_exceptions=True)

    def held_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        """After a reconnect to Redis the versions may have restarted: hold nothing from before."""
        self._held.clear()
        self._too_big.clear()
        self._failed.clear()
        self._bytes = 0

    async def close(self) -> None:
        for task in list(self._building.values()):
            task.cancel()
        await asyncio.gather(*self._building.values(), return_exceptions=True)


# --------------------------------------------------------------------------- the queries, from memory


def _check(snapshot: CatalogSnapshot, tenant_id: int) -> None:
    if snapshot.tenant_id != tenant_id:
        # A programming error, never a shopper's: one tenant's snapshot must not answer for another.
        raise ValueError(f"snapshot of tenant {snapshot.tenant_id} asked for tenant {tenant_id}")


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= sql.MAX_PAGE_SIZE:
        raise CatalogError(Code.INVALID_FIELD, f"limit must be between 1 and {sql.MAX_PAGE_SIZE}", field="limit")


SORT_KEYS = {"price-asc": ("price", False), "price-desc": ("price", True), "title-asc": ("title", False),
             "title-desc": ("title", True), "newest": ("newest", True), "manual": ("manual", False)}


def _sort_value(snapshot: CatalogSnapshot, key: str, product_id: int) -> Any:
    product = snapshot.products[product_id]
    if key == "price":
        return product.price_min
    if key == "newest":
        return product.created_at
    return product.title.lower()


def _start_after(snapshot: CatalogSnapshot, ordered: tuple[int, ...], key: str, descending: bool, cursor: str, sort: str,
                 positions: dict[int, int] | None = None) -> int:
    """Index in ``ordered`` (already in the listing's direction) of the first row after the cursor."""
    value, last_id = sql.decode_cursor(cursor, sort)
    if key == "manual":
        # Rows after (position, id) in the collection's manual order.
        pairs = [(positions[pid], pid) for pid in ordered]
        return bisect.bisect_right(pairs, (value, last_id))
    if key == "title":
        # The database compares strings by its collation: place the cursor by its row, and only
        # when the cursor says what that row's title is (a cursor this listing handed out).
        if not snapshot.is_ascii or not isinstance(value, str) or not value.isascii():
            raise NotInSnapshot("title cursor")
        product = snapshot.products.get(last_id)
        if product is None or product.title.lower() != value:
            raise NotInSnapshot("title cursor of a row not in the snapshot")
        # Rows after the cursor's row in the database's order; the row itself may be filtered out.
        ranks = snapshot.rank("title")
        if descending:
            return bisect.bisect_right([-ranks[pid] for pid in ordered], -ranks[last_id])
        return bisect.bisect_right([ranks[pid] for pid in ordered], ranks[last_id])
    keys = [(_sort_value(snapshot, key, pid), pid) for pid in ordered]
    if descending:
        # ``ordered`` is descending: the first row strictly below (value, id).
        low, high = 0, len(keys)
        while low < high:
            middle = (low + high) // 2
            if keys[middle] < (value, last_id):
                high = middle
            else:
                low = middle + 1
        return low
    return bisect.bisect_right(keys, (value, last_id))


def _page(snapshot: CatalogSnapshot, ordered: tuple[int, ...], key: str, descending: bool, *, sort: str, limit: int,
          cursor: str | None, keep: Callable[[int], bool], positions: dict[int, int] | None = None,
          candidates: Iterable[int] | None = None) -> Page[ProductSummary]:
    """``candidates``: the only indices of ``ordered`` that may be kept, ascending (others are not asked)."""
    _check_limit(limit)
    start = _start_after(snapshot, ordered, key, descending, cursor, sort, positions) if cursor else 0
    chosen: list[int] = []
    indices = range(start, len(ordered)) if candidates is None else (index for index in candidates if index >= start)
    for index in indices:
        product_id = ordered[index]
        if keep(product_id):
            chosen.append(product_id)
            if len(chosen) > limit:
                break
    has_more = len(chosen) > limit
    chosen = chosen[:limit]
    next_cursor = None
    if has_more and chosen:
        last = chosen[-1]
        value = positions[last] if key == "manual" else _sort_value(snapshot, key, last)
        next_cursor = sql.encode_cursor([value, last])
    return Page(items=tuple(snapshot.summaries[pid] for pid in chosen), next_cursor=next_cursor)


def _directed(ordered: tuple[int, ...], descending: bool) -> tuple[int, ...]:
    return ordered[::-1] if descending else ordered


def _filters(snapshot: CatalogSnapshot, *, status: str | None, available_only: bool, price_min: Decimal | None,
             price_max: Decimal | None) -> Callable[[int], bool]:
    items = snapshot.products

    def keep(product_id: int) -> bool:
        product = items[product_id]
        return (
            (status is None or product.status == status)
            and (not available_only or product.is_available)
            and (price_min is None or product.price_min >= price_min)
            and (price_max is None or product.price_min <= price_max)
        )

    return keep


def select_products(
    snapshot: CatalogSnapshot,
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
    _check(snapshot, tenant_id)
    if sort == "manual":
        sort = "newest"
    if sort not in SORT_KEYS:
        sql._sort_columns(sort)  # raises the same CatalogError
    key, descending = SORT_KEYS[sort]
    keep = _filters(snapshot, status=status, available_only=available_only, price_min=price_min, price_max=price_max)
    return _page(snapshot, _directed(snapshot.order[key], descending), key, descending, sort=sort, limit=limit, cursor=cursor, keep=keep)


def select_collection_products(
    snapshot: CatalogSnapshot,
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
    _check(snapshot, tenant_id)
    if sort not in SORT_KEYS:
        sql._sort_columns(sort, position=True)
    key, descending = SORT_KEYS[sort]
    entries = snapshot.members.get(collection_id, ())
    positions = {product_id: position for position, product_id in entries if product_id in snapshot.products}
    ordered = snapshot._member_orders.get((collection_id, key))
    if ordered is None:
        if key == "manual":
            ordered = tuple(product_id for _, product_id in entries if product_id in snapshot.products)
        else:
            ranks = snapshot.rank(key)
            ordered = tuple(sorted(positions, key=ranks.__getitem__))
        snapshot._member_orders[(collection_id, key)] = ordered
    keep = _filters(snapshot, status=None if include_unpublished else "active", available_only=available_only,
                    price_min=price_min, price_max=price_max)
    return _page(snapshot, _directed(ordered, descending), key, descending, sort=sort, limit=limit, cursor=cursor, keep=keep,
                 positions=positions)


def search_products(
    snapshot: CatalogSnapshot, tenant_id: int, q: str, *, limit: int = 24, cursor: str | None = None
) -> Page[ProductSummary]:
    _check(snapshot, tenant_id)
    words = [word for word in q.split() if word][:MAX_SEARCH_WORDS]
    if not words:
        return Page(items=(), next_cursor=None)
    if not snapshot.is_ascii or not q.isascii():
        raise NotInSnapshot("text outside ASCII: the database's collation decides what matches")
    needles = [word[:100].lower() for word in words]
    items = snapshot.products
    haystacks = snapshot.haystacks

    def keep(product_id: int) -> bool:
        if items[product_id].status != "active":
            return False
        # LIKE '%word%' on lower(title), tags (stored lower-case; LIKE ignores ASCII case) and lower(vendor).
        haystack = haystacks[product_id]
        return all(needle in haystack for needle in needles)

    ordered = snapshot.order["title"]
    candidates = None if any("\0" in needle for needle in needles) else _containing(snapshot, max(needles, key=len))
    return _page(snapshot, ordered, "title", False, sort="title-asc", limit=limit, cursor=cursor, keep=keep, candidates=candidates)


def _containing(snapshot: CatalogSnapshot, needle: str) -> Iterator[int]:
    """Indices (title order) of the products whose haystack may hold ``needle``, ascending: every one that does.

    A find that spans two haystacks (a NUL in merchant text) names a product ``keep`` then refuses;
    the next find starts at the next product, so none is skipped.
    """
    text, starts = snapshot.search_text()
    position = text.find(needle)
    while position >= 0:
        index = bisect.bisect_right(starts, position) - 1
        yield index
        if index + 1 >= len(starts):
            return
        position = text.find(needle, starts[index + 1])


def select_collections(snapshot: CatalogSnapshot, tenant_id: int) -> list[Collection]:
    _check(snapshot, tenant_id)
    return list(snapshot.collections)


def select_collection_by_handle(snapshot: CatalogSnapshot, tenant_id: int, handle: str) -> Collection | None:
    _check(snapshot, tenant_id)
    if not HANDLE_PATTERN.match(handle):
        raise NotInSnapshot("not a handle")  # the collation may call two spellings equal: SQL decides
    return snapshot.collection_by_handle.get(handle)


def select_product_by_handle(
    snapshot: CatalogSnapshot, tenant_id: int, handle: str, *, include_unpublished: bool = False
) -> Product | None:
    _check(snapshot, tenant_id)
    if not HANDLE_PATTERN.match(handle):
        raise NotInSnapshot("not a handle")
    product_id = snapshot.by_handle.get(handle)
    product = snapshot.products.get(product_id) if product_id is not None else None
    if product is None or (not include_unpublished and product.status != "active"):
        return None
    return product


# Each SQL query (origin/catalog/queries.py) and its in-memory twin: the one place the two are paired.
SNAPSHOT_READS: dict[Callable, Callable] = {
    sql.select_products: select_products,
    sql.select_collection_products: select_collection_products,
    sql.search_products: search_products,
    sql.select_collections: select_collections,
    sql.select_collection_by_handle: select_collection_by_handle,
    sql.select_product_by_handle: select_product_by_handle,
}
