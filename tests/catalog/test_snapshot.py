"""The catalog snapshot answers exactly what SQL answers (origin/catalog/snapshot.py, issue 14 items 2 and 3).

Random catalogs (hypothesis) on both backends: for every sort, filter, page size
and cursor, and for searches, the in-memory twin returns the same products in
the same order with the same next cursor as the SQL query. Plus tenant
isolation and the per-tenant bound (a 100,000-product store is left to SQL and
holds nothing).
"""

from __future__ import annotations

import datetime as dt
import itertools
import tracemalloc
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st
from sqlalchemy.ext.asyncio import create_async_engine

from origin.catalog import queries as sql
from origin.catalog import snapshot as memory
from origin.catalog.errors import CatalogError
from origin.catalog.tables import collection_products, collections, product_images, products, variants
from tests.factories import make_tenant

_handles = itertools.count(1)
BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
# ASCII words with shared prefixes and case variants, so titles tie after lower() and searches overlap.
WORDS = ("linen", "Linen", "oak", "Oak table", "mug", "blue mug", "a", "ab", "ab c", "zed", "Zed 2", "10 cups")
PRICES = tuple(Decimal(p) for p in ("0.00", "5.00", "9.99", "10.00", "10.01", "250.50"))

product_strategy = st.fixed_dictionaries({
    "title": st.sampled_from(WORDS),
    "vendor": st.sampled_from(("", "Acme", "oak works")),
    "tags": st.lists(st.sampled_from(("demo", "summer", "oak", "blue")), max_size=3, unique=True),
    "status": st.sampled_from(("active", "active", "active", "draft", "archived")),
    "price": st.sampled_from(PRICES),
    "is_available": st.booleans(),
    "minutes": st.integers(0, 3),  # created_at: ties on purpose
    "images": st.integers(0, 2),
})
catalog_strategy = st.fixed_dictionaries({
    "products": st.lists(product_strategy, min_size=0, max_size=12),
    "members": st.lists(st.tuples(st.integers(0, 11), st.integers(0, 3)), max_size=12),  # (product index, position)
})
filter_strategy = st.fixed_dictionaries({
    "available_only": st.booleans(),
    "price_min": st.sampled_from((None, Decimal("0"), Decimal("9.99"), Decimal("10"))),
    "price_max": st.sampled_from((None, Decimal("10.00"), Decimal("250.5"))),
    "limit": st.integers(1, 4),
})


async def insert_catalog(services, tenant_id: int, catalog: dict) -> int:
    """Rows written straight to the tables (exact created_at values, ties included); returns a collection id."""
    async with services.db.begin() as conn:
        ids = []
        for index, item in enumerate(catalog["products"]):
            created_at = BASE_TIME + dt.timedelta(minutes=item["minutes"])
            result = await conn.execute(products.insert().values(
                tenant_id=tenant_id, handle=f"p-{next(_handles)}", title=item["title"], description_html="",
                vendor=item["vendor"], product_type="", tags=",".join(item["tags"]), status=item["status"],
                price_min=item["price"], price_max=item["price"] + (index % 2), compare_at_price_min=None,
                is_available=item["is_available"], created_at=created_at, updated_at=created_at,
            ))
            product_id = result.inserted_primary_key[0]
            ids.append(product_id)
            for position in range(item["images"]):
                await conn.execute(product_images.insert().values(
                    tenant_id=tenant_id, product_id=product_id, url=f"/media/{product_id}-{position}.svg", alt="",
                    position=2 - position, created_at=created_at,
                ))
        result = await conn.execute(collections.insert().values(
            tenant_id=tenant_id, handle=f"c-{next(_handles)}", title="Zed collection", description_html="",
            created_at=BASE_TIME, updated_at=BASE_TIME,
        ))
        collection_id = result.inserted_primary_key[0]
        seen = set()
        for index, position in catalog["members"]:
            if index < len(ids) and ids[index] not in seen:
                seen.add(ids[index])
                await conn.execute(collection_products.insert().values(
                    tenant_id=tenant_id, collection_id=collection_id, product_id=ids[index], position=position,
                ))
    return collection_id


async def every_page(sql_read, memory_read):
    """Walk both sources page by page, each following its own cursors; the pages must be equal."""
    cursor = None
    pages = 0
    while True:
        from_sql = await sql_read(cursor)
        from_memory = memory_read(cursor)
        assert from_memory == from_sql, f"page {pages} after cursor {cursor!r}"
        pages += 1
        if from_sql.next_cursor is None:
            return pages
        cursor = from_sql.next_cursor


@hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(catalog=catalog_strategy, filters=filter_strategy, query=st.sampled_from(("a", "oak", "MUG", "ab c", "blue oak", "zz", "10")))
async def test_the_snapshot_returns_what_sql_returns_for_every_sort_filter_cursor_and_search(services, catalog, filters, query):
    tenant = await make_tenant(services)
    collection_id = await insert_catalog(services, tenant.id, catalog)
    snapshot = await memory.load_snapshot(services.db, tenant.id, version=1)
    limit = filters["limit"]
    listing_filters = {key: filters[key] for key in ("available_only", "price_min", "price_max")}

    async with services.db.connect() as conn:
        for sort in sql.SORTS:
            for status in ("active", None):
                await every_page(
                    lambda cursor: sql.select_products(conn, tenant.id, sort=sort, limit=limit, cursor=cursor, status=status, **listing_filters),
                    lambda cursor: memory.select_products(snapshot, tenant.id, sort=sort, limit=limit, cursor=cursor, status=status, **listing_filters),
                )
            for include_unpublished in (False, True):
                await every_page(
                    lambda cursor: sql.select_collection_products(conn, tenant.id, collection_id, sort=sort, limit=limit, cursor=cursor,
                                                                  include_unpublished=include_unpublished, **listing_filters),
                    lambda cursor: memory.select_collection_products(snapshot, tenant.id, collection_id, sort=sort, limit=limit, cursor=cursor,
                                                                     include_unpublished=include_unpublished, **listing_filters),
                )
        await every_page(
            lambda cursor: sql.search_products(conn, tenant.id, query, limit=limit, cursor=cursor),
            lambda cursor: memory.search_products(snapshot, tenant.id, query, limit=limit, cursor=cursor),
        )
        assert memory.select_collections(snapshot, tenant.id) == await sql.select_collections(conn, tenant.id)
        for handle in [*snapshot.by_handle, "no-such-product"]:
            for include_unpublished in (False, True):
                assert memory.select_product_by_handle(snapshot, tenant.id, handle, include_unpublished=include_unpublished) == \
                    await sql.select_product_by_handle(conn, tenant.id, handle, include_unpublished=include_unpublished)


async def test_bad_limits_sorts_and_cursors_raise_the_same_errors(services):
    tenant = await make_tenant(services)
    collection_id = await insert_catalog(services, tenant.id, {"products": [], "members": []})
    snapshot = await memory.load_snapshot(services.db, tenant.id, version=1)
    cases = [
        ("select_products", (), {"limit": 0}),
        ("select_products", (), {"sort": "random"}),
        ("select_products", (), {"sort": "price-asc", "cursor": "bm90LWpzb24"}),
        ("select_collection_products", (collection_id,), {"sort": "manual", "cursor": sql.encode_cursor(["x", 1])}),
        ("search_products", ("mug",), {"limit": 251}),
    ]

    async with services.db.connect() as conn:
        for name, positional, keywords in cases:
            with pytest.raises(CatalogError) as from_sql:
                await getattr(sql, name)(conn, tenant.id, *positional, **keywords)
            with pytest.raises(CatalogError) as from_memory:
                getattr(memory, name)(snapshot, tenant.id, *positional, **keywords)

            assert (from_memory.value.code, str(from_memory.value)) == (from_sql.value.code, str(from_sql.value)), name


async def test_text_the_database_folds_differently_is_left_to_sql(services):
    tenant = await make_tenant(services)
    await insert_catalog(services, tenant.id, {"products": [dict(title="Café", vendor="", tags=[], status="active", price=Decimal("1"),
                                                                  is_available=True, minutes=0, images=0)], "members": []})
    snapshot = await memory.load_snapshot(services.db, tenant.id, version=1)

    with pytest.raises(memory.NotInSnapshot):
        memory.search_products(snapshot, tenant.id, "cafe")
    with pytest.raises(memory.NotInSnapshot):
        memory.select_product_by_handle(snapshot, tenant.id, "CAFÉ")
    assert snapshot.is_ascii is False


async def test_every_snapshot_query_answers_for_its_own_tenant_only(services):
    acme, nordic = await make_tenant(services, slug="acme"), await make_tenant(services, slug="nordic")
    item = dict(title="Mug", vendor="", tags=["blue"], status="active", price=Decimal("5"), is_available=True, minutes=0, images=1)
    acme_collection = await insert_catalog(services, acme.id, {"products": [item], "members": [(0, 1)]})
    nordic_collection = await insert_catalog(services, nordic.id, {"products": [item, item], "members": [(0, 1), (1, 2)]})
    acme_snapshot = await memory.load_snapshot(services.db, acme.id, version=1)
    handle = next(iter(acme_snapshot.by_handle))

    listing = memory.select_products(acme_snapshot, acme.id)
    members = memory.select_collection_products(acme_snapshot, acme.id, acme_collection)
    found = memory.search_products(acme_snapshot, acme.id, "mug")
    nordic_members = memory.select_collection_products(acme_snapshot, acme.id, nordic_collection)

    assert [p.handle for p in listing.items] == [p.handle for p in members.items] == [p.handle for p in found.items] == [handle]
    assert nordic_members.items == ()  # another tenant's collection id names nothing here
    assert memory.select_product_by_handle(acme_snapshot, acme.id, handle).tenant_id == acme.id
    assert [c.tenant_id for c in memory.select_collections(acme_snapshot, acme.id)] == [acme.id]
    for name, positional in (("select_products", ()), ("select_collection_products", (acme_collection,)), ("search_products", ("mug",)),
                             ("select_collections", ()), ("select_collection_by_handle", ("c-1",)), ("select_product_by_handle", (handle,))):
        with pytest.raises(ValueError):
            getattr(memory, name)(acme_snapshot, nordic.id, *positional)


