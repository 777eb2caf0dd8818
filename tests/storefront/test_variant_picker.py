"""The variant picker: one radio group per option, each value marked against the others, no JavaScript needed."""

from __future__ import annotations

from decimal import Decimal

from origin.catalog.inputs import NewVariant
from tests.factories import make_product
from tests.storefront.conftest import attribute, get, parse_html, texts
from tests.storefront.shops import two_shops


async def make_chair(services, tenant_id: int):
    # Size x Wood with one combination missing (L / Walnut) and one sold out (M / Walnut).
    return await make_product(
        services,
        tenant_id,
        title="Lounge Chair",
        handle="lounge-chair",
        option_names=["Size", "Wood"],
        variants=[
            NewVariant(price=Decimal("300"), options=["S", "Oak"], inventory_quantity=4),
            NewVariant(price=Decimal("320"), options=["S", "Walnut"], inventory_quantity=2),
            NewVariant(price=Decimal("340"), options=["M", "Oak"], inventory_quantity=1),
            NewVariant(price=Decimal("360"), compare_at_price=Decimal("400"), options=["M", "Walnut"], inventory_quantity=0),
            NewVariant(price=Decimal("380"), options=["L", "Oak"], inventory_quantity=5),
        ],
    )


def picker(page):
    groups = []
    for fieldset in page.findall(".//form[@data-variant-picker]/fieldset"):
        legend = "".join(fieldset.find("legend").itertext())
        values = [
            (radio.get("name"), radio.get("value"), radio.get("data-state"), "checked" in radio.attrib)
            for radio in fieldset.findall(".//input[@type='radio']")
        ]
        groups.append((legend, values))
    return groups


async def test_a_single_variant_needs_no_picker(services, client):
    acme, _ = await two_shops(services)

    _, html = await get(client, acme.host, "/products/mug")
    page = parse_html(html)

    assert page.find(".//form[@data-variant-picker]") is None
    assert attribute(page, ".//input[@name='variant_id']", "value") == str(acme.mug.variants[0].id)


async def test_one_group_per_option_marked_against_the_selection(services, client):
    acme, _ = await two_shops(services)
    chair = await make_chair(services, acme.tenant.id)
    s_oak, s_walnut, m_oak, m_walnut, l_oak = (v.id for v in chair.variants)

    _, first_html = await get(client, acme.host, "/products/lounge-chair")
    _, walnut_html = await get(client, acme.host, f"/products/lounge-chair?variant={m_walnut}")
    first, walnut = parse_html(first_html), parse_html(walnut_html)

    assert picker(first) == [
        ("Size", [("option1", "S", "available", True), ("option1", "M", "available", False), ("option1", "L", "available", False)]),
        ("Wood", [("option2", "Oak", "available", True), ("option2", "Walnut", "available", False)]),
    ]
    assert attribute(first, ".//form[@data-variant-picker]", "action") == "/products/lounge-chair"
    assert attribute(first, ".//form[@data-variant-picker]", "method") == "get"
    assert attribute(first, ".//input[@name='variant_id']", "value") == str(s_oak)
    assert picker(walnut) == [
        ("Size", [("option1", "S", "available", False), ("option1", "M", "sold-out", True), ("option1", "L", "unavailable", False)]),
        ("Wood", [("option2", "Oak", "available", False), ("option2", "Walnut", "sold-out", True)]),
    ]
    assert texts(walnut, ".//form[@data-variant-picker]//label") == ["S", "M · Sold out", "L · Unavailable", "Oak", "Walnut · Sold out"]
    assert texts(walnut, ".//span[@data-price]") == ["$360.00"]
    assert texts(walnut, ".//span[@data-compare-at-amount]") == ["$400.00"]
    assert texts(walnut, ".//p[@data-availability]") == ["Sold out"]
    assert walnut.find(".//button[@data-add-button]").get("disabled") is not None
    assert attribute(walnut, ".//input[@name='variant_id']", "value") == str(m_walnut)


async def test_choosing_values_without_javascript_lands_on_that_variant(services, client):
    acme, nordic = await two_shops(services)
    chair = await make_chair(services, acme.tenant.id)
    s_oak, s_walnut, m_oak, m_walnut, l_oak = (v.id for v in chair.variants)
    await get(client, acme.host, "/products/lounge-chair")  # cached: the option query must not be served from it

    exact = await client.get("/products/lounge-chair?option1=M&option2=Oak", headers={"Host": acme.host})
    missing = await client.get("/products/lounge-chair?option1=L&option2=Walnut", headers={"Host": acme.host})
    nonsense = await client.get("/products/lounge-chair?option1=XXL", headers={"Host": acme.host})
    other_shop = await client.get("/products/lounge-chair?option1=M&option2=Oak", headers={"Host": nordic.host})
    too_long = await client.get("/products/lounge-chair?option1=" + "x" * 300, headers={"Host": acme.host})
    _, landed_html = await get(client, acme.host, exact.headers["Location"])

    assert exact.status_code == 303
    assert exact.headers["Location"] == f"/products/lounge-chair?variant={m_oak}"
    assert exact.headers["Cache-Control"] == "private, no-store"
    # No L / Walnut: the variant keeping the first choice (L / Oak).
    assert missing.headers["Location"] == f"/products/lounge-chair?variant={l_oak}"
    assert nonsense.status_code == 303 and nonsense.headers["Location"] == f"/products/lounge-chair?variant={s_oak}"
    assert other_shop.status_code == 404
    assert too_long.status_code == 400
    assert texts(parse_html(landed_html), ".//span[@data-price]") == ["$340.00"]
    assert attribute(parse_html(landed_html), ".//input[@name='variant_id']", "value") == str(m_oak)
