"""Webhook intake and processing, on the in-memory broker (embedded) and real Redis streams (servers)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from edge.tags import PURGE_CHANNEL, purge_message
from origin.app import create_app
from origin.catalog.tables import products
from origin.customers.tables import customers
from origin.orders.tables import orders
from origin.shopify.tables import shopify_compliance_requests, shopify_connections, shopify_webhook_deliveries
from origin.shopify import processing
from origin.shopify.runs import do_start_sync, get_run
from tests.conftest import count_rows
from tests.fakes.shopify.catalog import FakeCatalog, iso, rest_collection, rest_product
from tests.fakes.shopify.webhooks import signature
from tests.shopify_harness import make_shop, running_fake, running_queues, webhook_sender

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
MARKER_TAG = "test-marker"  # a purge of no real tag: the edges ignore it


@pytest.fixture
async def env(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, fake_shop = await make_shop(services, fake, "acme")
        other, other_fake = await make_shop(services, fake, "other")
        client = create_app(services.settings, services=services).test_client()
        purges: list[list[str]] = []
        markers_seen: set[str] = set()
        async with services.broadcast.subscribe(PURGE_CHANNEL) as messages:  # what the edges receive

            async def record() -> None:
                async for message in messages:
                    tags = json.loads(message)["tags"]
                    if tags[:1] == [MARKER_TAG]:
                        markers_seen.add(tags[1])
                    else:
                        purges.append(tags)

            async def published_purges() -> list[list[str]]:
                # What the drained tasks published, read up to a marker sent after them: one channel keeps
                # the order of the publishes Redis ran, so the marker arrives last. A fixed wait for pub/sub
                # delivery was short on a loaded machine.
                marker = uuid.uuid4().hex
                await services.broadcast.publish(PURGE_CHANNEL, purge_message(tags=[MARKER_TAG, marker]))
                deadline = asyncio.get_running_loop().time() + 30
                while marker not in markers_seen:
                    assert asyncio.get_running_loop().time() < deadline, "the purge channel's marker never arrived"
                    await asyncio.sleep(0.01)
                return purges

            recorder = asyncio.create_task(record())
            yield {"services": services, "fake": fake, "queues": queues, "client": client, "shop": shop, "fake_shop": fake_shop,
                   "other": other, "sender": webhook_sender(client, shop), "other_sender": webhook_sender(client, other),
                   "purges": published_purges}
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder


async def _product_titles(services, tenant_id):
    async with services.db.connect() as conn:
        rows = await conn.execute(sa.select(products.c.shopify_gid, products.c.title).where(products.c.tenant_id == tenant_id))
        return dict(rows.all())


async def test_signed_webhook_is_accepted_and_applied(env):
    services, shop = env["services"], env["shop"]
    product = FakeCatalog().add_product(title="Mug", updated_at=T0)

    response = await env["sender"].send("products/create", rest_product(product))
    await env["queues"].drain()

    assert response.status_code == 200
    assert (await response.get_json()) == {"status": "accepted"}
    assert await _product_titles(services, shop.tenant_id) == {product["id"]: "Mug"}
    async with services.db.connect() as conn:
        row = (await conn.execute(sa.select(products).where(products.c.tenant_id == shop.tenant_id))).one()
    assert row.shopify_gid == product["id"]
    assert int(row.shopify_gid.rsplit("/", 1)[-1]) > 2**53  # exact, never through a float
    assert (row.price_min, row.price_max, bool(row.is_available)) == (Decimal("10.0000"), Decimal("12.0000"), True)
    assert await env["purges"]() == [[f"t{shop.tenant_id}-p{row.id}"]]


@pytest.mark.parametrize("tamper", ["bad_signature", "missing_signature", "body_altered", "unknown_shop", "other_tenants_secret"])
async def test_bad_signatures_get_401_and_nothing_is_enqueued(env, tamper):
    services, shop, sender = env["services"], env["shop"], env["sender"]
    body = sender.encode(rest_product(FakeCatalog().add_product(title="Mug", updated_at=T0)))
    headers = sender.headers("products/create", body)
    if tamper == "bad_signature":
        headers["X-Shopify-Hmac-Sha256"] = signature("wrong-secret", body)
    elif tamper == "missing_signature":
        del headers["X-Shopify-Hmac-Sha256"]
    elif tamper == "body_altered":
        body = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]
    elif tamper == "unknown_shop":
        headers["X-Shopify-Shop-Domain"] = "nobody.myshopify.com"
    elif tamper == "other_tenants_secret":
        headers["X-Shopify-Hmac-Sha256"] = signature(env["other"].secret, body)

    response = await env["client"].post("/webhooks/shopify", data=body, headers=headers)
    await env["queues"].drain()

    assert response.status_code == 401
    assert (await response.get_json())["error"]["code"] == "bad_signature"
    async with services.db.connect() as conn:
        assert await count_rows(conn, shopify_webhook_deliveries) == 0
        assert await count_rows(conn, products) == 0


async def test_missing_webhook_id_is_422(env):
    sender = env["sender"]
    body = sender.encode({"id": 1})
    headers = sender.headers("products/delete", body)
    headers["X-Shopify-Webhook-Id"] = ""

    response = await env["client"].post("/webhooks/shopify", data=body, headers=headers)

    assert response.status_code == 422
    assert (await response.get_json())["error"]["field"] == "X-Shopify-Webhook-Id"


async def test_duplicate_delivery_is_applied_once(env):
    services, shop = env["services"], env["shop"]
    product = FakeCatalog().add_product(title="Mug", updated_at=T0)

    first = await env["sender"].send("products/create", rest_product(product), webhook_id="wh-1")
    second = await env["sender"].send("products/create", rest_product(product), webhook_id="wh-1")
    await env["queues"].drain()
    again = await processing.process_delivery(
        services, tenant_id=shop.tenant_id, webhook_id="wh-1", topic="products/create", body=env["sender"].encode(rest_product(product)).decode()
    )

    assert [(await r.get_json())["status"] for r in (first, second)] == ["accepted", "duplicate"]
    assert again == processing.ALREADY_PROCESSED
    async with services.db.connect() as conn:
        assert await count_rows(conn, shopify_webhook_deliveries) == 1
        assert await count_rows(conn, products, tenant_id=shop.tenant_id) == 1
    assert len(await env["purges"]()) == 1


async def test_out_of_order_updates_keep_the_newest(env):
    services, shop, sender = env["services"], env["shop"], env["sender"]
    catalog = FakeCatalog()
    product = catalog.add_product(title="Old", updated_at=T0)
    newer = rest_product(catalog.touch(product["id"], T0 + dt.timedelta(minutes=5), title="Newest"))
    older = rest_product(catalog.touch(product["id"], T0 + dt.timedelta(minutes=1), title="Stale"))

    await sender.send("products/update", newer)
    await env["queues"].drain()
    await sender.send("products/update", older)
    await env["queues"].drain()

    assert await _product_titles(services, shop.tenant_id) == {product["id"]: "Newest"}


async def test_delete_wins_over_an_older_late_update_and_unknown_delete_is_a_noop(env):
    services, shop, sender = env["services"], env["shop"], env["sender"]
    catalog = FakeCatalog()
    product = catalog.add_product(title="Mug", updated_at=T0)
    await sender.send("products/create", rest_product(product))
    await env["queues"].drain()

    await sender.send("products/delete", {"id": int(product["id"].rsplit("/", 1)[-1])}, triggered_at=iso(T0 + dt.timedelta(minutes=10)))
    await sender.send("products/delete", {"id": 2**60 + 7}, triggered_at=iso(T0))
    await env["queues"].drain()
    await sender.send("products/update", rest_product(catalog.touch(product["id"], T0 + dt.timedelta(minutes=2), title="Late")))
    await env["queues"].drain()

    assert await _product_titles(services, shop.tenant_id) == {}
    async with services.db.connect() as conn:
        processed = await conn.execute(sa.select(sa.func.count()).where(shopify_webhook_deliveries.c.processed_at.is_not(None)))
        assert processed.scalar_one() == 4


async def test_collections_and_inventory_topics(env):
    services, shop, sender = env["services"], env["shop"], env["sender"]
    catalog = FakeCatalog()
    product = catalog.add_product(title="Mug", updated_at=T0, variants=1, inventory=3)
    collection = catalog.add_collection(title="Kitchen", product_ids=[product["id"]], updated_at=T0)
    await sender.send("products/create", rest_product(product))
    await sender.send("collections/create", rest_collection(collection))
    await env["queues"].drain()

    item_id = int(product["variants"][0]["inventoryItem"]["id"].rsplit("/", 1)[-1])
    await sender.send("inventory_levels/update", {"inventory_item_id": item_id, "location_id": 1, "available": 0, "updated_at": iso(T0)})
    await env["queues"].drain()

    async with services.db.connect() as conn:
        row = (await conn.execute(sa.select(products.c.is_available).where(products.c.tenant_id == shop.tenant_id))).one()
        assert row.is_available is False or row.is_available == 0
    await sender.send("collections/delete", {"id": int(collection["id"].rsplit("/", 1)[-1])}, triggered_at=iso(T0 + dt.timedelta(hours=1)))
    await env["queues"].drain()
    async with services.db.connect() as conn:
        from origin.catalog.tables import collections

        assert await count_rows(conn, collections, tenant_id=shop.tenant_id) == 0


async def test_app_uninstalled_disconnects_and_stops_syncing(env):
    services, shop, sender = env["services"], env["shop"], env["sender"]
    env["fake_shop"].bucket.empty()  # the run waits about a second for the refill, while the uninstall lands
    env["fake_shop"].bucket.restore_rate = 1000.0
    run = await do_start_sync(services, shop.tenant_id, "full")
    env["fake"].uninstall_app(shop.domain)  # Shopify revokes the token, then sends app/uninstalled
    await sender.send("app/uninstalled", {"id": 1, "name": "Acme", "domain": shop.domain, "myshopify_domain": shop.domain})
    await env["queues"].drain()

    after = await sender.send("products/create", rest_product(FakeCatalog().add_product(title="Mug", updated_at=T0)))
    await env["queues"].drain()

    async with services.db.connect() as conn:
        status = (await conn.execute(sa.select(shopify_connections.c.status).where(shopify_connections.c.tenant_id == shop.tenant_id))).scalar_one()
    assert status == "disconnected"
    assert (await after.get_json())["status"] == "ignored"
    assert await _product_titles(services, shop.tenant_id) == {}
    assert (await get_run(services, shop.tenant_id, run.id)).state == "failed"
    with pytest.raises(Exception) as raised:
        await do_start_sync(services, shop.tenant_id, "full")
    assert getattr(raised.value, "code", None) == "not_connected"


async def _customer_with_order(services, tenant_id, email):
    async with services.db.begin() as conn:
        await conn.execute(customers.insert().values(tenant_id=tenant_id, email=email, first_name="Ann", last_name="Lee"))
        await conn.execute(orders.insert().values(tenant_id=tenant_id, number="#1001", email=email, currency="USD", total_price="25.50"))


async def test_customers_data_request_exports_the_customer(env):
    services, shop = env["services"], env["shop"]
    await _customer_with_order(services, shop.tenant_id, "ann@example.com")
    await _customer_with_order(services, env["other"].tenant_id, "ann@example.com")

    await env["sender"].send("customers/data_request", {"shop_domain": shop.domain, "customer": {"id": 2**55, "email": "ann@example.com"}, "data_request": {"id": 9}})
    await env["queues"].drain()

    async with services.db.connect() as conn:
        rows = (await conn.execute(sa.select(shopify_compliance_requests))).all()
    assert len(rows) == 1
    assert rows[0].tenant_id == shop.tenant_id
    export = rows[0].result["export"]
    assert export["customer"]["first_name"] == "Ann"
    assert export["orders"] == [{"number": "#1001", "currency": "USD", "total_price": "25.5000", "created_at": export["orders"][0]["created_at"]}]


async def test_customers_redact_erases_the_customer_only_in_that_tenant(env):
    services, shop = env["services"], env["shop"]
    await _customer_with_order(services, shop.tenant_id, "ann@example.com")
    await _customer_with_order(services, env["other"].tenant_id, "ann@example.com")

    await env["sender"].send("customers/redact", {"shop_domain": shop.domain, "customer": {"id": 2**55, "email": "ann@example.com"}})
    await env["queues"].drain()

    async with services.db.connect() as conn:
        assert await count_rows(conn, customers, tenant_id=shop.tenant_id) == 0
        assert await count_rows(conn, customers, tenant_id=env["other"].tenant_id) == 1
        emails = dict((await conn.execute(sa.select(orders.c.tenant_id, orders.c.email))).all())
    assert emails == {shop.tenant_id: None, env["other"].tenant_id: "ann@example.com"}


async def test_shop_redact_erases_the_shops_shopify_data_even_after_uninstall(env):
    services, shop, sender = env["services"], env["shop"], env["sender"]
    await sender.send("products/create", rest_product(FakeCatalog().add_product(title="Mug", updated_at=T0)))
    await env["other_sender"].send("products/create", rest_product(FakeCatalog().add_product(title="Cup", updated_at=T0)))
    await env["queues"].drain()
    env["fake"].uninstall_app(shop.domain)
    await sender.send("app/uninstalled", {"id": 1, "myshopify_domain": shop.domain})
    await env["queues"].drain()

    response = await sender.send("shop/redact", {"shop_id": 1, "shop_domain": shop.domain})
    await env["queues"].drain()

    assert (await response.get_json())["status"] == "accepted"
    async with services.db.connect() as conn:
        assert await count_rows(conn, products, tenant_id=shop.tenant_id) == 0
        assert await count_rows(conn, products, tenant_id=env["other"].tenant_id) == 1
        assert await count_rows(conn, shopify_connections, tenant_id=shop.tenant_id) == 0
        assert await count_rows(conn, shopify_compliance_requests, tenant_id=shop.tenant_id, topic="shop/redact") == 1


async def test_orders_are_stored_with_exact_ids(env):
    services, shop = env["services"], env["shop"]
    order_id = 2**62 + 3
    await env["sender"].send("orders/create", {"id": order_id, "name": "#1001", "email": "a@b.example", "currency": "EUR", "total_price": "19.90", "updated_at": iso(T0)})
    await env["queues"].drain()

    async with services.db.connect() as conn:
        row = (await conn.execute(sa.select(orders).where(orders.c.tenant_id == shop.tenant_id))).one()
    assert row.shopify_gid == f"gid://shopify/Order/{order_id}"
    assert row.payload["id"] == order_id
    assert str(row.total_price) == "19.9000"


async def test_a_handle_taken_by_a_native_product_gets_a_suffix(env):
    services, shop = env["services"], env["shop"]
    async with services.db.begin() as conn:
        await conn.execute(products.insert().values(tenant_id=shop.tenant_id, handle="mug", title="Native mug"))
    product = FakeCatalog().add_product(title="Mug", updated_at=T0)
    product["handle"] = "mug"

    await env["sender"].send("products/create", rest_product(product))
    await env["queues"].drain()

    async with services.db.connect() as conn:
        handles = dict((await conn.execute(sa.select(products.c.title, products.c.handle).where(products.c.tenant_id == shop.tenant_id))).all())
    assert handles == {"Native mug": "mug", "Mug": f"mug-{product['id'].rsplit('/', 1)[-1]}"}


async def test_scheduler_task_queues_incremental_runs_for_idle_connected_shops(env):
    from workers.shopify_tasks import schedule_incremental_syncs

    services, shop, other = env["services"], env["shop"], env["other"]
    env["fake_shop"].bucket.empty()  # keep acme's first run active while the scheduler looks
    env["fake_shop"].bucket.restore_rate = 1000.0
    await do_start_sync(services, shop.tenant_id, "full")

    started = await schedule_incremental_syncs(services=services)
    await env["queues"].drain()

    assert started == 1
    async with services.db.connect() as conn:
        from origin.shopify.tables import shopify_sync_runs

        kinds = (await conn.execute(sa.select(shopify_sync_runs.c.tenant_id, shopify_sync_runs.c.kind).order_by(shopify_sync_runs.c.id))).all()
    assert [tuple(row) for row in kinds] == [(shop.tenant_id, "full"), (other.tenant_id, "incremental")]


async def test_control_characters_from_shopify_are_stripped_not_refused(env):
    services, shop = env["services"], env["shop"]
    product = FakeCatalog().add_product(title="Mug", updated_at=T0)
    body = rest_product(product)
    body["title"] = "Tea\x00 Mug\x07"
    body["vendor"] = "Kiln\x1b Co"
    body["variants"][0]["option1"] = "La\x00rge"

    response = await env["sender"].send("products/create", body)
    await env["queues"].drain()

    assert response.status_code == 200
    assert await _product_titles(services, shop.tenant_id) == {product["id"]: "Tea Mug"}
    async with services.db.connect() as conn:
        row = (await conn.execute(sa.select(products).where(products.c.tenant_id == shop.tenant_id))).one()
    assert row.vendor == "Kiln Co"
