"""Order emails go through the outbox once per thing that happened (both backends)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from origin.catalog.inputs import NewVariant
from origin.checkout.errors import CheckoutError
from origin.checkout.placement import do_place_order
from origin.orders.lifecycle import do_fulfil_order, do_mark_paid, do_refund_order
from origin.outbox.tables import email_outbox
from tests.checkout.builders import make_checkout, make_shipping_rate, new_key
from tests.factories import make_product, make_tenant


async def _outbox(services):
    async with services.db.connect() as conn:
        rows = await conn.execute(sa.select(email_outbox.c.template, email_outbox.c.to_address, email_outbox.c.subject, email_outbox.c.text_body).order_by(email_outbox.c.id))
        return rows.all()


async def test_confirmation_paid_shipped_and_refunded_are_each_queued_once(services) -> None:
    tenant = await make_tenant(services, name="Mail Shop")
    product = await make_product(services, tenant.id, title="Blue Mug", variants=[NewVariant(price=Decimal("12.50"), options=["S"], inventory_quantity=5)])
    rate = await make_shipping_rate(services, tenant.id)
    token = await make_checkout(services, tenant.id, [(product.variants[0].id, 2)], rate_id=rate["id"], email="zoe@example.com")
    key = new_key()

    placed = await do_place_order(services, tenant.id, token, key, "manual")
    await do_place_order(services, tenant.id, token, key, "manual")  # a replay mails nothing
    order = await do_mark_paid(services, tenant.id, placed.order_id)
    await do_fulfil_order(services, tenant.id, placed.order_id, None, tracking_number="TRACK123", tracking_url="https://track.example/TRACK123", carrier="DHL")
    await do_refund_order(services, tenant.id, placed.order_id, "refund-mail", lines=[(order.lines[0].id, 1)], restock=False)
    await do_refund_order(services, tenant.id, placed.order_id, "refund-mail", lines=[(order.lines[0].id, 1)], restock=False)

    rows = await _outbox(services)
    assert [(row.template, row.to_address) for row in rows] == [
        ("order_confirmation", "zoe@example.com"), ("payment_received", "zoe@example.com"),
        ("order_shipped", "zoe@example.com"), ("order_refunded", "zoe@example.com"),
    ]
    assert "#1001" in rows[0].subject
    assert "Blue Mug" in rows[0].text_body and "$30.00" in rows[0].text_body  # 2 x 12.50 + 5.00 shipping
    assert "/orders/" in rows[0].text_body and "?key=" in rows[0].text_body
    assert "TRACK123" in rows[2].text_body
    assert "$12.50" in rows[3].text_body


async def test_an_order_that_fails_to_place_mails_nothing(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id, variants=[NewVariant(price=Decimal("5.00"), options=["S"], inventory_quantity=1)])
    rate = await make_shipping_rate(services, tenant.id)
    token = await make_checkout(services, tenant.id, [(product.variants[0].id, 2)], rate_id=rate["id"])

    with pytest.raises(CheckoutError) as refused:
        await do_place_order(services, tenant.id, token, new_key(), "manual")

    assert refused.value.code == "sold_out"
    assert await _outbox(services) == []
