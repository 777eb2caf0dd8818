"""Stripe through the official client against the fake: one session per order, one settlement, no double charge."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from origin.catalog.inputs import NewVariant
from origin.checkout.placement import do_place_order, start_payment
from origin.orders.lifecycle import do_refund_order, settle_payment
from origin.orders.errors import OrderError
from origin.orders.records import select_order
from origin.orders.unpaid import do_cancel_unpaid_order
from origin.payments.errors import PaymentError, PaymentUnavailable
from origin.payments.stripe import outcome_of_session, providers_of
from tests.checkout.builders import make_checkout, make_shipping_rate, money, new_key
from tests.checkout.stripe_fixtures import stripe_for
from tests.factories import make_product, make_tenant

URLS = {"success_url": "https://shop.example/checkout/return", "cancel_url": "https://shop.example/checkout"}


async def _stripe_order(services, *, currency: str = "USD", price: str = "20.00", quantity: int = 2):
    tenant = await make_tenant(services, currency=currency)
    product = await make_product(services, tenant.id, variants=[NewVariant(price=Decimal(price), options=["S"], inventory_quantity=10)])
    rate = await make_shipping_rate(services, tenant.id, price="0" if currency == "JPY" else "5.00")
    token = await make_checkout(services, tenant.id, [(product.variants[0].id, quantity)], rate_id=rate["id"])
    key = new_key()
    placed = await do_place_order(services, tenant.id, token, key, "stripe")
    return tenant, placed, token, key


async def _order(services, tenant_id, order_id):
    async with services.db.connect() as conn:
        return await select_order(conn, tenant_id, order_id)


def _webhook(services, fake, event):
    payload, header = fake.signed(event)
    return providers_of(services).get("stripe").verify_webhook(payload, header)


async def test_a_session_is_opened_once_per_order_in_minor_units(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services)

        first = await start_payment(services, tenant.id, placed.order_id, **URLS)
        again = await start_payment(services, tenant.id, placed.order_id, **URLS)

        assert first.reference == again.reference
        assert list(fake.sessions) == [first.reference]
        session = fake.sessions[first.reference]
        assert (session["amount_total"], session["currency"], session["customer_email"]) == (4500, "usd", "ann@example.com")
        assert first.redirect_url == f"{fake.base_url}/pay/{first.reference}"


async def test_yen_have_no_minor_units(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services, currency="JPY", price="1500", quantity=1)

        started = await start_payment(services, tenant.id, placed.order_id, **URLS)

        assert (fake.sessions[started.reference]["amount_total"], fake.sessions[started.reference]["currency"]) == (1500, "jpy")
        assert placed.total == "1500"


async def test_the_redirect_and_the_webhook_racing_settle_the_order_once(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        started = await start_payment(services, tenant.id, placed.order_id, **URLS)
        event = fake.pay(started.reference)
        provider = providers_of(services).get("stripe")

        async def redirect_back():
            return await settle_payment(services, "stripe", await provider.lookup(started.reference))

        async def webhook():
            verified = _webhook(services, fake, event)
            return await settle_payment(services, "stripe", outcome_of_session(verified.data.object))

        results = await asyncio.gather(redirect_back(), webhook())
        replayed = await webhook()

        assert sorted(result.changed for result in results) == [False, True]
        assert replayed.changed is False
        order = await _order(services, tenant.id, placed.order_id)
        assert order.financial_status == "paid"
        assert [event.kind for event in order.events] == ["placed", "paid"]
        assert [(p.status, p.provider_payment_id) for p in order.payments] == [("succeeded", fake.sessions[started.reference]["payment_intent"])]
        assert len(fake.payment_intents) == 1


async def test_a_timeout_opening_the_session_is_retried_into_the_same_session(services) -> None:
    async with stripe_for(services, timeout_seconds=1) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        fake.delay_seconds["/v1/checkout/sessions"] = 2

        with pytest.raises(PaymentUnavailable):
            await start_payment(services, tenant.id, placed.order_id, **URLS)
        fake.delay_seconds.clear()
        replay = await do_place_order(services, tenant.id, token, key, "stripe")
        retried = await start_payment(services, tenant.id, replay.order_id, **URLS)

        assert replay.order_id == placed.order_id
        assert list(fake.sessions) == [retried.reference]


async def test_a_timeout_after_capture_leaves_the_order_pending_until_the_webhook_reconciles_it(services) -> None:
    async with stripe_for(services, timeout_seconds=1) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        started = await start_payment(services, tenant.id, placed.order_id, **URLS)
        event = fake.pay(started.reference)
        fake.delay_seconds["/v1/checkout/sessions/"] = 2
        provider = providers_of(services).get("stripe")

        with pytest.raises(PaymentUnavailable):
            await provider.lookup(started.reference)
        pending = await _order(services, tenant.id, placed.order_id)
        settled = await settle_payment(services, "stripe", outcome_of_session(_webhook(services, fake, event).data.object))

        assert pending.financial_status == "pending"
        assert settled.changed is True
        assert (await _order(services, tenant.id, placed.order_id)).financial_status == "paid"
        assert len(fake.payment_intents) == 1


async def test_webhooks_with_a_wrong_or_stale_signature_are_refused(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        started = await start_payment(services, tenant.id, placed.order_id, **URLS)
        event = fake.pay(started.reference)
        provider = providers_of(services).get("stripe")
        payload, _ = fake.signed(event)
        _, wrong = fake.signed(event, secret="whsec_someone_else")
        _, stale = fake.signed(event, timestamp=1_000_000_000)

        for header in (wrong, stale, None, "t=1,v1=00"):
            with pytest.raises(PaymentError) as refused:
                provider.verify_webhook(payload, header)
            assert refused.value.code == "invalid_signature"
        assert (await _order(services, tenant.id, placed.order_id)).financial_status == "pending"


async def test_a_refund_by_line_goes_through_stripe_once(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        started = await start_payment(services, tenant.id, placed.order_id, **URLS)
        event = fake.pay(started.reference)
        await settle_payment(services, "stripe", outcome_of_session(_webhook(services, fake, event).data.object))
        line_id = (await _order(services, tenant.id, placed.order_id)).lines[0].id

        first = await do_refund_order(services, tenant.id, placed.order_id, "refund-1", lines=[(line_id, 1)], restock=True)
        again = await do_refund_order(services, tenant.id, placed.order_id, "refund-1", lines=[(line_id, 1)], restock=True)

        assert (first.financial_status, first.refunded_price, again.refunded_price) == ("partially_refunded", money("20"), money("20"))
        assert [(refund["amount"], refund["currency"]) for refund in fake.refunds.values()] == [(2000, "usd")]


async def test_a_settlement_for_another_amount_never_marks_the_order_paid(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        started = await start_payment(services, tenant.id, placed.order_id, **URLS)
        event = fake.pay(started.reference)
        event["data"]["object"]["amount_total"] = 100

        settled = await settle_payment(services, "stripe", outcome_of_session(_webhook(services, fake, event).data.object))

        order = await _order(services, tenant.id, placed.order_id)
        assert (settled.changed, order.financial_status) == (False, "pending")
        assert [event.kind for event in order.events] == ["placed", "payment_mismatch"]


async def test_a_merchant_cancelling_a_pending_stripe_order_expires_its_checkout_session(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        started = await start_payment(services, tenant.id, placed.order_id, **URLS)

        cancelled = await do_cancel_unpaid_order(services, tenant.id, placed.order_id)

        assert (cancelled.financial_status, cancelled.cancelled_at is not None) == ("voided", True)
        assert fake.sessions[started.reference]["status"] == "expired"
        with pytest.raises(ValueError):  # the shopper can no longer pay the cancelled order on Stripe's page
            fake.pay(started.reference)


async def test_a_merchant_cancel_after_the_shopper_paid_settles_the_order_and_is_refused(services) -> None:
    async with stripe_for(services) as fake:
        tenant, placed, token, key = await _stripe_order(services)
        started = await start_payment(services, tenant.id, placed.order_id, **URLS)
        fake.pay(started.reference)  # paid on Stripe's page; its webhook has not arrived yet

        with pytest.raises(OrderError) as refused:
            await do_cancel_unpaid_order(services, tenant.id, placed.order_id)

        assert refused.value.kind.value == "conflict"
        order = await _order(services, tenant.id, placed.order_id)
        assert (order.financial_status, order.cancelled_at) == ("paid", None)
