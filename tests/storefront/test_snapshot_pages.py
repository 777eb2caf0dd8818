"""Pages read from the catalog snapshot show a write on the next request after its purge (issue 14, item 3).

Both backends. The write comes from this process's catalog action, and from
elsewhere: on MariaDB + Redis another process (its own Services, its own
remembered versions) whose purge reaches this one over the purge channel; on
the embedded default, which is one process, another connection writing the
table and publishing the purge.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from origin.catalog.actions import do_update_variant
from origin.catalog.inputs import NewVariant
from origin.catalog.tables import products
from origin.invalidation import publish_purge
from origin.services import open_services
from origin.web.storefront.page_cache import local_snapshots
from tests.factories import make_collection, make_product, make_tenant
from tests.storefront.conftest import count_queries, get, parse_html, settle, texts

HOST = "acme.localhost"
PRICES = ".//ul[@class='grid']/li//span[@class='price']"


async def shop(services):
    tenant = await make_tenant(services, slug="acme")
    await make_tenant(services, slug="nordic")
    mug = await make_product(services, tenant.id, title="Mug", handle="mug", option_names=[],
                             variants=[NewVariant(price=Decimal("8.00"), inventory_quantity=3)])
    await make_collection(services, tenant.id, [mug.id], handle="kitchen", title="Kitchen")
    return tenant, mug


async def snapshot_ready(client, services, tenant_id: int) -> None:
    version = await services.catalog_versions.get(tenant_id)
    assert await local_snapshots(client.app).ready(tenant_id, version) is not None


async def test_a_price_change_shows_on_the_next_listing_product_and_search_miss(services, client):
    tenant, mug = await shop(services)
    await get(client, HOST, "/collections/kitchen")
    await snapshot_ready(client, services, tenant.id)
    with count_queries(services) as from_memory:
        _, before = await get(client, HOST, "/collections/kitchen?price_min=1")

    await do_update_variant(services, tenant.id, mug.variants[0].id, {"price": "9.50"})
    _, listing = await get(client, HOST, "/collections/kitchen?price_min=2")
    _, product = await get(client, HOST, "/products/mug")
    _, search = await get(client, HOST, "/search?q=mug")
    await snapshot_ready(client, services, tenant.id)
    with count_queries(services) as rebuilt:
        _, listing_from_memory = await get(client, HOST, "/collections/kitchen?price_min=3")

    assert from_memory.count == 0 and rebuilt.count == 0
    assert texts(parse_html(before), PRICES) == ["$8.00"]
    assert texts(parse_html(listing), PRICES) == ["$9.50"]
    assert texts(parse_html(product), ".//span[@data-price]") == ["$9.50"]
    assert texts(parse_html(search), PRICES) == ["$9.50"]
    assert texts(parse_html(listing_from_memory), PRICES) == ["$9.50"]


async def test_a_write_from_elsewhere_is_seen_after_its_purge_arrives(services, settings, client):
    tenant, mug = await shop(services)
    await get(client, HOST, "/collections/kitchen")
    await snapshot_ready(client, services, tenant.id)
    _, before = await get(client, HOST, "/collections/kitchen?price_min=1")

    if settings.uses_embedded_database:
        # One process: another connection writes, then the purge is published as any writer does.
        async with services.db.begin() as conn:
            await conn.execute(products.update().where(products.c.id == mug.id).values(title="Mug from SQL"))
        _, stale = await get(client, HOST, "/collections/kitchen?price_min=2")
        await publish_purge(services, tenant.id, [f"t{tenant.id}-p{mug.id}"])
    else:
        async with open_services(settings, with_analytics=False) as other_process:
            _, stale = await get(client, HOST, "/collections/kitchen?price_min=2")
            await do_update_variant(other_process, tenant.id, mug.variants[0].id, {"price": "9.50"})
            async with other_process.db.begin() as conn:
                await conn.execute(products.update().where(products.c.id == mug.id).values(title="Mug from SQL"))
            await publish_purge(other_process, tenant.id, [f"t{tenant.id}-p{mug.id}"])
        for _ in range(300):  # the purge crosses Redis pub/sub to this process's listener
            if tenant.id not in services.catalog_versions._versions:
                break
            await asyncio.sleep(0.01)
    _, after = await get(client, HOST, "/collections/kitchen?price_min=3")
    await snapshot_ready(client, services, tenant.id)
    _, after_from_memory = await get(client, HOST, "/collections/kitchen?price_min=4")

    titles = ".//ul[@class='grid']/li//h3"
    assert texts(parse_html(before), titles) == ["Mug"]
    assert texts(parse_html(stale), titles) == ["Mug"]  # the snapshot of this version, until the purge
    assert texts(parse_html(after), titles) == ["Mug from SQL"]
    assert texts(parse_html(after_from_memory), titles) == ["Mug from SQL"]
    if not settings.uses_embedded_database:
        assert texts(parse_html(after), PRICES) == ["$9.50"]


async def test_a_snapshot_never_answers_for_another_tenant_s_pages(services, client):
    tenant, _ = await shop(services)
    nordic = await make_tenant(services, slug="nordic2")
    await make_product(services, nordic.id, title="Nordic Mug", handle="mug", option_names=[],
                       variants=[NewVariant(price=Decimal("99.00"), inventory_quantity=3)])
    await get(client, HOST, "/collections/kitchen")
    await snapshot_ready(client, services, tenant.id)

    _, acme_mug = await get(client, HOST, "/products/mug")
    _, nordic_mug = await get(client, "nordic2.localhost", "/products/mug")
    _, nordic_search = await get(client, "nordic2.localhost", "/search?q=mug")
    _, nordic_kitchen = await get(client, "nordic2.localhost", "/collections/kitchen")

    assert texts(parse_html(acme_mug), ".//h1") == ["Mug"]
    assert texts(parse_html(nordic_mug), ".//h1") == ["Nordic Mug"]
    assert texts(parse_html(nordic_search), ".//ul[@class='grid']/li//h3") == ["Nordic Mug"]
    assert "Kitchen" not in nordic_kitchen


async def test_a_store_too_big_to_hold_is_served_from_sql(services, client):
    tenant, _ = await shop(services)
    await make_product(services, tenant.id, title="Bowl", handle="bowl")
    snapshots = local_snapshots(client.app)
    snapshots.max_products = 1  # the store has two

    await get(client, HOST, "/collections/kitchen")
    await settle(client)
    with count_queries(services) as queries:
        response, html = await get(client, HOST, "/collections/kitchen?price_min=5")

    assert response.status_code == 200
    assert texts(parse_html(html), PRICES) == ["$8.00"]
    assert snapshots.get(tenant.id, await services.catalog_versions.get(tenant.id)) is None
    # Its products and their images (the collection record is in the read cache): no second COUNT for this version.
    assert queries.count == 2
