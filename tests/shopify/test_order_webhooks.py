"""Shopify's orders/* and refunds/create webhooks land in the order tables through the lifecycle transitions.

Every webhook is signed like Shopify's and goes through the real intake (POST
/webhooks/shopify) and the SHOPIFY_WEBHOOK queue (in-memory broker on the embedded
backend, Redis streams on the servers one).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from origin.app import create_app
from origin.catalog.tables import variants
from origin.orders.records import select_order
from origin.orders.tables import fulfillments, order_lines, orders, payments, refunds
from origin.outbox.tables import email_outbox
from origin.tasks.tables import task_dead_letters
from tests.conftest import count_rows
from tests.fakes.shopify.catalog import FakeCatalog, rest_product
from tests.fakes.shopify.orders import FakeOrder
from tests.shopify_harness import make_shop, running_fake, running_queues, webhook_sender


@pytest.fixture
async def env(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme")
        other, _ = await make_shop(services, fake, "other")
        client = create_app(services.settings, services=services).test_client()
        catalog = FakeCatalog()
        product = catalog.add_product(title="Mug", variants=2, inventory=5)
        sender = webhook_sender(client, shop)
        await sender.send("products/create", rest_product(product))  # the synced product the orders are of
        await queues.drain()
        yield {"services": services, "queues": queues, "client": client, "shop": shop, "other": other, "catalog": catalog,
               "product": product, "sender": sender, "other_sender": webhook_sender(client, other)}


def _order(env, quantities=(2, 1), **options) -> FakeOrder:
    product = env["product"]
    lines = [(dict(variant, product_id=product["id"], product_title=product["title"]), quantity) for variant, quantity in zip(product["variants"], quantities)]
    return FakeOrder(env["catalog"], lines, **options)


async def _send(env, topic: str, body: dict, *, webhook_id: str | None = None, sender: str = "sender"):
    response = await env[sender].send(topic, body, webhook_id=webhook_id)
    await env["queues"].drain()
    assert response.status_code == 200
    return (await response.get_json())["status"]


async def _the_order(services, tenant_id: int):
    async with services.db.connect() as conn:
        order_id = (await conn.execute(sa.select(orders.c.id).where(orders.c.tenant_id == tenant_id))).scalar_one()
        return await select_order(conn, tenant_id, order_id)


async def _stock(services, tenant_id: int) -> list[int]:
    async with services.db.connect() as conn:
        rows = await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.tenant_id == tenant_id).order_by(variants.c.position))
        return list(rows.scalars())


async def _counts(services, tenant_id: int) -> dict[str, int]:
    async with services.db.connect() as conn:
        return {
            table.name: await count_rows(conn, table, tenant_id=tenant_id)
            for table in (orders, order_lines, payments, fulfillments, refunds, email_outbox)
        }


async def test_an_order_from_shopify_is_placed_paid_fulfilled_and_refunded_through_the_lifecycle(env):
    services, shop = env["services"], env["shop"]
    shopify = _order(env)

    await _send(env, "orders/create", shopify.snapshot())
    placed = await _the_order(services, shop.tenant_id)
    await _send(env, "orders/paid", shopify.pay())
    await _send(env, "orders/partially_fulfilled", shopify.fulfil([(0, 2)], tracking_number="1Z999", company="UPS"))
    refund = shopify.refund([(1, 1)], "11.00")
    await _send(env, "refunds/create", refund)
    await _send(env, "orders/updated", shopify.snapshot())
    order = await _the_order(services, shop.tenant_id)

    assert (placed.number, placed.source, placed.financial_status, placed.fulfillment_status) == ("#1001", "shopify", "pending", "unfulfilled")
    assert (order.number, order.email, order.currency, order.total_price) == ("#1001", "ann@example.com", "USD", Decimal("36.0000"))
    assert (order.subtotal_price, order.shipping_price, order.shipping_method) == (Decimal("31.0000"), Decimal("5.0000"), "Standard")
    assert order.shipping_address == {"name": "Ann Lee", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}
    assert (order.financial_status, order.fulfillment_status, order.refunded_price) == ("partially_refunded", "fulfilled", Decimal("11.0000"))
    assert [(line.title, line.variant_title, line.quantity, line.unit_price, line.fulfilled_quantity, line.refunded_quantity, line.is_stock_tracked) for line in order.lines] == [
        ("Mug", "Size 1", 2, Decimal("10.0000"), 2, 0, False),
        ("Mug", "Size 2", 1, Decimal("11.0000"), 0, 1, False),
    ]
    assert all(line.variant_id is not None and line.product_id is not None for line in order.lines)  # matched to the synced variants
    assert [(f.tracking_number, f.tracking_url, f.carrier) for f in order.fulfillments] == [("1Z999", "https://track.example/1Z999", "UPS")]
    assert [(p.provider, p.status, p.refunded_amount) for p in order.payments] == [("shopify", "succeeded", Decimal("11.0000"))]
    assert [event.kind for event in order.events] == ["placed", "paid", "fulfilled", "refunded"]
    assert await _stock(services, shop.tenant_id) == [5, 5]  # Shopify owns this stock: never decremented, never restocked here
    assert (await _counts(services, shop.tenant_id))["email_outbox"] == 0  # Shopify mails its own buyers


async def test_replays_and_duplicates_change_nothing_twice(env):
    services, shop = env["services"], env["shop"]
    shopify = _order(env)
    created = shopify.snapshot()
    await _send(env, "orders/create", created, webhook_id="wh-create")
    paid = shopify.pay()
    await _send(env, "orders/paid", paid)
    fulfilled = shopify.fulfil([(0, 2), (1, 1)], tracking_number="1Z1")
    await _send(env, "orders/fulfilled", fulfilled)
    refund = shopify.refund([(0, 1)], "10.00")
    await _send(env, "refunds/create", refund, webhook_id="wh-refund")
    latest = shopify.snapshot()
    await _send(env, "orders/updated", latest)
    before = await _the_order(services, shop.tenant_id)
    counts = await _counts(services, shop.tenant_id)

    statuses = [
        await _send(env, "orders/create", created, webhook_id="wh-create"),  # Shopify's retry: the same webhook id
        await _send(env, "refunds/create", refund, webhook_id="wh-refund"),
        await _send(env, "refunds/create", refund),  # the same refund under another webhook id
        await _send(env, "orders/paid", paid),
        await _send(env, "orders/fulfilled", fulfilled),
        await _send(env, "orders/updated", latest),
        await _send(env, "orders/updated", latest),
    ]
    after = await _the_order(services, shop.tenant_id)

    assert statuses == ["duplicate", "duplicate", "accepted", "accepted", "accepted", "accepted", "accepted"]
    assert counts == {"orders": 1, "order_lines": 2, "payments": 1, "fulfillments": 1, "refunds": 1, "email_outbox": 0}
    assert await _counts(services, shop.tenant_id) == counts
    assert (after.financial_status, after.fulfillment_status, after.refunded_price) == ("partially_refunded", "fulfilled", Decimal("10.0000"))
    assert [event.kind for event in after.events] == [event.kind for event in before.events] == ["placed", "paid", "fulfilled", "refunded"]


async def test_out_of_order_deliveries_end_in_shopifys_state(env):
    services, shop = env["services"], env["shop"]
    shopify = _order(env)
    created = shopify.snapshot()
    paid = shopify.pay()
    refund = shopify.refund([(1, 1)], "11.00")
    after_refund = shopify.snapshot()
    cancelled = shopify.cancel()

    # Newest first: the refund before its order exists, the cancellation before the order's creation.
    first = await _send(env, "refunds/create", refund)
    async with services.db.connect() as conn:
        nothing_yet = await count_rows(conn, orders, tenant_id=shop.tenant_id)
    await _send(env, "orders/cancelled", cancelled)
    await _send(env, "orders/updated", after_refund)
    await _send(env, "orders/paid", paid)
    await _send(env, "orders/create", created)
    await _send(env, "refunds/create", refund)
    order = await _the_order(services, shop.tenant_id)

    assert (first, nothing_yet) == ("accepted", 0)
    assert order.cancelled_at is not None
    assert (order.financial_status, order.refunded_price) == ("partially_refunded", Decimal("11.0000"))
    assert [line.refunded_quantity for line in order.lines] == [0, 1]
    assert [event.kind for event in order.events] == ["placed", "paid", "refunded", "cancelled"]
    async with services.db.connect() as conn:
        kept = (await conn.execute(sa.select(orders.c.payload).where(orders.c.id == order.id))).scalar_one()
    assert kept["updated_at"] == cancelled["updated_at"]  # the older documents never overwrote the newer one
    assert await _stock(services, shop.tenant_id) == [5, 5]
    assert (await _counts(services, shop.tenant_id))["refunds"] == 1


async def test_cancelling_an_unpaid_shopify_order_voids_it_without_restocking(env):
    services, shop = env["services"], env["shop"]
    shopify = _order(env)
    await _send(env, "orders/create", shopify.snapshot())

    await _send(env, "orders/cancelled", shopify.cancel())
    await _send(env, "orders/cancelled", shopify.snapshot())
    order = await _the_order(services, shop.tenant_id)

    assert (order.financial_status, order.fulfillment_status) == ("voided", "unfulfilled")
    assert [(p.status) for p in order.payments] == ["voided"]
    assert [event.kind for event in order.events] == ["placed", "cancelled"]
    assert await _stock(services, shop.tenant_id) == [5, 5]


async def test_an_authorized_order_is_paid_when_captured(env):
    services, shop = env["services"], env["shop"]
    shopify = _order(env, financial_status="authorized")

    await _send(env, "orders/create", shopify.snapshot())
    authorized = await _the_order(services, shop.tenant_id)
    await _send(env, "orders/paid", shopify.pay())
    paid = await _the_order(services, shop.tenant_id)

    assert authorized.financial_status == "authorized"
    assert paid.financial_status == "paid"
    assert [event.kind for event in paid.events] == ["placed", "authorized", "paid"]


async def test_shopifys_name_is_kept_unless_a_checkout_order_has_that_number(env):
    services, shop = env["services"], env["shop"]
    async with services.db.begin() as conn:
        await conn.execute(orders.insert().values(tenant_id=shop.tenant_id, number="#1001", currency="USD", total_price="1.00", source="checkout"))

    await _send(env, "orders/create", _order(env, name="#1001").snapshot())
    await _send(env, "orders/create", _order(env, name="#1002").snapshot())

    async with services.db.connect() as conn:
        rows = await conn.execute(sa.select(orders.c.number, orders.c.source).where(orders.c.tenant_id == shop.tenant_id).order_by(orders.c.id))
        assert [tuple(row) for row in rows] == [("#1001", "checkout"), ("#1001 (Shopify)", "shopify"), ("#1002", "shopify")]


async def test_the_same_shopify_order_id_in_another_shop_is_another_order(env):
    services, shop, other = env["services"], env["shop"], env["other"]
    shopify = _order(env)
    created = shopify.snapshot()
    await _send(env, "orders/create", created)
    refund_of_acmes_order = shopify.refund([(0, 1)], "10.00")
    shopify.pay()

    await _send(env, "orders/create", created, sender="other_sender")
    await _send(env, "refunds/create", refund_of_acmes_order, sender="other_sender")
    mine, theirs = await _the_order(services, shop.tenant_id), await _the_order(services, other.tenant_id)

    assert mine.id != theirs.id
    assert (mine.financial_status, theirs.financial_status) == ("pending", "partially_refunded")
    assert (await _counts(services, shop.tenant_id))["refunds"] == 0
    assert [line.variant_id for line in theirs.lines] == [None, None]  # the other shop never synced those variants


async def test_a_malformed_order_is_dead_lettered_not_half_written(env):
    services, shop = env["services"], env["shop"]
    body = _order(env).snapshot()
    body["line_items"][1]["quantity"] = "two"

    status = await _send(env, "orders/create", body)

    assert status == "accepted"
    async with services.db.connect() as conn:
        assert await count_rows(conn, orders, tenant_id=shop.tenant_id) == 0
        letters = (await conn.execute(sa.select(task_dead_letters).where(task_dead_letters.c.tenant_id == shop.tenant_id))).all()
    assert len(letters) == 1
