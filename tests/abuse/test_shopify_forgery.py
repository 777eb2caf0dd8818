"""Shopify forgeries (issue 13, item 4): forged shop headers, claiming another's shop, a signed body replayed under another topic.

On both backends, through the app's whole stack (the raw-ASGI webhook intake and the seller API).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from origin.app import create_app
from origin.cache import BoundedLru
from origin.catalog.tables import products
from origin.customers.tables import customers
from origin.shopify.tables import shopify_compliance_requests, shopify_connections, shopify_webhook_deliveries
from tests.conftest import count_rows, swap_in_place
from tests.fakes.shopify import make_catalog
from tests.fakes.shopify.catalog import FakeCatalog, rest_product
from tests.fakes.shopify.webhooks import signature
from tests.shopify_harness import make_shop, running_fake, running_queues, webhook_sender
from tests.storefront.conftest import count_queries


@pytest.fixture
async def env(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme")
        other, _ = await make_shop(services, fake, "other")
        client = create_app(services.settings, services=services).test_client()
        yield {"services": services, "fake": fake, "queues": queues, "client": client, "shop": shop, "other": other,
               "sender": webhook_sender(client, shop)}


def now_iso(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).isoformat().replace("+00:00", "Z")


async def post_signed(client, *, shop_domain: str, secret: str, topic: str, body: bytes, triggered_at: str | None = None):
    headers = {
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-Hmac-Sha256": signature(secret, body), "X-Shopify-Webhook-Id": f"forged-{topic}-{len(body)}-{triggered_at}",
        "X-Shopify-Triggered-At": now_iso() if triggered_at is None else triggered_at,
    }
    return await client.post("/webhooks/shopify", data=body, headers=headers)


async def seed_shopify_data(services, tenant_id: int) -> None:
    async with services.db.begin() as conn:
        await conn.execute(customers.insert().values(tenant_id=tenant_id, email="ann@example.com", first_name="Ann", last_name="Lee"))


async def test_forged_shop_headers_are_refused_before_any_lookup_and_cost_no_memory(env):
    services, client = env["services"], env["client"]
    services.shopify_connections.clear()
    body = b'{"id": 1}'
    shapes = ("{}" + "x" * 4000, "shop{}.example.com", "shop{}.myshopify.com.evil.example", "-shop{}.myshopify.com",
              "shop{}.myshopify.com:443", "shop_{}.myshopify.com", "a.b{}.myshopify.com", "")
    forged = [shape.format(index) for index in range(50) for shape in shapes]

    with count_queries(services) as queries:
        responses = [await client.post("/webhooks/shopify", data=body, headers={
            "X-Shopify-Shop-Domain": domain, "X-Shopify-Topic": "products/create", "X-Shopify-Webhook-Id": "w1",
            "X-Shopify-Hmac-Sha256": signature("guess", body)}) for domain in forged]

    assert [response.status_code for response in responses] == [401] * len(forged)
    assert {(await response.get_json())["error"]["code"] for response in responses} == {"bad_signature"}
    assert queries.count == 0
    assert len(services.shopify_connections) == 0


async def test_well_formed_forged_domains_stay_inside_a_bounded_memo(env):
    services, client = env["services"], env["client"]
    swap_in_place(services, shopify_connections=BoundedLru(50))
    body = b'{"id": 1}'

    statuses = {(await client.post("/webhooks/shopify", data=body, headers={
        "X-Shopify-Shop-Domain": f"forged-{index}.myshopify.com", "X-Shopify-Topic": "products/create",
        "X-Shopify-Webhook-Id": "w1", "X-Shopify-Hmac-Sha256": signature("guess", body)})).status_code for index in range(200)}
    genuine = await env["sender"].send("products/create", rest_product(FakeCatalog().add_product(title="Mug")))
    await env["queues"].drain()

    assert statuses == {401}
    assert len(services.shopify_connections) == 50
    assert genuine.status_code == 200
    assert len(services.shopify_connections) == 50


async def test_a_tenant_cannot_connect_another_tenants_shop(env, services):
    client, fake, shop, other = env["client"], env["fake"], env["shop"], env["other"]
    fake.add_shop("mallory.myshopify.com", "shpat_mallory_token", make_catalog(0))
    claim = {"shop_domain": shop.domain, "webhook_secret": "whsec_mallory_secret"}
    auth = {"Authorization": f"Bearer {other.api_token}"}

    with_own_token = await client.put("/api/v1/shopify/connection", json={**claim, "access_token": "shpat_mallory_token"}, headers=auth)
    with_made_up_token = await client.put("/api/v1/shopify/connection", json={**claim, "access_token": "shpat_made_up_token"}, headers=auth)
    own_shop = await client.put("/api/v1/shopify/connection",
                                json={**claim, "shop_domain": "mallory.myshopify.com", "access_token": "shpat_mallory_token"}, headers=auth)

    assert with_own_token.status_code == 403
    assert (await with_own_token.get_json())["error"]["code"] == "shop_not_owned"
    assert with_made_up_token.status_code == 422
    assert [(field["path"], field["code"], field["message"]) for field in (await with_made_up_token.get_json())["error"]["fields"]] == [
        ("access_token", "invalid_token", f"Shopify refused the access token for {shop.domain}")]
    assert own_shop.status_code == 200
    async with services.db.connect() as conn:
        owners = dict((await conn.execute(sa.select(shopify_connections.c.shop_domain, shopify_connections.c.tenant_id))).all())
    assert owners == {shop.domain: shop.tenant_id, "mallory.myshopify.com": other.tenant_id}
    # What Shopify was asked: the shop of each token, nothing else.
    asked = [entry for fake_shop in fake.shops.values() for entry in fake_shop.requests]
    assert len(asked) == 2


@pytest.mark.parametrize(
    ("captured_topic", "captured", "replayed_as"),
    [
        ("customers/redact", {"shop_id": 1, "shop_domain": "acme.myshopify.com", "customer": {"id": 7, "email": "ann@example.com"},
                              "orders_to_redact": []}, "shop/redact"),
        ("customers/data_request", {"shop_id": 1, "shop_domain": "acme.myshopify.com", "customer": {"id": 7, "email": "ann@example.com"},
                                    "orders_requested": [], "data_request": {"id": 9}}, "customers/redact"),
        ("customers/redact", {"shop_id": 1, "shop_domain": "acme.myshopify.com", "customer": {"id": 7, "email": "ann@example.com"},
                              "orders_to_redact": []}, "customers/data_request"),
        ("shop/redact", {"shop_id": 1, "shop_domain": "acme.myshopify.com"}, "app/uninstalled"),
        ("products/create", None, "shop/redact"),
        ("products/create", None, "app/uninstalled"),
        ("products/create", None, "customers/redact"),
        ("shop/update", {"id": 1, "name": "Acme", "myshopify_domain": "acme.myshopify.com", "domain": "acme.example"}, "shop/redact"),
        ("shop/redact", {"shop_id": 1, "shop_domain": "other.myshopify.com"}, "shop/redact"),
    ],
)
async def test_a_captured_signed_body_replayed_under_another_topic_is_refused(env, captured_topic, captured, replayed_as):
    services, client, shop = env["services"], env["client"], env["shop"]
    await seed_shopify_data(services, shop.tenant_id)
    await env["sender"].send("products/create", rest_product(FakeCatalog().add_product(title="Mug")))
    await env["queues"].drain()
    if replayed_as == "shop/redact":  # Shopify's order: uninstalled first (after it, only compliance topics are read)
        env["fake"].uninstall_app(shop.domain)
        await env["sender"].send("app/uninstalled", {"id": 1, "myshopify_domain": shop.domain})
        await env["queues"].drain()
    body = json.dumps(captured if captured is not None else rest_product(FakeCatalog().add_product(title="Cup"))).encode()

    replay = await post_signed(client, shop_domain=shop.domain, secret=shop.secret, topic=replayed_as, body=body)
    await env["queues"].drain()

    assert replay.status_code == 422
    assert (await replay.get_json())["error"]["code"] == "bad_webhook"
    async with services.db.connect() as conn:
        assert await count_rows(conn, products, tenant_id=shop.tenant_id) == 1
        assert await count_rows(conn, customers, tenant_id=shop.tenant_id) == 1
        assert await count_rows(conn, shopify_connections, tenant_id=shop.tenant_id) == 1
        assert await count_rows(conn, shopify_compliance_requests, tenant_id=shop.tenant_id) == 0


@pytest.mark.parametrize("triggered_at", [None, "yesterday", "49h ago", "10 minutes ahead"])
async def test_compliance_deliveries_outside_shopifys_window_are_refused(env, triggered_at):
    services, client, shop = env["services"], env["client"], env["shop"]
    env["fake"].uninstall_app(shop.domain)
    await env["sender"].send("app/uninstalled", {"id": 1, "myshopify_domain": shop.domain})
    await env["queues"].drain()
    stamp = {None: "", "yesterday": "yesterday", "49h ago": now_iso(-dt.timedelta(hours=49)),
             "10 minutes ahead": now_iso(dt.timedelta(minutes=10))}[triggered_at]
    body = json.dumps({"shop_id": 1, "shop_domain": shop.domain}).encode()

    replay = await post_signed(client, shop_domain=shop.domain, secret=shop.secret, topic="shop/redact", body=body, triggered_at=stamp)
    await env["queues"].drain()

    assert replay.status_code == 422
    assert (await replay.get_json())["error"]["field"] == "X-Shopify-Triggered-At"
    async with services.db.connect() as conn:
        assert await count_rows(conn, shopify_connections, tenant_id=shop.tenant_id) == 1


async def test_a_captured_shop_update_replayed_as_app_uninstalled_does_not_disconnect_an_installed_app(env):
    # shop/update sends the Shop resource, the very shape of app/uninstalled, and the topic and time are unsigned:
    # intake accepts it. The worker asks the Admin API with the shop's token, which Shopify revokes on uninstall.
    services, client, shop = env["services"], env["client"], env["shop"]
    captured = json.dumps({"id": 1, "name": "Acme", "myshopify_domain": shop.domain, "domain": "acme.example"}).encode()

    replay = await post_signed(client, shop_domain=shop.domain, secret=shop.secret, topic="app/uninstalled", body=captured)
    await env["queues"].drain()
    after = await env["sender"].send("products/create", rest_product(FakeCatalog().add_product(title="Mug")))
    await env["queues"].drain()

    assert (replay.status_code, (await replay.get_json())["status"]) == (200, "accepted")
    assert (await after.get_json())["status"] == "accepted"  # still connected: deliveries are acted on
    async with services.db.connect() as conn:
        status = (await conn.execute(sa.select(shopify_connections.c.status).where(
            shopify_connections.c.tenant_id == shop.tenant_id))).scalar_one()
        assert status == "connected"
        assert await count_rows(conn, products, tenant_id=shop.tenant_id) == 1

    env["fake"].uninstall_app(shop.domain)  # the real uninstall: the same body now disconnects
    genuine = await post_signed(client, shop_domain=shop.domain, secret=shop.secret, topic="app/uninstalled",
                                body=captured, triggered_at=now_iso(dt.timedelta(seconds=1)))
    await env["queues"].drain()
    assert (await genuine.get_json())["status"] == "accepted"
    async with services.db.connect() as conn:
        status = (await conn.execute(sa.select(shopify_connections.c.status).where(
            shopify_connections.c.tenant_id == shop.tenant_id))).scalar_one()
        assert status == "disconnected"


async def test_shop_redact_for_a_connected_shop_erases_nothing(env):
    services, shop = env["services"], env["shop"]
    await env["sender"].send("products/create", rest_product(FakeCatalog().add_product(title="Mug")))
    await env["queues"].drain()

    response = await env["sender"].send("shop/redact", {"shop_id": 1, "shop_domain": shop.domain})
    await env["queues"].drain()

    assert (response.status_code, (await response.get_json())["status"]) == (200, "ignored")
    async with services.db.connect() as conn:
        assert await count_rows(conn, products, tenant_id=shop.tenant_id) == 1
        assert await count_rows(conn, shopify_connections, tenant_id=shop.tenant_id) == 1
        assert await count_rows(conn, shopify_webhook_deliveries, tenant_id=shop.tenant_id, topic="shop/redact") == 0


async def test_the_genuine_compliance_flow_still_acts(env):
    services, shop, other = env["services"], env["shop"], env["other"]
    await seed_shopify_data(services, shop.tenant_id)
    await seed_shopify_data(services, other.tenant_id)

    redact = await env["sender"].send("customers/redact", {"shop_id": 1, "shop_domain": shop.domain,
                                                           "customer": {"id": 7, "email": "ann@example.com"}, "orders_to_redact": []})
    env["fake"].uninstall_app(shop.domain)
    uninstalled = await env["sender"].send("app/uninstalled", {"id": 1, "name": "Acme", "myshopify_domain": shop.domain})
    await env["queues"].drain()
    shop_redact = await env["sender"].send("shop/redact", {"shop_id": 1, "shop_domain": shop.domain})
    await env["queues"].drain()

    assert [(await r.get_json())["status"] for r in (redact, uninstalled, shop_redact)] == ["accepted"] * 3
    async with services.db.connect() as conn:
        assert await count_rows(conn, customers, tenant_id=shop.tenant_id) == 0
        assert await count_rows(conn, customers, tenant_id=other.tenant_id) == 1
        assert await count_rows(conn, shopify_connections, tenant_id=shop.tenant_id) == 0
        assert await count_rows(conn, shopify_connections, tenant_id=other.tenant_id) == 1
