"""The storefront checkout over the real app (both backends): steps, errors that keep input, no caching,
the signed order page, the cart count, the Stripe webhook endpoint, other tenants."""

from __future__ import annotations

import re

import sqlalchemy as sa

from origin.catalog.tables import variants
from origin.checkout import rules
from origin.orders.tables import orders
from tests.checkout.stripe_fixtures import stripe_for
from tests.storefront.conftest import app, attribute, client, get, parse_html, texts  # noqa: F401  (fixtures)
from tests.storefront.shops import two_shops

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
US = {"email": "ann@example.com", "name": "Ann Buyer", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}


async def _cart(client, shop, variant_id: int, quantity: int = 1) -> None:
    response = await client.post("/cart/add", form={"variant_id": str(variant_id), "quantity": str(quantity)}, headers={"Host": shop.host, **SAME_ORIGIN})
    assert response.status_code == 303


async def _checkout_page(client, shop):
    response, html = await get(client, shop.host, "/checkout")
    return response, parse_html(html)


async def _post(client, shop, path: str, form: dict):
    _, page = await _checkout_page(client, shop)
    token = attribute(page, ".//input[@name='csrf_token']", "value")
    response = await client.post(path, form={"csrf_token": token, **form}, headers={"Host": shop.host, **SAME_ORIGIN})
    return response, await response.get_data(as_text=True)


async def _rules(services, shop) -> dict:
    rate = await rules.do_create_rule(services, shop.tenant.id, "shipping", {"name": "Standard", "kind": "flat", "price": "5.00", "countries": ["US", "DE"]})
    await rules.do_create_rule(services, shop.tenant.id, "taxes", {"country_code": "US", "region": "IL", "rate": "0.0625"})
    return rate


async def test_a_shopper_checks_out_with_manual_payment_and_reads_the_order_page(services, client) -> None:
    acme, _ = await two_shops(services)
    rate = await _rules(services, acme)
    await _cart(client, acme, acme.mug.variants[0].id, 2)

    details, _ = await _post(client, acme, "/checkout/details", US)
    shipping, _ = await _post(client, acme, "/checkout/shipping", {"shipping_rate_id": str(rate["id"])})
    reserved, reserved_html = await _post(client, acme, "/checkout/reserve", {})
    key = attribute(parse_html(reserved_html), ".//input[@name='idempotency_key']", "value")
    paid, _ = await _post(client, acme, "/checkout/pay", {"idempotency_key": key, "payment_provider": "manual"})
    order_page, order_html = await get(client, acme.host, paid.headers["Location"])
    page = parse_html(order_html)

    assert (details.status_code, shipping.status_code, reserved.status_code, paid.status_code) == (303, 303, 200, 303)
    assert re.fullmatch(r"/orders/\d+\?key=[\w.-]+", paid.headers["Location"])
    assert "zelly_cart=;" in paid.headers["Set-Cookie"]
    assert order_page.headers["Cache-Control"] == "private, no-store"
    assert texts(page, ".//h1") == ["Thank you! Order #1001"]
    assert texts(page, ".//dd[@id='order-total']") == ["$22.00"]  # 16.00 + 5.00 shipping + 1.00 tax (6.25 % of 16)
    assert attribute(page, ".//meta[@name='robots']", "content") == "noindex"


async def test_the_checkout_page_is_private_noindex_and_shows_taxes_line_by_line(services, client) -> None:
    acme, _ = await two_shops(services)
    rate = await _rules(services, acme)
    await _cart(client, acme, acme.mug.variants[0].id, 2)
    await _post(client, acme, "/checkout/details", US)
    await _post(client, acme, "/checkout/shipping", {"shipping_rate_id": str(rate["id"])})

    response, page = await _checkout_page(client, acme)

    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert texts(page, ".//table[@class='cart']/tbody/tr/td[4]") == ["$1.00"]
    assert (texts(page, ".//dd[@id='shipping']"), texts(page, ".//dd[@id='tax']"), texts(page, ".//dd[@id='total']")) == (["$5.00"], ["$1.00"], ["$22.00"])


async def test_a_bad_address_is_a_400_that_keeps_what_the_shopper_typed(services, client) -> None:
    acme, _ = await two_shops(services)
    await _rules(services, acme)
    await _cart(client, acme, acme.mug.variants[0].id)

    wrong_zip, wrong_zip_html = await _post(client, acme, "/checkout/details", {**US, "postal_code": "ABCDE"})
    unknown, unknown_html = await _post(client, acme, "/checkout/details", {**US, "country": "XX"})
    page = parse_html(wrong_zip_html)

    assert (wrong_zip.status_code, unknown.status_code) == (400, 400)
    assert texts(page, ".//p[@id='checkout-error']") == ["Enter a valid postal code for United States."]
    assert attribute(page, ".//input[@id='line1']", "value") == "1 Main St"
    assert attribute(parse_html(unknown_html), ".//p[@id='checkout-error']", "data-code") == "unknown_country"


