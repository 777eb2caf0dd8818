"""Collections, ordered membership, listings with keyset pagination, sorting, filters and search."""

from __future__ import annotations

from decimal import Decimal

import pytest

from origin.catalog import actions, queries
from origin.catalog.errors import CatalogError
from origin.catalog.inputs import NewVariant
from origin.catalog.tables import collection_products
from tests.conftest import count_rows
from tests.factories import make_collection, make_product, make_tenant


async def _catalog(services, tenant_id: int, prices: list[str]):
    made = []
    for index, price in enumerate(prices):
        made.append(
            await make_product(
                services,
                tenant_id,
                title=f"Item {chr(ord('A') + index)}",
                handle=f"item-{index}",
                variants=[NewVariant(price=price, options=["One"], inventory_quantity=index % 2)],
            )
        )
    return made


async def _walk(services, tenant_id: int, collection_id: int, **options) -> list[list[str]]:
    pages, cursor = [], None
    async with services.db.connect() as conn:
        while True:
            page = await queries.select_collection_products(conn, tenant_id, collection_id, cursor=cursor, **options)
            pages.append([item.handle for item in page.items])
            if page.next_cursor is None:
                return pages
            cursor = page.next_cursor


async def test_manual_order_pages_in_the_order_set(services) -> None:
    tenant = await make_tenant(services)
    made = await _catalog(services, tenant.id, ["5", "3", "9", "1", "7"])
    order = [made[i].id for i in (2, 0, 4, 1, 3)]
    collection = await make_collection(services, tenant.id, order)

    pages = await _walk(services, tenant.id, collection.id, limit=2)

    assert pages == [["item-2", "item-0"], ["item-4", "item-1"], ["item-3"]]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price-asc", ["item-3", "item-1", "item-0", "item-4", "item-2"]),
        ("price-desc", ["item-2", "item-4", "item-0", "item-1", "item-3"]),
        ("title-asc", ["item-0", "item-1", "item-2", "item-3", "item-4"]),
        ("title-desc", ["item-4", "item-3", "item-2", "item-1", "item-0"]),
        ("newest", ["item-4", "item-3", "item-2", "item-1", "item-0"]),
    ],
)
async def test_sorts_page_without_gaps_or_repeats(services, sort: str, expected: list[str]) -> None:
    tenant = await make_tenant(services)
    made = await _catalog(services, tenant.id, ["5", "3", "9", "1", "7"])
    collection = await make_collection(services, tenant.id, [p.id for p in made])

    pages = await _walk(services, tenant.id, collection.id, limit=2, sort=sort)

    assert [handle for page in pages for handle in page] == expected
    assert [len(page) for page in pages] == [2, 2, 1]


async def test_equal_prices_page_by_id(services) -> None:
    tenant = await make_tenant(services)
    made = await _catalog(services, tenant.id, ["4", "4", "4", "4"])
    collection = await make_collection(services, tenant.id, [p.id for p in made])

    pages = await _walk(services, tenant.id, collection.id, limit=3, sort="price-asc")

    assert pages == [["item-0", "item-1", "item-2"], ["item-3"]]


async def test_availability_and_price_filters(services) -> None:
    tenant = await make_tenant(services)
    made = await _catalog(services, tenant.id, ["5", "3", "9", "1", "7"])
    collection = await make_collection(services, tenant.id, [p.id for p in made])

    async with services.db.connect() as conn:
        available = await queries.select_collection_products(conn, tenant.id, collection.id, available_only=True, sort="price-asc")
        ranged = await queries.select_collection_products(
            conn, tenant.id, collection.id, price_min=Decimal("3"), price_max=Decimal("7"), sort="price-asc"
        )

    assert [p.handle for p in available.items] == ["item-3", "item-1"]  # odd indexes have stock
    assert [p.handle for p in ranged.items] == ["item-1", "item-0", "item-4"]
    assert ranged.items[0].image is not None and ranged.items[0].image.url.endswith(".svg")


