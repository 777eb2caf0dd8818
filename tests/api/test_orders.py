"""Orders and checkout rules through the seller API (both backends): list/filter/cursor, get, mark paid,
fulfil, refund by line, cancel with restock, idempotent POSTs, bad input, other stores' 404s."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from origin.catalog.inputs import NewVariant
from origin.catalog.tables import variants
from origin.checkout.placement import do_place_order
from tests.checkout.builders import make_checkout, make_shipping_rate, new_key
from tests.factories import make_product


async def _orders(services, store, count: int = 1, *, quantity: int = 2):
    product = await make_product(services, store.tenant.id, variants=[NewVariant(price=Decimal("10.00"), options=["S"], inventory_quantity=20)])
    rate = await make_shipping_rate(services, store.tenant.id, price="5.00")
    placed = []
    for n in range(count):
        token = await make_checkout(services, store.tenant.id, [(product.variants[0].id, quantity)], rate_id=rate["id"], email=f"buyer{n}@example.com")
        placed.append(await do_place_order(services, store.tenant.id, token, new_key(), "manual"))
    return placed, product.variants[0].id


async def _stock(services, variant_id):
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.id == variant_id))).scalar_one()


async def test_orders_are_listed_newest_first_with_filters_and_a_cursor(client, services, store) -> None:
    placed, _ = await _orders(services, store, 3)
    await client.post(f"/api/v1/orders/{placed[0].order_id}/mark-paid", headers=store.auth)

    first = await (await client.get("/api/v1/orders?limit=2", headers=store.auth)).get_json()
    second = await (await client.get(f"/api/v1/orders?limit=2&cursor={first['next_cursor']}", headers=store.auth)).get_json()
    paid = await (await client.get("/api/v1/orders?financial_status=paid", headers=store.auth)).get_json()
    bad = await client.get("/api/v1/orders?financial_status=maybe", headers=store.auth)

    assert [order["number"] for order in first["items"]] == ["#1003", "#1002"]
    assert ([order["number"] for order in second["items"]], second["next_cursor"]) == (["#1001"], None)
    assert [order["number"] for order in paid["items"]] == ["#1001"]
    assert bad.status_code == 422


async def test_an_order_is_fetched_with_its_money_lines_and_timeline(client, services, store) -> None:
    placed, _ = await _orders(services, store)

    response = await client.get(f"/api/v1/orders/{placed[0].order_id}", headers=store.auth)
    order = await response.get_json()

    assert response.status_code == 200
    assert (order["number"], order["subtotal"], order["shipping"], order["total"], order["financial_status"]) == ("#1001", "20.00", "5.00", "25.00", "pending")
    assert [(line["quantity"], line["unit_price"], line["total"]) for line in order["lines"]] == [(2, "10.00", "20.00")]
    assert [event["kind"] for event in order["events"]] == ["placed"]


async def test_mark_paid_fulfil_and_refund_by_line(client, services, store) -> None:
    placed, variant_id = await _orders(services, store)
    path = f"/api/v1/orders/{placed[0].order_id}"

    paid = await client.post(f"{path}/mark-paid", headers=store.auth)
    line_id = (await paid.get_json())["lines"][0]["id"]
    shipped = await client.post(f"{path}/fulfil", json={"tracking_number": "1Z1", "tracking_url": "https://t.example/1Z1", "carrier": "UPS"}, headers=store.auth)
    no_key = await client.post(f"{path}/refund", json={"lines": [{"line_id": line_id, "quantity": 1}]}, headers=store.auth)
    refunded = await client.post(f"{path}/refund", json={"lines": [{"line_id": line_id, "quantity": 1}]}, headers=store.headers(Idempotency_Key="refund-api-1"))
    replayed = await client.post(f"{path}/refund", json={"lines": [{"line_id": line_id, "quantity": 1}]}, headers=store.headers(Idempotency_Key="refund-api-1"))

    assert (await paid.get_json())["financial_status"] == "paid"
    assert ((await shipped.get_json())["fulfillment_status"], (await shipped.get_json())["fulfillments"][0]["tracking_number"]) == ("fulfilled", "1Z1")
    assert no_key.status_code == 422
    assert ((await refunded.get_json())["financial_status"], (await refunded.get_json())["refunded"]) == ("partially_refunded", "10.00")
    assert (replayed.headers.get("Idempotent-Replayed"), (await replayed.get_json())["refunded"]) == ("true", "10.00")
    assert await _stock(services, variant_id) == 19  # 20 - 2 sold + 1 restocked


async def test_cancel_restocks_and_a_second_cancel_changes_nothing(client, services, store) -> None:
    placed, variant_id = await _orders(services, store, quantity=3)
    path = f"/api/v1/orders/{placed[0].order_id}/cancel"

    cancelled = await client.post(path, json={}, headers=store.auth)
    again = await client.post(path, json={}, headers=store.auth)

    assert ((await cancelled.get_json())["financial_status"], (await again.get_json())["financial_status"]) == ("voided", "voided")
    assert await _stock(services, variant_id) == 20


async def test_bad_bodies_and_transitions_are_4xx_and_change_nothing(client, services, store) -> None:
    placed, variant_id = await _orders(services, store)
    path = f"/api/v1/orders/{placed[0].order_id}"

    negative = await client.post(f"{path}/fulfil", json={"lines": [{"line_id": 1, "quantity": -1}]}, headers=store.auth)
    unknown_line = await client.post(f"{path}/fulfil", json={"lines": [{"line_id": 999999, "quantity": 1}]}, headers=store.auth)
    refund_unpaid = await client.post(f"{path}/refund", json={}, headers=store.headers(Idempotency_Key="refund-unpaid"))
    not_json = await client.post(f"{path}/cancel", data="restock", headers={**store.auth, "Content-Type": "text/plain"})

    assert (negative.status_code, unknown_line.status_code, refund_unpaid.status_code, not_json.status_code) == (422, 422, 409, 415)
    assert await _stock(services, variant_id) == 18


async def test_another_stores_orders_are_404_and_not_listed(client, services, store, other_store) -> None:
    placed, variant_id = await _orders(services, store)
    path = f"/api/v1/orders/{placed[0].order_id}"

    listed = await (await client.get("/api/v1/orders", headers=other_store.auth)).get_json()
    answers = [
        await client.get(path, headers=other_store.auth),
        await client.post(f"{path}/mark-paid", headers=other_store.auth),
        await client.post(f"{path}/cancel", json={}, headers=other_store.auth),
        await client.post(f"{path}/fulfil", json={}, headers=other_store.auth),
        await client.post(f"{path}/refund", json={}, headers=other_store.headers(Idempotency_Key="refund-other")),
    ]

    assert listed == {"items": [], "next_cursor": None}
    assert [answer.status_code for answer in answers] == [404] * 5
    assert await _stock(services, variant_id) == 18


async def test_checkout_rules_are_created_listed_and_kept_per_store(client, store, other_store) -> None:
    shipping = await client.post("/api/v1/shipping", json={"name": "Free over 50", "kind": "free_above", "price": "4.99", "min_subtotal": "50", "countries": ["us", "DE"]}, headers=store.auth)
    tax = await client.post("/api/v1/taxes", json={"country_code": "DE", "rate": "0.19", "is_inclusive": True}, headers=store.auth)
    discount = await client.post("/api/v1/discounts", json={"code": "summer10", "kind": "percentage", "value": "10", "usage_limit": 100}, headers=store.auth)
    duplicate = await client.post("/api/v1/discounts", json={"code": "SUMMER10", "kind": "fixed", "value": "5"}, headers=store.auth)
    bad_country = await client.post("/api/v1/taxes", json={"country_code": "ZZ", "rate": "0.1"}, headers=store.auth)
    negative = await client.post("/api/v1/shipping", json={"name": "Odd", "kind": "flat", "price": "-1"}, headers=store.auth)
    too_many_decimals = await client.post("/api/v1/shipping", json={"name": "Odd", "kind": "flat", "price": "1.001"}, headers=store.auth)
    naive_date = await client.post("/api/v1/discounts", json={"code": "NAIVE", "kind": "fixed", "value": "5", "ends_at": "2026-01-01T00:00:00"}, headers=store.auth)
    rule_path = f"/api/v1/shipping/{(await shipping.get_json())['id']}"
    theirs = await client.get(rule_path, headers=other_store.auth)
    their_delete = await client.delete(rule_path, headers=other_store.auth)
    their_list = await (await client.get("/api/v1/discounts", headers=other_store.auth)).get_json()

    assert shipping.status_code == 201
    assert (await shipping.get_json())["countries"] == ["US", "DE"]
    assert ((await tax.get_json())["rate"], (await tax.get_json())["is_inclusive"]) == ("0.19", True)
    assert ((await discount.get_json())["code"], (await discount.get_json())["times_used"]) == ("SUMMER10", 0)
    assert duplicate.status_code == 409
    assert (bad_country.status_code, negative.status_code, too_many_decimals.status_code, naive_date.status_code) == (422, 422, 422, 422)
    assert (theirs.status_code, their_delete.status_code, their_list) == (404, 404, {"items": []})
