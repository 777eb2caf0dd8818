"""do_place_order: exactly once per Idempotency-Key, no oversell, numbers without gaps (both backends)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
import sqlalchemy as sa

from origin.catalog.inputs import NewVariant
from origin.catalog.tables import products, variants
from origin.checkout import rules
from origin.checkout.carts import select_order_id
from origin.checkout.errors import CheckoutError
from origin.checkout.placement import do_place_order
from origin.orders.records import select_order
from origin.orders.tables import order_lines, orders, payments
from origin.outbox.actions import do_put_email_template
from origin.outbox.tables import email_outbox
from origin.outbox.templates import EmailTemplate, TemplateSources
from tests.checkout.builders import US_ADDRESS, make_checkout, make_shipping_rate, money, new_key
from tests.conftest import count_rows
from tests.factories import make_product, make_tenant


async def _stock(services, variant_id: int) -> int:
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.id == variant_id))).scalar_one()


async def _shop(services, *, quantity: int = 10, policy: str = "deny"):
    tenant = await make_tenant(services)
    product = await make_product(
        services, tenant.id, variants=[NewVariant(price=Decimal("20.00"), options=["S"], inventory_quantity=quantity, inventory_policy=policy)]
    )
    rate = await make_shipping_rate(services, tenant.id)
    return tenant, product.variants[0].id, rate["id"]


async def test_an_order_is_placed_with_lines_payment_and_the_first_number(services) -> None:
    tenant, variant_id, rate_id = await _shop(services)
    token = await make_checkout(services, tenant.id, [(variant_id, 2)], rate_id=rate_id)

    placed = await do_place_order(services, tenant.id, token, new_key(), "manual")

    async with services.db.connect() as conn:
        order = await select_order(conn, tenant.id, placed.order_id)
    assert (order.number, order.financial_status, order.fulfillment_status) == ("#1001", "pending", "unfulfilled")
    assert (order.subtotal_price, order.shipping_price, order.total_price) == (money("40"), money("5"), money("45"))
    assert [(line.variant_id, line.quantity, line.total_price) for line in order.lines] == [(variant_id, 2, money("40"))]
    assert [(p.provider, p.status, p.amount) for p in order.payments] == [("manual", "pending", money("45"))]
    assert [event.kind for event in order.events] == ["placed"]
    assert await _stock(services, variant_id) == 8


async def test_a_replayed_key_returns_the_same_order_and_another_cart_with_it_is_a_conflict(services) -> None:
    tenant, variant_id, rate_id = await _shop(services)
    token = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)
    other_token = await make_checkout(services, tenant.id, [(variant_id, 3)], rate_id=rate_id)
    key = new_key()

    first = await do_place_order(services, tenant.id, token, key, "manual")
    again = await do_place_order(services, tenant.id, token, key, "manual")
    with pytest.raises(CheckoutError) as reused:
        await do_place_order(services, tenant.id, other_token, key, "manual")

    assert (again.order_id, again.number, again.is_replay) == (first.order_id, "#1001", True)
    assert (reused.value.code, reused.value.kind.value) == ("idempotency_key_reused", "conflict")
    async with services.db.connect() as conn:
        assert await count_rows(conn, orders, tenant_id=tenant.id) == 1
    assert await _stock(services, variant_id) == 9


async def test_a_cart_is_ordered_once_even_with_two_keys(services) -> None:
    tenant, variant_id, rate_id = await _shop(services)
    token = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)

    await do_place_order(services, tenant.id, token, new_key(), "manual")
    with pytest.raises(CheckoutError) as second:
        await do_place_order(services, tenant.id, token, new_key(), "manual")

    assert second.value.code == "completed"
    assert await _stock(services, variant_id) == 9


async def test_placement_taxes_each_line_once_at_the_regions_rate_else_the_countrys(services) -> None:
    # Placement reads the applicable tax rates with the checkout (one statement): a line may come back
    # once per matching rate, and must still be priced and written once, at the most specific rate.
    tenant = await make_tenant(services)
    product = await make_product(
        services, tenant.id, variants=[NewVariant(price=Decimal("20.00"), options=[size], inventory_quantity=10) for size in ("S", "M")]
    )
    rate = await make_shipping_rate(services, tenant.id)
    for country, region, value in (("US", "", "0.05"), ("US", "IL", "0.0625"), ("US", "CA", "0.09"), ("DE", "", "0.19")):
        await rules.do_create_rule(services, tenant.id, "taxes", {"country_code": country, "region": region, "rate": value})
    small, medium = (variant.id for variant in product.variants)
    in_illinois = await make_checkout(services, tenant.id, [(small, 2), (medium, 1)], rate_id=rate["id"])
    in_ohio = await make_checkout(services, tenant.id, [(medium, 1), (small, 1)], rate_id=rate["id"], address={**US_ADDRESS, "region": "OH"})

    placed = [await do_place_order(services, tenant.id, token, new_key(), "manual") for token in (in_illinois, in_ohio)]

    async with services.db.connect() as conn:
        illinois, ohio = [await select_order(conn, tenant.id, order.order_id) for order in placed]
    assert [(line.variant_id, line.quantity, line.tax_amount) for line in illinois.lines] == [(small, 2, money("2.5")), (medium, 1, money("1.25"))]
    assert [(line.variant_id, line.quantity, line.tax_amount) for line in ohio.lines] == [(medium, 1, money("1")), (small, 1, money("1"))]
    assert (illinois.tax_price, ohio.tax_price) == (money("3.75"), money("2"))
    assert await _stock(services, small) == 7


async def test_the_order_placed_from_a_cart_is_found_from_the_cart_in_its_own_shop_only(services) -> None:
    # A second Pay on an ordered cart (a reload, another tab) shows the order placed from it.
    tenant, variant_id, rate_id = await _shop(services)
    other = await make_tenant(services, slug="other")
    token = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)
    still_open = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)

    placed = await do_place_order(services, tenant.id, token, new_key(), "manual")

    async with services.db.connect() as conn:
        found = await select_order_id(conn, tenant.id, token)
        elsewhere = await select_order_id(conn, other.id, token)
        not_ordered = await select_order_id(conn, tenant.id, still_open)
    assert (found, elsewhere, not_ordered) == (placed.order_id, None, None)


async def test_concurrent_replays_of_one_key_make_one_order(services) -> None:
    tenant, variant_id, rate_id = await _shop(services)
    token = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)
    key = new_key()

    results = await asyncio.gather(*(do_place_order(services, tenant.id, token, key, "manual") for _ in range(8)))

    assert len({result.order_id for result in results}) == 1
    assert sorted(result.is_replay for result in results) == [False] + [True] * 7
    assert await _stock(services, variant_id) == 9


@pytest.mark.parametrize("bad_key", [None, "", "short", "x" * 256, "has space in it"])
async def test_an_order_needs_a_usable_idempotency_key(services, bad_key) -> None:
    tenant, variant_id, rate_id = await _shop(services)
    token = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)

    with pytest.raises(CheckoutError) as refused:
        await do_place_order(services, tenant.id, token, bad_key, "manual")

    assert (refused.value.code, refused.value.kind.value) == ("invalid_idempotency_key", "invalid")
    assert await _stock(services, variant_id) == 10


async def test_fifty_buyers_for_ten_units_make_ten_orders_and_forty_sold_out_answers(services) -> None:
    tenant, variant_id, rate_id = await _shop(services, quantity=10)
    tokens = [await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id, email=f"buyer{n}@example.com") for n in range(50)]

    async def buy(token: str):
        try:
            return await do_place_order(services, tenant.id, token, new_key(), "manual")
        except CheckoutError as error:
            return error

    results = await asyncio.gather(*(buy(token) for token in tokens))

    placed = [result for result in results if not isinstance(result, CheckoutError)]
    refused = [result for result in results if isinstance(result, CheckoutError)]
    assert len(placed) == 10
    assert [(error.code, error.kind.value) for error in refused] == [("sold_out", "conflict")] * 40
    assert sorted(result.number for result in placed) == [f"#{n}" for n in range(1001, 1011)]
    assert await _stock(services, variant_id) == 0
    async with services.db.connect() as conn:
        assert await count_rows(conn, orders, tenant_id=tenant.id) == 10
        assert await count_rows(conn, order_lines, tenant_id=tenant.id) == 10
        assert await count_rows(conn, payments, tenant_id=tenant.id) == 10
        is_available = (await conn.execute(sa.select(products.c.is_available).where(products.c.tenant_id == tenant.id))).scalar_one()
    assert is_available is False


async def test_a_sold_out_buyer_gets_409_while_another_connection_writes_and_commits_meanwhile(services, monkeypatch) -> None:
    """Another writer (the email sender, a stock edit) committing while a placement is under way must not make
    the placement lose a lock race: on SQLite a deferred transaction whose reads were overtaken by that commit
    cannot write ("database is locked" at once), which after the retries answered 503 to a sold-out buyer."""
    from origin.checkout import placement

    monkeypatch.setattr(placement, "LOCK_CONFLICT_ATTEMPTS", 1)  # a lost race would show as 503, not be retried away
    tenant, variant_id, rate_id = await _shop(services, quantity=1)
    first, second = [await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id) for _ in range(2)]
    await do_place_order(services, tenant.id, first, new_key(), "manual")

    async with services.db.connect() as other:
        # the other writer holds the variant row (and, on SQLite, the write lock) until it commits
        await other.execute(variants.update().where(variants.c.id == variant_id).values(sku="EDITED"))
        attempt = asyncio.create_task(do_place_order(services, tenant.id, second, new_key(), "manual"))
        await asyncio.sleep(0.3)
        if services.db.dialect.name == "sqlite":
            assert not attempt.done()  # waiting for the write lock the other connection holds
        # (MySQL: the stock the placement reads, none, answers sold out without waiting for the locked row)
        await other.commit()
    with pytest.raises(CheckoutError) as refused:
        await attempt
    assert (refused.value.code, refused.value.kind.value) == ("sold_out", "conflict")
    assert await _stock(services, variant_id) == 0


async def test_continue_selling_goes_below_zero_and_untracked_stock_is_never_counted(services) -> None:
    tenant, variant_id, rate_id = await _shop(services, quantity=1, policy="continue")
    untracked = await make_product(services, tenant.id, variants=[NewVariant(price=Decimal("3.00"), options=["S"], inventory_quantity=0)])
    untracked_id = untracked.variants[0].id
    async with services.db.begin() as conn:
        await conn.execute(variants.update().where(variants.c.id == untracked_id).values(is_inventory_tracked=False))
    token = await make_checkout(services, tenant.id, [(variant_id, 3), (untracked_id, 2)], rate_id=rate_id)

    placed = await do_place_order(services, tenant.id, token, new_key(), "manual")

    assert placed.total == "71.00"
    assert await _stock(services, variant_id) == -2
    assert await _stock(services, untracked_id) == 0


async def test_another_tenant_cannot_place_a_cart_of_this_one(services) -> None:
    tenant, variant_id, rate_id = await _shop(services)
    other = await make_tenant(services)
    token = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)

    with pytest.raises(CheckoutError) as refused:
        await do_place_order(services, other.id, token, new_key(), "manual")

    assert (refused.value.code, refused.value.kind.value) == ("not_found", "not_found")
    assert await _stock(services, variant_id) == 10


async def test_the_confirmation_is_built_from_the_placed_order_with_its_real_number_and_the_shops_template(services) -> None:
    # Placement writes the order under a stand-in number and takes the real one (and the stock) just before
    # its commit; the mail and the event are built from what it holds, not re-read: they must show the real one.
    tenant, variant_id, rate_id = await _shop(services, quantity=2)
    await do_put_email_template(
        services, tenant.id, EmailTemplate.ORDER_CONFIRMATION,
        TemplateSources(subject="Thanks for {{ order.number }}", text="{% for line in order.lines %}{{ line.quantity }} x {{ line.title }} = {{ line.total }}\n{% endfor %}Total {{ order.total }}", html="<p>{{ order.number }}</p>"),
    )
    token = await make_checkout(services, tenant.id, [(variant_id, 2)], rate_id=rate_id, email="zoe@example.com")

    placed = await do_place_order(services, tenant.id, token, new_key(), "manual")
    sold_out_token = await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id)
    with pytest.raises(CheckoutError) as refused:
        await do_place_order(services, tenant.id, sold_out_token, new_key(), "manual")

    async with services.db.connect() as conn:
        mails = (await conn.execute(sa.select(email_outbox.c.to_address, email_outbox.c.subject, email_outbox.c.text_body, email_outbox.c.html_body))).all()
        order = await select_order(conn, tenant.id, placed.order_id)
        numbers = (await conn.execute(sa.select(orders.c.number).where(orders.c.tenant_id == tenant.id))).scalars().all()
    assert refused.value.code == "sold_out"
    assert numbers == ["#1001"]  # the refused one left no order, stand-in or not
    assert [(m.to_address, m.subject, m.html_body) for m in mails] == [("zoe@example.com", "Thanks for #1001", "<p>#1001</p>")]
    assert "2 x " in mails[0].text_body and "= $40.00" in mails[0].text_body and "Total $45.00" in mails[0].text_body
    assert [event.message for event in order.events] == ["Order #1001 placed (45.00 USD, manual)"]