async def test_listing_hides_drafts_and_other_tenants(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    shown = await make_product(services, tenant.id, handle="shown")
    draft = await make_product(services, tenant.id, handle="draft", status="draft")
    collection = await make_collection(services, tenant.id, [shown.id, draft.id])
    await make_collection(services, other.id, [(await make_product(services, other.id, handle="shown")).id])

    async with services.db.connect() as conn:
        page = await queries.select_collection_products(conn, tenant.id, collection.id)
        as_other = await queries.select_collection_products(conn, other.id, collection.id)
        seller_view = await queries.select_products(conn, tenant.id, status=None)

    assert [p.handle for p in page.items] == ["shown"]
    assert as_other.items == ()
    assert sorted(p.handle for p in seller_view.items) == ["draft", "shown"]


async def test_membership_with_another_tenants_product_is_refused_whole(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    mine = await make_product(services, tenant.id)
    theirs = await make_product(services, other.id)
    collection = await make_collection(services, tenant.id, [mine.id])

    with pytest.raises(CatalogError) as raised:
        await actions.do_set_collection_products(services, tenant.id, collection.id, [theirs.id, mine.id])

    assert raised.value.code == "unknown_product"
    async with services.db.connect() as conn:
        assert await queries.select_collection_product_ids(conn, tenant.id, collection.id) == [mine.id]
        assert await count_rows(conn, collection_products, product_id=theirs.id) == 0


async def test_add_and_remove_members(services) -> None:
    tenant = await make_tenant(services)
    a, b, c = [await make_product(services, tenant.id) for _ in range(3)]
    collection = await make_collection(services, tenant.id, [a.id])

    members = await actions.do_add_collection_products(services, tenant.id, collection.id, [c.id, a.id, b.id])
    await actions.do_remove_collection_product(services, tenant.id, collection.id, c.id)
    with pytest.raises(CatalogError) as missing:
        await actions.do_remove_collection_product(services, tenant.id, collection.id, c.id)

    async with services.db.connect() as conn:
        final = await queries.select_collection_product_ids(conn, tenant.id, collection.id)
    assert members == [a.id, c.id, b.id]
    assert final == [a.id, b.id]
    assert missing.value.code == "unknown_product"


async def test_collection_handles_are_unique_per_tenant(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    await make_collection(services, tenant.id, handle="sale")

    await make_collection(services, other.id, handle="sale")
    with pytest.raises(CatalogError) as raised:
        await make_collection(services, tenant.id, handle="sale")

    assert raised.value.code == "duplicate_handle"


async def test_update_and_delete_collection_scoped_by_tenant(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    collection = await make_collection(services, tenant.id, [(await make_product(services, tenant.id)).id], title="Old")

    with pytest.raises(CatalogError):
        await actions.do_update_collection(services, other.id, collection.id, {"title": "Taken"})
    updated = await actions.do_update_collection(services, tenant.id, collection.id, {"title": "New"})
    await actions.do_delete_collection(services, tenant.id, collection.id)

    async with services.db.connect() as conn:
        assert await queries.select_collection(conn, tenant.id, collection.id) is None
        assert await count_rows(conn, collection_products, collection_id=collection.id) == 0
    assert updated.title == "New"


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ4IiwgMV0", "eyJhIjoxfQ"])
async def test_a_forged_cursor_is_a_clear_error(services, cursor: str) -> None:
    tenant = await make_tenant(services)
    collection = await make_collection(services, tenant.id)

    with pytest.raises(CatalogError) as raised:
        async with services.db.connect() as conn:
            await queries.select_collection_products(conn, tenant.id, collection.id, sort="price-asc", cursor=cursor)

    assert (raised.value.code, raised.value.field) == ("invalid_cursor", "cursor")


async def test_search_matches_title_tags_vendor_case_insensitively(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    await make_product(services, tenant.id, title="Wool Scarf", handle="scarf", tags=["Winter"], vendor="Nordkap")
    await make_product(services, tenant.id, title="Cotton Tee", handle="tee", tags=["summer"], vendor="Sunny")
    await make_product(services, tenant.id, title="100% Wool Hat", handle="hat", tags=["winter"], vendor="Nordkap")
    await make_product(services, other.id, title="Wool Socks", handle="socks")

    async with services.db.connect() as conn:
        wool = await queries.search_products(conn, tenant.id, "WOOL")
        winter_nordkap = await queries.search_products(conn, tenant.id, "winter nordkap")
        percent = await queries.search_products(conn, tenant.id, "100%")
        underscore = await queries.search_products(conn, tenant.id, "_")
        empty = await queries.search_products(conn, tenant.id, "   ")

    assert [p.handle for p in wool.items] == ["hat", "scarf"]
    assert [p.handle for p in winter_nordkap.items] == ["hat", "scarf"]
    assert [p.handle for p in percent.items] == ["hat"]
    assert underscore.items == ()
    assert empty.items == ()
