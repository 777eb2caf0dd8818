"""After placement: mark paid, cancel with restock, fulfil, refund by line, reservation expiry (both backends)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from origin.catalog.inputs import NewVariant
from origin.catalog.tables import variants
from origin.checkout.placement import do_place_order
from origin.checkout.steps import do_release_expired_reservations, do_reserve
from origin.orders.errors import OrderError
from origin.orders.lifecycle import do_cancel_order, do_fulfil_order, do_mark_paid, do_refund_order
from origin.orders.tables import inventory_reservations
from tests.checkout.builders import make_checkout, make_shipping_rate, money, new_key
from tests.conftest import count_rows
from tests.factories import make_product, make_tenant


async def _stock(services, variant_id: int) -> int:
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.id == variant_id))).scalar_one()


async def _placed(services, *, quantities=(2, 1)):
    tenant = await make_tenant(services)
    product = await make_product(
        services, tenant.id,
        variants=[NewVariant(price=Decimal("10.00"), options=["S"], inventory_quantity=5), NewVariant(price=Decimal("30.00"), options=["M"], inventory_quantity=5)],
    )
    rate = await make_shipping_rate(services, tenant.id, price="4.00")
    small, medium = product.variants[0].id, product.variants[1].id
    token = await make_checkout(services, tenant.id, [(small, quantities[0]), (medium, quantities[1])], rate_id=rate["id"])
    placed = await do_place_order(services, tenant.id, token, new_key(), "manual")
    return tenant, placed.order_id, small, medium


async def test_cancelling_a_pending_order_voids_it_and_restocks_once(services) -> None:
    tenant, order_id, small, medium = await _placed(services)

    cancelled = await do_cancel_order(services, tenant.id, order_id)
    again = await do_cancel_order(services, tenant.id, order_id)

    assert (cancelled.financial_status, again.financial_status) == ("voided", "voided")
    assert [event.kind for event in again.events] == ["placed", "cancelled"]
    assert (await _stock(services, small), await _stock(services, medium)) == (5, 5)


async def test_a_paid_order_is_refunded_by_line_then_in_full(services) -> None:
    tenant, order_id, small, medium = await _placed(services)
    paid = await do_mark_paid(services, tenant.id, order_id)
    small_line = next(line for line in paid.lines if line.variant_id == small)

    partial = await do_refund_order(services, tenant.id, order_id, "refund-key-1", lines=[(small_line.id, 1)], restock=True)
    replay = await do_refund_order(services, tenant.id, order_id, "refund-key-1", lines=[(small_line.id, 1)], restock=True)
    full = await do_refund_order(services, tenant.id, order_id, "refund-key-2", lines=None, restock=False)

    assert paid.financial_status == "paid"
    assert (partial.financial_status, partial.refunded_price) == ("partially_refunded", money("10"))
    assert replay.refunded_price == money("10")
    assert (full.financial_status, full.refunded_price, full.total_price) == ("refunded", money("54"), money("54"))
    assert await _stock(services, small) == 4  # 5 - 2 ordered + 1 restocked by the line refund; the full one did not restock


async def test_an_order_is_fulfilled_in_parts_with_tracking(services) -> None:
    tenant, order_id, small, medium = await _placed(services)
    order = await do_mark_paid(services, tenant.id, order_id)
    small_line = next(line for line in order.lines if line.variant_id == small)

    part = await do_fulfil_order(services, tenant.id, order_id, [(small_line.id, 2)], tracking_number="1Z999", tracking_url="https://track.example/1Z999", carrier="UPS")
    rest = await do_fulfil_order(services, tenant.id, order_id, None, tracking_number=None, tracking_url=None, carrier=None)

    assert part.fulfillment_status == "partially_fulfilled"
    assert rest.fulfillment_status == "fulfilled"
    assert [(f.tracking_number, f.lines) for f in rest.fulfillments] == [("1Z999", [{"line_id": small_line.id, "quantity": 2}]), (None, [{"line_id": rest.lines[1].id, "quantity": 1}])]
    with pytest.raises(OrderError) as refused:
        await do_cancel_order(services, tenant.id, order_id)
    assert refused.value.code == "invalid_transition"


@pytest.mark.parametrize("lines", [[(999999, 1)], [("own", 0)], [("own", -1)], [("own", 3)]])
async def test_bad_refund_lines_are_refused_and_change_nothing(services, lines) -> None:
    tenant, order_id, small, medium = await _placed(services)
    order = await do_mark_paid(services, tenant.id, order_id)
    own = next(line.id for line in order.lines if line.variant_id == small)
    requested = [(own if line_id == "own" else line_id, quantity) for line_id, quantity in lines]

    with pytest.raises(OrderError) as refused:
        await do_refund_order(services, tenant.id, order_id, "refund-bad", lines=requested, restock=True)

    assert refused.value.code == "invalid_lines"
    assert await _stock(services, small) == 3


async def test_another_tenant_cannot_touch_the_order(services) -> None:
    tenant, order_id, small, medium = await _placed(services)
    other = await make_tenant(services)

    for action in (
        lambda: do_mark_paid(services, other.id, order_id),
        lambda: do_cancel_order(services, other.id, order_id),
        lambda: do_fulfil_order(services, other.id, order_id, None, tracking_number=None, tracking_url=None, carrier=None),
        lambda: do_refund_order(services, other.id, order_id, "refund-other", lines=None, restock=True),
    ):
        with pytest.raises(OrderError) as refused:
            await action()
        assert (refused.value.code, refused.value.kind.value) == ("not_found", "not_found")
    assert await _stock(services, small) == 3


async def test_a_reservation_holds_stock_and_its_expiry_gives_it_back(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id, variants=[NewVariant(price=Decimal("10.00"), options=["S"], inventory_quantity=3)])
    variant_id = product.variants[0].id
    rate = await make_shipping_rate(services, tenant.id)
    token = await make_checkout(services, tenant.id, [(variant_id, 2)], rate_id=rate["id"])

    await do_reserve(services, tenant.id, token)
    held = await _stock(services, variant_id)
    assert await do_release_expired_reservations(services) == 0
    async with services.db.begin() as conn:
        await conn.execute(inventory_reservations.update().values(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)))
    released = await do_release_expired_reservations(services)

    assert (held, released, await _stock(services, variant_id)) == (1, 1, 3)
    async with services.db.connect() as conn:
        assert await count_rows(conn, inventory_reservations) == 0


async def test_placing_consumes_the_reservation_without_taking_stock_twice(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id, variants=[NewVariant(price=Decimal("10.00"), options=["S"], inventory_quantity=3)])
    variant_id = product.variants[0].id
    rate = await make_shipping_rate(services, tenant.id)
    token = await make_checkout(services, tenant.id, [(variant_id, 2)], rate_id=rate["id"])

    await do_reserve(services, tenant.id, token)
    await do_place_order(services, tenant.id, token, new_key(), "manual")

    assert await _stock(services, variant_id) == 1
    assert await do_release_expired_reservations(services) == 0
    async with services.db.connect() as conn:
        assert await count_rows(conn, inventory_reservations) == 0
