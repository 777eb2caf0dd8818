"""Page cache, HTTP caching headers, invalidation after catalog writes, database round trips."""

from __future__ import annotations

import asyncio
import contextlib
import pickle
from decimal import Decimal

import pytest

from origin.catalog.actions import do_update_product, do_update_variant
from origin.catalog.tables import products
from origin.invalidation import publish_purge
from origin.services import open_services
from origin.catalog_versions import CatalogVersions
from origin.web.storefront.local_cache import LocalPages
from origin.web.storefront.page_cache import PAGE_CODEC, make_page, page_cache_key
from origin.tenancy.actions import do_issue_api_token
from tests.factories import make_product, make_tenant
from tests.storefront.conftest import count_queries, get, parse_html, settle, sql_only, texts
from tests.storefront.shops import two_shops
from tests.test_shared_cache import write_raw

SHARED = "public, max-age=0, s-maxage=600, stale-while-revalidate=60, stale-if-error=86400"


async def test_cacheable_page_headers_and_304(services, client):
    acme, _ = await two_shops(services)

    first, _ = await get(client, acme.host, "/products/linen-shirt")
    revalidated, body = await get(client, acme.host, "/products/linen-shirt", **{"If-None-Match": first.headers["ETag"]})
    other_etag, _ = await get(client, acme.host, "/products/linen-shirt", **{"If-None-Match": '"stale"'})

    tenant_id = acme.tenant.id
    assert first.headers["Cache-Control"] == SHARED
    assert first.headers["Cache-Tag"] == f"t{tenant_id},t{tenant_id}-p{acme.shirt.id}"
    assert revalidated.status_code == 304
    assert body == ""
    assert revalidated.headers["ETag"] == first.headers["ETag"]
    assert other_etag.status_code == 200


async def test_second_request_is_served_from_the_cache_without_the_database(services, client):
    acme, _ = await two_shops(services)
    await get(client, acme.host, "/collections/summer")
    await settle(client)

    with count_queries(services) as queries:
        response, _ = await get(client, acme.host, "/collections/summer")

    assert response.status_code == 200
    assert queries.count == 0


async def test_product_page_miss_takes_three_round_trips_from_sql(services, client):
    sql_only(client)
    acme, _ = await two_shops(services)
    await get(client, acme.host, "/")  # the host is resolved and its site cached

    with count_queries(services) as queries:
        response, _ = await get(client, acme.host, "/products/mug")

    assert response.status_code == 200
    assert queries.count == 3  # product, variants, images


async def test_page_misses_take_no_round_trip_once_the_catalog_snapshot_is_built(services, client):
    acme, _ = await two_shops(services)
    with count_queries(services) as building:
        await get(client, acme.host, "/")  # answered from SQL; the snapshot is built beside it
        await settle(client)

    with count_queries(services) as queries:
        product, _ = await get(client, acme.host, "/products/mug")
        listing, _ = await get(client, acme.host, "/collections/summer?price_min=1")
        search, _ = await get(client, acme.host, "/search?q=mug")

    assert (product.status_code, listing.status_code, search.status_code) == (200, 200, 200)
    assert queries.count == 0
    # Host resolution (4), the snapshot's product count and its six statements (7), and the home page's own reads
    # (collections, its products and their images: 3) unless the snapshot it started was ready first: on
    # MariaDB it sometimes is (seen 1 time in 2), and then the page reads less. Never more than that.
    assert 4 + 7 <= building.count <= 4 + 3 + 7


async def test_cold_host_resolution_adds_four_round_trips_once(services, client):
    sql_only(client)
    acme, _ = await two_shops(services)

    with count_queries(services) as queries:
        await get(client, acme.host, "/products/mug")
    with count_queries(services) as warm:
        await get(client, acme.host, "/products/linen-shirt")

    # Tenant by slug; after its catalog version, the tenant by id, primary domain, theme templates
    # (origin/tenancy/resolution.py: the record's stamp); + the product's 3.
    assert queries.count == 7
    assert warm.count == 3


async def test_price_change_through_the_catalog_action_shows_on_the_next_request(services, client):
    acme, nordic = await two_shops(services)
    _, before = await get(client, acme.host, "/products/linen-shirt")
    _, nordic_before = await get(client, nordic.host, "/products/linen-shirt")

    await do_update_variant(services, acme.tenant.id, acme.shirt.variants[0].id, {"price": "15.00"})
    _, after = await get(client, acme.host, "/products/linen-shirt")
    _, listing = await get(client, acme.host, "/collections/summer")
    _, nordic_after = await get(client, nordic.host, "/products/linen-shirt")

    assert texts(parse_html(before), ".//span[@data-price]") == ["$1,234.50"]
    assert texts(parse_html(after), ".//span[@data-price]") == ["$15.00"]
    assert texts(parse_html(listing), ".//ul[@class='grid']/li//span[@class='price']")[0] == "From $15.00"
    assert nordic_after == nordic_before


async def test_title_change_through_do_update_product(services, client):
    acme, _ = await two_shops(services)
    await get(client, acme.host, "/products/mug")

    await do_update_product(services, acme.tenant.id, acme.mug.id, {"title": "Big Mug"})
    _, after = await get(client, acme.host, "/products/mug")

    assert texts(parse_html(after), ".//h1") == ["Big Mug"]


