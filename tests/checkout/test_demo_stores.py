"""A shopper can buy from each demo store (`zelly seed --demo`): its own rates, taxes and currency, manual payment."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from ops.seed import DEMO_TENANTS, seed_demo
from origin.catalog.tables import variants
from origin.checkout.tables import shipping_rates, tax_rates
from origin.orders.tables import orders
from origin.tenancy import queries as tenancy_queries
from tests.storefront.conftest import app, attribute, client, get, parse_html, texts  # noqa: F401  (fixtures)

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
ADDRESSES = {
    "acme": {"name": "Ann Buyer", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"},
    "nordic": {"name": "Berta Käufer", "line1": "Hauptstr. 1", "line2": "", "city": "Berlin", "region": "", "postal_code": "10115", "country": "DE"},
    "kyoto": {"name": "山田花子", "line1": "下京区四条通1-1", "line2": "", "city": "京都市", "region": "京都府", "postal_code": "600-8001", "country": "JP"},
}


def _round(amount: Decimal, digits: int) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def expected_totals(slug: str, price: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(shipping, tax, total) of one item at ``price`` on the cheapest rate, worked out by hand from the demo's rules."""
    if slug == "acme":  # Illinois: 6.25 % on top, free standard shipping from $75
        shipping = Decimal("0") if price >= 75 else Decimal("5.95")
        tax = _round(price * Decimal("0.0625"), 2)
        return shipping, tax, price + shipping + tax
    if slug == "nordic":  # Germany: 19 % included, on shipping too; free from 50 €
        shipping = Decimal("0") if price >= 50 else Decimal("4.90")
        tax = _round(price * Decimal("0.19") / Decimal("1.19"), 2) + _round(shipping * Decimal("0.19") / Decimal("1.19"), 2)
        return shipping, tax, price + shipping
    shipping = Decimal("0") if price >= 10000 else Decimal("800")  # kyoto: 10 % included, free from 10,000 yen
    tax = _round(price * Decimal("0.10") / Decimal("1.10"), 0) + _round(shipping * Decimal("0.10") / Decimal("1.10"), 0)
    return shipping, tax, price + shipping


async def _form_post(client, host: str, path: str, form: dict):
    _, html = await get(client, host, "/checkout")
    token = attribute(parse_html(html), ".//input[@name='csrf_token']", "value")
    response = await client.post(path, form={"csrf_token": token, **form}, headers={"Host": host, **SAME_ORIGIN})
    return response, await response.get_data(as_text=True)


async def test_every_demo_store_has_rates_and_taxes_for_its_country(services) -> None:
    await seed_demo(services, echo=lambda _: None)

    async with services.db.connect() as conn:
        tenants = {t.slug: t for t in await tenancy_queries.select_tenants(conn)}
        countries = {
            slug: {
                "ships": set(",".join((await conn.execute(sa.select(shipping_rates.c.countries).where(shipping_rates.c.tenant_id == t.id))).scalars()).split(",")),
                "taxes": {(row.country_code, row.is_inclusive) for row in await conn.execute(sa.select(tax_rates).where(tax_rates.c.tenant_id == t.id))},
            }
            for slug, t in tenants.items()
        }

    assert countries["acme"]["ships"] == {"US", "CA"} and ("US", False) in countries["acme"]["taxes"]
    assert countries["nordic"]["ships"] == {"DE", "AT", "NL", "FR"} and {inclusive for _, inclusive in countries["nordic"]["taxes"]} == {True}
    assert countries["kyoto"] == {"ships": {"JP"}, "taxes": {("JP", True)}}


async def test_a_shopper_buys_from_each_demo_store_with_manual_payment(services, app) -> None:
    await seed_demo(services, echo=lambda _: None)
    async with services.db.connect() as conn:
        tenants = {t.slug: t for t in await tenancy_queries.select_tenants(conn)}
    results = {}

    for demo in DEMO_TENANTS:
        tenant, client, host = tenants[demo.slug], app.test_client(), f"{demo.slug}.localhost"
        async with services.db.connect() as conn:
            variant = (
                await conn.execute(
                    sa.select(variants.c.id, variants.c.price, variants.c.inventory_quantity)
                    .where(variants.c.tenant_id == tenant.id, variants.c.inventory_quantity > 0)
                    .order_by(variants.c.id)
                    .limit(1)
                )
            ).one()
        added = await client.post("/cart/add", form={"variant_id": str(variant.id), "quantity": "1"}, headers={"Host": host, **SAME_ORIGIN})
        details, _ = await _form_post(client, host, "/checkout/details", {"email": f"buyer@{demo.slug}.example", **ADDRESSES[demo.slug]})
        _, html = await get(client, host, "/checkout")
        cheapest = attribute(parse_html(html), ".//input[@name='shipping_rate_id']", "value")  # the first offered: standard
        shipping, _ = await _form_post(client, host, "/checkout/shipping", {"shipping_rate_id": cheapest})
        reserved, reserved_html = await _form_post(client, host, "/checkout/reserve", {})
        key = attribute(parse_html(reserved_html), ".//input[@name='idempotency_key']", "value")
        paid, _ = await _form_post(client, host, "/checkout/pay", {"idempotency_key": key, "payment_provider": "manual"})
        order_page, order_html = await get(client, host, paid.headers["Location"])
        async with services.db.connect() as conn:
            order = (await conn.execute(sa.select(orders).where(orders.c.tenant_id == tenant.id))).one()
        results[demo.slug] = {
            "statuses": (added.status_code, details.status_code, shipping.status_code, reserved.status_code, paid.status_code, order_page.status_code),
            "money": (order.currency, order.shipping_price, order.tax_price, order.total_price, order.taxes_included, order.financial_status),
            "heading": texts(parse_html(order_html), ".//h1"),
            "expected": (demo.currency, *expected_totals(demo.slug, variant.price)),
        }

    for slug, result in results.items():
        currency, shipping, tax, total = result["expected"]
        assert result["statuses"] == (303, 303, 303, 200, 303, 200), slug
        assert result["money"] == (currency, shipping, tax, total, slug != "acme", "pending"), slug
        assert result["heading"][0].endswith("#1001"), slug
