"""The checkout's scheduled sweeps (both backends): expired holds go back, card orders never paid are expired at
Stripe, voided and restocked exactly once, also against a webhook arriving at the same moment."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from origin.catalog.inputs import NewVariant
from origin.catalog.tables import variants
from origin.checkout.placement import do_place_order, start_payment
from origin.checkout.steps import do_reserve
from origin.db import utcnow
from origin.orders.lifecycle import do_cancel_order, settle_payment
from origin.orders.records import select_order
from origin.orders.tables import inventory_reservations, payments
from origin.orders.unpaid import do_expire_unpaid_orders
from origin.payments.stripe import outcome_of_session, providers_of
from tests.checkout.builders import make_checkout, make_shipping_rate, new_key
from tests.checkout.stripe_fixtures import stripe_for
from tests.checkout.sweep_worker import running_sweeps
from tests.conftest import count_rows
from tests.factories import make_product, make_tenant
from workers.checkout_tasks import SWEEP_EVERY, SWEEP_TASK

URLS = {"success_url": "https://shop.example/checkout/return", "cancel_url": "https://shop.example/checkout"}
STOCK = 10


async def _stock(services, variant_id: int) -> int:
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.id == variant_id))).scalar_one()


async def _order(services, tenant_id: int, order_id: int):
    async with services.db.connect() as conn:
        return await select_order(conn, tenant_id, order_id)


async def _shop(services):
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id, variants=[NewVariant(price=Decimal("20.00"), options=["S"], inventory_quantity=STOCK)])
    rate = await make_shipping_rate(services, tenant.id)
    return tenant, product.variants[0].id, rate["id"]


async def _placed(services, provider: str, *, quantity: int = 3, age_seconds: int = 0):
    """An order placed ``age_seconds`` ago (its payment row dated back), its payment opened at the provider."""
    tenant, variant_id, rate_id = await _shop(services)
    token = await make_checkout(services, tenant.id, [(variant_id, quantity)], rate_id=rate_id)
    placed = await do_place_order(services, tenant.id, token, new_key(), provider)
    started = await start_payment(services, tenant.id, placed.order_id, **URLS)
    if age_seconds:
        async with services.db.begin() as conn:
            await conn.execute(payments.update().where(payments.c.order_id == placed.order_id).values(created_at=utcnow() - dt.timedelta(seconds=age_seconds)))
    return tenant, variant_id, placed.order_id, started.reference


def overdue(services) -> int:
    return services.settings.unpaid_order_timeout_seconds + 60


async def test_the_sweep_is_scheduled_every_minute(services) -> None:
    async with running_sweeps(services) as sweeps:
        schedules = await sweeps.schedules()

    assert [(task.task_name, task.cron) for task in schedules] == [(SWEEP_TASK, SWEEP_EVERY)] == [("checkout.sweep", "* * * * *")]


async def test_the_scheduled_task_gives_back_an_expired_hold_once(services) -> None:
    tenant, variant_id, rate_id = await _shop(services)
    token = await make_checkout(services, tenant.id, [(variant_id, 4)], rate_id=rate_id)
    await do_reserve(services, tenant.id, token)
    held = await _stock(services, variant_id)
    async with services.db.begin() as conn:
        await conn.execute(inventory_reservations.update().values(expires_at=utcnow() - dt.timedelta(seconds=1)))

    async with running_sweeps(services) as sweeps:
        await sweeps.tick()
        await sweeps.tick()

    assert (held, await _stock(services, variant_id)) == (STOCK - 4, STOCK)
    async with services.db.connect() as conn:
        assert await count_rows(conn, inventory_reservations) == 0


async def test_the_scheduled_task_expires_an_unpaid_stripe_order_voids_and_restocks_it_once(services) -> None:
    async with stripe_for(services) as fake:
        tenant, variant_id, order_id, session_id = await _placed(services, "stripe", age_seconds=overdue(services))
        fresh_tenant, fresh_variant, fresh_order, fresh_session = await _placed(services, "stripe")

        async with running_sweeps(services) as sweeps:
            await sweeps.tick()
            await sweeps.tick()

        order = await _order(services, tenant.id, order_id)
        assert (order.financial_status, order.cancelled_at is not None) == ("voided", True)
        assert [(event.kind, event.message) for event in order.events] == [
            ("placed", order.events[0].message),
            ("cancelled", "Not paid within 60 minutes: the payment was expired at stripe and the order voided, stock restocked"),
        ]
        assert [payment.status for payment in order.payments] == ["voided"]
        assert await _stock(services, variant_id) == STOCK
        assert fake.sessions[session_id]["status"] == "expired"
        # An order still inside its payment window is left alone, at Stripe too.
        assert (await _order(services, fresh_tenant.id, fresh_order)).financial_status == "pending"
        assert (fake.sessions[fresh_session]["status"], await _stock(services, fresh_variant)) == ("open", STOCK - 3)


async def test_a_shopper_who_paid_just_before_the_sweep_gets_a_paid_order(services) -> None:
    async with stripe_for(services) as fake:
        tenant, variant_id, order_id, session_id = await _placed(services, "stripe", age_seconds=overdue(services))
        fake.pay(session_id)  # paid on Stripe's page; the webhook has not arrived yet

        result = await do_expire_unpaid_orders(services)

        order = await _order(services, tenant.id, order_id)
        assert (result.voided, result.paid, result.kept) == (0, 1, 0)
        assert (order.financial_status, order.cancelled_at) == ("paid", None)
        assert await _stock(services, variant_id) == STOCK - 3
        assert fake.sessions[session_id]["status"] == "complete"


async def test_the_sweep_and_the_expired_webhook_at_the_same_time_restock_once(services) -> None:
    async with stripe_for(services) as fake:
        tenant, variant_id, order_id, session_id = await _placed(services, "stripe", age_seconds=overdue(services))
        provider = providers_of(services).get("stripe")
        expired = await provider.expire(session_id)  # Stripe expired it on its own; its event is on the way

        async def webhook():
            settlement = await settle_payment(services, "stripe", expired)
            return await do_cancel_order(services, settlement.tenant_id, settlement.order_id)

        results = await asyncio.gather(do_expire_unpaid_orders(services), webhook(), do_expire_unpaid_orders(services))

        order = await _order(services, tenant.id, order_id)
        assert order.financial_status == "voided"
        assert [event.kind for event in order.events] == ["placed", "cancelled"]
        assert await _stock(services, variant_id) == STOCK
        assert results[1].financial_status == "voided"


async def test_the_paid_webhook_racing_the_sweep_never_voids_a_paid_order(services) -> None:
    async with stripe_for(services) as fake:
        tenant, variant_id, order_id, session_id = await _placed(services, "stripe", age_seconds=overdue(services))
        event = fake.pay(session_id)
        payload, header = fake.signed(event)

        async def webhook():
            verified = providers_of(services).get("stripe").verify_webhook(payload, header)
            return await settle_payment(services, "stripe", outcome_of_session(verified.data.object))

        sweep, settled = await asyncio.gather(do_expire_unpaid_orders(services), webhook())

        order = await _order(services, tenant.id, order_id)
        assert (order.financial_status, order.cancelled_at) == ("paid", None)
        assert [event.kind for event in order.events] == ["placed", "paid"]
        assert await _stock(services, variant_id) == STOCK - 3
        assert (sweep.voided, sweep.paid) == (0, 1)


async def test_a_provider_that_does_not_answer_leaves_the_order_for_the_next_sweep(services) -> None:
    async with stripe_for(services, timeout_seconds=1) as fake:
        tenant, variant_id, order_id, session_id = await _placed(services, "stripe", age_seconds=overdue(services))
        fake.delay_seconds["/v1/checkout/sessions/"] = 2

        first = await do_expire_unpaid_orders(services)
        fake.delay_seconds.clear()
        pending = await _order(services, tenant.id, order_id)
        second = await do_expire_unpaid_orders(services)

        assert (first.kept, first.voided, pending.financial_status) == (1, 0, "pending")
        assert second.voided == 1
        assert (await _order(services, tenant.id, order_id)).financial_status == "voided"
        assert await _stock(services, variant_id) == STOCK


async def test_manual_orders_wait_for_the_merchant_however_old(services) -> None:
    tenant, variant_id, order_id, _ = await _placed(services, "manual", age_seconds=overdue(services) * 24)

    result = await do_expire_unpaid_orders(services)

    assert (result.voided, result.paid, result.kept) == (0, 0, 0)
    assert (await _order(services, tenant.id, order_id)).financial_status == "pending"
    assert await _stock(services, variant_id) == STOCK - 3


async def test_money_taken_for_an_order_cancelled_by_hand_is_flagged_once_for_a_refund(services) -> None:
    async with stripe_for(services) as fake:
        tenant, variant_id, order_id, session_id = await _placed(services, "stripe")
        await do_cancel_order(services, tenant.id, order_id)  # the merchant, while the shopper is still on Stripe's page
        event = fake.pay(session_id)
        outcome = outcome_of_session(providers_of(services).get("stripe").verify_webhook(*fake.signed(event)).data.object)

        first = await settle_payment(services, "stripe", outcome)
        replayed = await settle_payment(services, "stripe", outcome)

        order = await _order(services, tenant.id, order_id)
        assert (first.changed, replayed.changed, order.financial_status) == (False, False, "voided")
        assert [event.kind for event in order.events] == ["placed", "cancelled", "paid_after_void"]