async def test_a_100000_product_store_is_left_to_sql_and_the_held_snapshots_stay_under_their_bound(services):
    big, small = await make_tenant(services, slug="big"), await make_tenant(services, slug="small")
    rows = [dict(tenant_id=big.id, handle=f"b-{n}", title=f"Product {n}", description_html="<p>A product.</p>", vendor="Acme",
                 product_type="", tags="demo", status="active", price_min=Decimal(n % 500), price_max=Decimal(n % 500),
                 is_available=True, created_at=BASE_TIME, updated_at=BASE_TIME) for n in range(100_000)]
    async with services.db.begin() as conn:
        for start in range(0, len(rows), 5_000):
            await conn.execute(products.insert(), rows[start:start + 5_000])
    await insert_catalog(services, small.id, {"products": [dict(title="Mug", vendor="", tags=[], status="active", price=Decimal("5"),
                                                                 is_available=True, minutes=0, images=1)] * 3, "members": []})
    snapshots = memory.CatalogSnapshots(services.db)

    tracemalloc.start()
    try:
        held_big = await snapshots.ready(big.id, 1)
        held_small = await snapshots.ready(small.id, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    async with services.db.connect() as conn:
        from_sql = await sql.select_products(conn, big.id, sort="price-desc", limit=24)

    assert held_big is None  # above MAX_SNAPSHOT_PRODUCTS: its pages keep reading SQL
    assert snapshots.get(big.id, 1) is None and big.id not in snapshots._building  # counted once per version, not per request
    assert len(memory.select_products(held_small, small.id).items) == 3
    assert len(from_sql.items) == 24 and from_sql.items[0].price_min == Decimal("499.0000")
    assert snapshots.held_bytes() <= memory.MAX_SNAPSHOT_BYTES
    assert peak < 8 * 1024 * 1024  # deciding "too big" costs one COUNT, not 100,000 rows


async def test_memory_per_product_stays_under_the_stated_bound(services):
    tenant = await make_tenant(services)
    count = 2_000
    async with services.db.begin() as conn:
        await conn.execute(products.insert(), [
            dict(tenant_id=tenant.id, handle=f"p-{n}", title=f"Linen shirt {n}", description_html="<p>" + "Soft linen. " * 40 + "</p>",
                 vendor="Acme", product_type="Shirts", tags="demo,summer", status="active", price_min=Decimal("19.99"),
                 price_max=Decimal("24.99"), is_available=True, created_at=BASE_TIME, updated_at=BASE_TIME)
            for n in range(count)
        ])
        ids = (await conn.execute(sa.select(products.c.id).where(products.c.tenant_id == tenant.id))).scalars().all()
        await conn.execute(variants.insert(), [
            dict(tenant_id=tenant.id, product_id=product_id, title=size, sku=f"SKU-{product_id}-{size}", option1=size,
                 price=Decimal("19.99"), position=position, inventory_quantity=4, inventory_policy="deny",
                 created_at=BASE_TIME, updated_at=BASE_TIME)
            for product_id in ids for position, size in enumerate(("S", "M"), 1)
        ])
        await conn.execute(product_images.insert(), [
            dict(tenant_id=tenant.id, product_id=product_id, url=f"/media/demo/acme/p{product_id}.svg", alt="A shirt",
                 width=800, height=800, position=1, created_at=BASE_TIME)
            for product_id in ids
        ])
    tracemalloc.start()
    try:
        snapshot = await memory.load_snapshot(services.db, tenant.id, version=1)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    print(f"snapshot: {held / count:.0f} bytes per product held, estimate {snapshot.approx_bytes / count:.0f}")
    assert len(snapshot.products) == count and len(snapshot.products[ids[0]].variants) == 2
    assert held / count < memory.BYTES_PER_PRODUCT
    # The estimate the byte bound counts is within a third of what is really held.
    assert 0.66 * held <= snapshot.approx_bytes <= 1.5 * held


async def test_a_build_that_fails_is_not_retried_for_the_same_version(services, tmp_path):
    # A database that cannot be reached, of the backend under test: every build fails.
    url = (f"sqlite+aiosqlite:///{tmp_path}/no-such-folder/catalog.db" if services.settings.uses_embedded_database
           else "mysql+aiomysql://root@127.0.0.1:1/nothing")
    unreachable = create_async_engine(url)
    snapshots = memory.CatalogSnapshots(unreachable)
    try:
        first = await snapshots.ready(7, 1)
        retried = snapshots.get(7, 1)
        building_after_get = 7 in snapshots._building
        snapshots.get(7, 2)
        building_for_the_next_version = 7 in snapshots._building
        await snapshots.settle()
    finally:
        await unreachable.dispose()

    assert first is None and retried is None
    assert building_after_get is False  # no rebuild (and no log line) per request for the version that failed
    assert building_for_the_next_version is True  # a new version tries again
