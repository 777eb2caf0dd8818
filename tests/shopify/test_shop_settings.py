"""Settings between Zelly and Shopify: diff before push, push, fetch; through the seller API and the queues."""

from __future__ import annotations

import sqlalchemy as sa

from origin.app import create_app
from origin.shopify.tables import shopify_shop_snapshots
from origin.tenancy.tables import tenants
from tests.shopify_harness import make_shop, running_fake, running_queues


async def test_diff_then_push_then_fetch(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, fake_shop = await make_shop(services, fake, "acme")
        other, other_fake = await make_shop(services, fake, "other")
        client = create_app(services.settings, services=services).test_client()
        headers = {"Authorization": f"Bearer {shop.api_token}"}

        before = await (await client.get("/api/v1/shopify/settings/diff", headers=headers)).get_json()
        pushed = await client.post("/api/v1/shopify/settings/push", headers=headers)
        await queues.drain()
        after = await (await client.get("/api/v1/shopify/settings/diff", headers=headers)).get_json()
        fetched = await client.post("/api/v1/shopify/settings/fetch", headers=headers)
        await queues.drain()

        async with services.db.connect() as conn:
            tenant = (await conn.execute(sa.select(tenants.c.name, tenants.c.contact_email).where(tenants.c.id == shop.tenant_id))).one()
            other_tenant = (await conn.execute(sa.select(tenants.c.name).where(tenants.c.id == other.tenant_id))).scalar_one()
            snapshot = (await conn.execute(sa.select(shopify_shop_snapshots).where(shopify_shop_snapshots.c.tenant_id == shop.tenant_id))).one()

    assert before == {"changes": [
        {"field": "name", "zelly": "Acme", "shopify": None},
        {"field": "currency", "zelly": "USD", "shopify": None},
        {"field": "storefront_url", "zelly": "https://acme.localhost/", "shopify": None},
    ]}
    assert pushed.status_code == 202
    assert fake_shop.catalog.shop["metafields"] == {"name": "Acme", "currency": "USD", "storefront_url": "https://acme.localhost/"}
    assert other_fake.catalog.shop["metafields"] == {}
    assert after == {"changes": []}
    assert fetched.status_code == 202
    assert tuple(tenant) == ("Fake Shop", "owner@fake-shop.example")
    assert other_tenant == "Other"
    assert (snapshot.currency, snapshot.storefront_url) == ("USD", "https://fake-shop.example")
