"""do_place_order: exactly once per Idempotency-Key, no oversell, numbers without gaps (both backends)."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import pytest
import sqlalchemy as sa

from origin.catalog.inputs import NewVariant
from origin.cart.carts import Cart
from origin.cart.signing import new_cart_id
from origin.catalog.tables import products, variants
from origin.checkout import rules
from origin.checkout.carts import save_cart, select_order_id
from origin.checkout.steps import do_update_checkout
from origin.checkout.tables import checkouts
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
    # The mail and the event are built from what placement wrote, not re-read: they must show the order's number
    # and the shop's own template, and a refused placement leaves no order and no mail.
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
    assert numbers == ["#1001"]  # the refused one left no order
    assert [(m.to_address, m.subject, m.html_body) for m in mails] == [("zoe@example.com", "Thanks for #1001", "<p>#1001</p>")]
    assert "2 x " in mails[0].text_body and "= $40.00" in mails[0].text_body and "Total $45.00" in mails[0].text_body
    assert [event.message for event in order.events] == ["Order #1001 placed (45.00 USD, manual)"]


@contextlib.contextmanager
def _counting_commits(services):
    """The transactions the engine commits inside the block (SQLAlchemy's own commit event)."""
    commits: list[object] = []

    def count(connection) -> None:
        commits.append(connection)

    sa.event.listen(services.db.sync_engine, "commit", count)
    try:
        yield commits
    finally:
        sa.event.remove(services.db.sync_engine, "commit", count)


async def test_concurrent_placements_of_one_shop_share_transactions_and_each_gets_its_own_order(services) -> None:
    """Group commit: a flash sale's buyers are placed together, a few transactions for many orders, each order whole."""
    tenant, variant_id, rate_id = await _shop(services, quantity=100)
    tokens = [await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id, email=f"buyer{n}@example.com") for n in range(24)]
    with _counting_commits(services) as commits:
        placed = await asyncio.gather(*(do_place_order(services, tenant.id, token, new_key(), "manual") for token in tokens))

    assert len(commits) <= 6, f"{len(commits)} transactions for 24 concurrent placements"
    assert sorted(order.number for order in placed) == [f"#{n}" for n in range(1001, 1025)]
    assert len({order.order_id for order in placed}) == 24 and not any(order.is_replay for order in placed)
    assert await _stock(services, variant_id) == 76
    async with services.db.connect() as conn:
        for order, token in zip(placed, tokens):
            record = await select_order(conn, tenant.id, order.order_id)
            assert await select_order_id(conn, tenant.id, token) == order.order_id  # each order from its own cart
            assert [line.quantity for line in record.lines] == [1] and [p.amount for p in record.payments] == [money("25")]
            assert [event.kind for event in record.events] == ["placed"] and record.number in record.events[0].message
        mails = (await conn.execute(sa.select(email_outbox.c.to_address, email_outbox.c.subject, email_outbox.c.dedupe_key)
                                    .where(email_outbox.c.tenant_id == tenant.id))).all()
    assert sorted(mail.to_address for mail in mails) == sorted(f"buyer{n}@example.com" for n in range(24))
    by_order = {mail.dedupe_key: mail for mail in mails}
    for order in placed:
        assert order.number in by_order[f"order:{order.order_id}:confirmation"].subject


async def _unready_checkout(services, tenant_id: int, variant_id: int) -> str:
    """A cart with email and address but no shipping method chosen."""
    token = new_cart_id()
    await save_cart(services, tenant_id, token, Cart(lines=((variant_id, 1),)))
    await do_update_checkout(services, tenant_id, token, {"email": "ann@example.com", **US_ADDRESS})
    return token


async def _outcome(services, tenant_id: int, token: str, key: str):
    try:
        return await do_place_order(services, tenant_id, token, key, "manual")
    except CheckoutError as error:
        return error.code


async def _statuses(services, tenant_id: int, tokens: list[str]) -> list[str]:
    async with services.db.connect() as conn:
        rows = dict((await conn.execute(sa.select(checkouts.c.token, checkouts.c.status).where(checkouts.c.tenant_id == tenant_id))).all())
    return [rows[token] for token in tokens]


async def test_in_one_batch_an_unready_cart_and_one_past_the_stock_are_refused_and_the_rest_placed_in_one_transaction(services) -> None:
    """Whatever concerns one placement of a batch is answered to it alone; its cart stays open, the others are placed."""
    tenant, variant_id, rate_id = await _shop(services, quantity=2)
    first, second, too_many = [await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id) for _ in range(3)]
    unready = await _unready_checkout(services, tenant.id, variant_id)
    with _counting_commits(services) as commits:
        results = await asyncio.gather(*(_outcome(services, tenant.id, token, new_key()) for token in (first, unready, second, too_many)))

    placed_first, not_ready, placed_second, refused = results
    assert (not_ready, refused) == ("no_shipping_rate", "sold_out")
    assert sorted([placed_first.number, placed_second.number]) == ["#1001", "#1002"]
    assert len(commits) == 1  # one transaction for the four of them
    assert await _stock(services, variant_id) == 0
    assert await _statuses(services, tenant.id, [first, unready, second, too_many]) == ["completed", "open", "completed", "open"]


async def test_in_one_batch_a_double_click_and_a_reused_key_get_the_answers_they_get_alone(services) -> None:
    """A cart twice in a batch, or a key used before, rolls the batch back and each placement is placed on its own."""
    tenant, variant_id, rate_id = await _shop(services, quantity=10)
    used_key = new_key()
    await do_place_order(services, tenant.id, await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id), used_key, "manual")
    clicked, reuser, fine = [await make_checkout(services, tenant.id, [(variant_id, 1)], rate_id=rate_id) for _ in range(3)]
    click_key = new_key()

    first_click, second_click, reused, placed = await asyncio.gather(
        _outcome(services, tenant.id, clicked, click_key), _outcome(services, tenant.id, clicked, click_key),
        _outcome(services, tenant.id, reuser, used_key), _outcome(services, tenant.id, fine, new_key()),
    )

    assert (second_click.order_id, second_click.is_replay, first_click.is_replay) == (first_click.order_id, True, False)
    assert reused == "idempotency_key_reused"
    assert sorted([first_click.number, placed.number]) == ["#1002", "#1003"]  # no number lost to the rolled-back batch
    assert await _stock(services, variant_id) == 7
    assert await _statuses(services, tenant.id, [clicked, reuser, fine]) == ["completed", "open", "completed"]