async def test_an_expired_discount_is_refused(services, client) -> None:
    acme, _ = await two_shops(services)
    await _rules(services, acme)
    await rules.do_create_rule(services, acme.tenant.id, "discounts", {"code": "OLD10", "kind": "percentage", "value": "10", "ends_at": "2020-01-01T00:00:00+00:00"})
    await _cart(client, acme, acme.mug.variants[0].id)
    await _post(client, acme, "/checkout/details", US)

    refused, html = await _post(client, acme, "/checkout/discount", {"discount_code": "old10"})

    assert refused.status_code == 400
    assert texts(parse_html(html), ".//p[@id='checkout-error']") == ["That discount code has expired."]


async def test_the_last_unit_goes_to_one_of_two_shoppers_the_other_gets_a_clear_sold_out(services, app) -> None:
    acme, _ = await two_shops(services)
    rate = await _rules(services, acme)
    first, second = app.test_client(), app.test_client()
    shirt = acme.shirt.variants[0].id  # 3 in stock
    for shopper in (first, second):
        await _cart(shopper, acme, shirt, 3)
        await _post(shopper, acme, "/checkout/details", US)
        await _post(shopper, acme, "/checkout/shipping", {"shipping_rate_id": str(rate["id"])})

    held, _ = await _post(first, acme, "/checkout/reserve", {})
    refused, html = await _post(second, acme, "/checkout/reserve", {})

    assert (held.status_code, refused.status_code) == (200, 409)
    assert texts(parse_html(html), ".//p[@id='checkout-error']") == ["Acme Linen Shirt is sold out."]


async def test_another_shops_order_page_and_a_forged_link_are_404(services, client) -> None:
    acme, nordic = await two_shops(services)
    rate = await _rules(services, acme)
    await _cart(client, acme, acme.mug.variants[0].id)
    await _post(client, acme, "/checkout/details", US)
    await _post(client, acme, "/checkout/shipping", {"shipping_rate_id": str(rate["id"])})
    _, html = await _post(client, acme, "/checkout/reserve", {})
    key = attribute(parse_html(html), ".//input[@name='idempotency_key']", "value")
    paid, _ = await _post(client, acme, "/checkout/pay", {"idempotency_key": key, "payment_provider": "manual"})
    path = paid.headers["Location"]

    elsewhere, _ = await get(client, nordic.host, path)
    forged, _ = await get(client, acme.host, path[:-3] + "AAA")

    assert (elsewhere.status_code, forged.status_code) == (404, 404)


async def test_the_cart_count_is_a_small_private_json_answer(services, client) -> None:
    acme, nordic = await two_shops(services)
    await _cart(client, acme, acme.mug.variants[0].id, 3)

    mine = await client.get("/cart/count.json", headers={"Host": acme.host})
    theirs = await client.get("/cart/count.json", headers={"Host": nordic.host})

    assert (await mine.get_json(), await theirs.get_json()) == ({"count": 3}, {"count": 0})
    assert mine.headers["Cache-Control"] == "private, no-store"


async def test_a_stripe_checkout_is_settled_by_the_webhook_endpoint_once(services, client) -> None:
    acme, _ = await two_shops(services)
    rate = await _rules(services, acme)
    async with stripe_for(services) as fake:
        await _cart(client, acme, acme.mug.variants[0].id)
        await _post(client, acme, "/checkout/details", US)
        await _post(client, acme, "/checkout/shipping", {"shipping_rate_id": str(rate["id"])})
        _, html = await _post(client, acme, "/checkout/reserve", {})
        key = attribute(parse_html(html), ".//input[@name='idempotency_key']", "value")
        paid, _ = await _post(client, acme, "/checkout/pay", {"idempotency_key": key, "payment_provider": "stripe"})
        session_id = paid.headers["Location"].rsplit("/", 1)[1]
        payload, header = fake.signed(fake.pay(session_id))

        first = await client.post("/webhooks/stripe", data=payload, headers={"Host": "localhost", "Stripe-Signature": header, "Content-Type": "application/json"})
        replayed = await client.post("/webhooks/stripe", data=payload, headers={"Host": "localhost", "Stripe-Signature": header, "Content-Type": "application/json"})
        forged = await client.post("/webhooks/stripe", data=payload, headers={"Host": "localhost", "Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"})
        async with services.db.connect() as conn:
            order_id = (await conn.execute(sa.select(orders.c.id))).scalar_one()
        back = await client.get(f"/checkout/return?order={order_id}&session_id={session_id}", headers={"Host": acme.host})

    assert paid.headers["Location"] == f"{fake.base_url}/pay/{session_id}"
    assert (first.status_code, await first.get_json()) == (200, {"received": True, "settled": True})
    assert (replayed.status_code, await replayed.get_json()) == (200, {"received": True, "settled": False})
    assert forged.status_code == 400
    assert back.status_code == 303
    async with services.db.connect() as conn:
        assert (await conn.execute(sa.select(orders.c.financial_status))).scalars().all() == ["paid"]
        assert (await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.id == acme.mug.variants[0].id))).scalar_one() == 9