async def test_direct_table_write_is_seen_after_publish_purge(services, client):
    acme, _ = await two_shops(services)
    await get(client, acme.host, "/products/mug")
    async with services.db.begin() as conn:
        await conn.execute(products.update().where(products.c.id == acme.mug.id).values(title="Renamed In SQL"))

    _, stale = await get(client, acme.host, "/products/mug")
    await publish_purge(services, acme.tenant.id, [f"t{acme.tenant.id}-p{acme.mug.id}"])
    _, fresh = await get(client, acme.host, "/products/mug")

    assert texts(parse_html(stale), ".//h1") == ["Acme Mug"]  # cached until the purge
    assert texts(parse_html(fresh), ".//h1") == ["Renamed In SQL"]


async def test_cart_responses_are_private_and_never_cached(services, client):
    acme, _ = await two_shops(services)
    variant_id = acme.mug.variants[0].id

    added = await client.post("/cart/add", form={"variant_id": str(variant_id), "quantity": "1"}, headers={"Host": acme.host})
    cookie = added.headers["Set-Cookie"].split(";")[0]
    cart, html = await get(client, acme.host, "/cart", Cookie=cookie)
    empty, empty_html = await get(client.app.test_client(), acme.host, "/cart")  # a shopper with no cookie jar

    for response in (added, cart, empty):
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "Cache-Tag" not in response.headers and "ETag" not in response.headers
    assert texts(parse_html(html), ".//table[@class='cart']//td/a") == ["Acme Mug"]
    assert texts(parse_html(empty_html), ".//p[@class='notice']") == ["Your cart is empty. Continue shopping."]


async def test_cached_pages_are_keyed_by_tenant_version(services, client):
    acme, nordic = await two_shops(services)
    _, acme_html = await get(client, acme.host, "/")
    await settle(client)

    await do_update_product(services, nordic.tenant.id, nordic.mug.id, {"title": "Nordic Cup"})
    with count_queries(services) as queries:
        _, again = await get(client, acme.host, "/")

    assert again == acme_html
    assert queries.count == 0  # another tenant's write leaves acme's cache alone


async def test_hit_is_identical_on_repeat_and_price_decimal_is_exact(services, client):
    acme, _ = await two_shops(services)

    _, first = await get(client, acme.host, "/products/linen-shirt")
    _, second = await get(client, acme.host, "/products/linen-shirt")

    assert first == second
    assert acme.shirt.variants[0].price == Decimal("1234.5000")


@pytest.mark.parametrize("backend", ["servers"], indirect=True)
async def test_another_processes_purge_reaches_remembered_versions(services, settings):
    tenant = await make_tenant(services)
    async with open_services(settings, with_analytics=False) as other_process:
        versions = CatalogVersions(other_process.cache, other_process.broadcast, remember=True, ttl=60)
        remembered = await versions.get(tenant.id)
        listener = asyncio.create_task(versions.listen())
        await asyncio.sleep(0.2)  # subscribed
        await make_product(services, tenant.id)  # this process writes and publishes its purge
        for _ in range(200):
            if tenant.id not in versions._versions:
                break
            await asyncio.sleep(0.01)
        current = await versions.get(tenant.id)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener

    assert (remembered, current) == (0, 1)


def test_local_pages_stay_within_their_byte_budget():
    pages = LocalPages(max_bytes=1600)

    for number in range(20):
        pages.put(f"k{number}", number, 100)

    assert pages.get("k3") is None
    assert pages.get("k19") == 19
    assert pages._bytes == 1600


async def test_price_change_through_the_seller_api_shows_on_the_next_request(services, client):
    acme, _ = await two_shops(services)
    token = (await do_issue_api_token(services, acme.tenant.id)).token
    _, before = await get(client, acme.host, "/products/linen-shirt")

    response = await client.patch(
        f"/api/v1/products/{acme.shirt.id}/variants/{acme.shirt.variants[0].id}",
        json={"price": "15.00"}, headers={"Host": "localhost", "Authorization": f"Bearer {token}"},
    )
    _, after = await get(client, acme.host, "/products/linen-shirt")

    assert response.status_code == 200
    assert texts(parse_html(before), ".//span[@data-price]") == ["$1,234.50"]
    assert texts(parse_html(after), ".//span[@data-price]") == ["$15.00"]


async def test_a_page_pickled_into_the_shared_cache_is_rendered_afresh(services, client):
    acme, _ = await two_shops(services)
    version = await services.catalog_versions.read(acme.tenant.id)
    key = page_cache_key(acme.tenant.id, version, acme.host, "/products/linen-shirt", [], acme.tenant.currency)
    await write_raw(services, key, pickle.dumps(make_page("<h1>Forged</h1>", [f"t{acme.tenant.id}"])))

    response, html = await get(client, acme.host, "/products/linen-shirt")
    stored = await services.cache.get(key, PAGE_CODEC)

    assert response.status_code == 200
    assert "Forged" not in html
    assert stored is not None and stored.body.decode() == html  # the fresh render replaced it, as JSON + body
