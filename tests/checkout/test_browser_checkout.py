"""A full checkout in real headless Chromium (Playwright driving the system ``chromium``), both backends.

The public app is served by hypercorn on loopback, the fake Stripe on its own loopback port
posts its signed events to the app's ``/webhooks/stripe`` as Stripe would, and the emails
go the way production sends them: queued in the order's transaction, sent by the
EMAIL_OUTBOX task (in-memory broker on the embedded backend, a Redis stream and a real
receiver on the servers backend) over SMTP to a real aiosmtpd server on loopback.

The shopper: product page -> add to cart (the header's count, read from the uncached
/cart/count.json, shows it on the cached page) -> checkout: contact and address ->
shipping method -> continue to payment -> pay on Stripe's page (or choose manual payment)
-> the confirmation page; then the confirmation email arrives.
"""

from __future__ import annotations

import contextlib
import re
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from playwright import async_api as playwright_api

from origin.app import create_app
from origin.catalog.tables import variants
from origin.checkout import rules
from origin.orders.tables import orders
from tests.checkout.stripe_fixtures import stripe_for
from tests.outbox.conftest import running_email_worker
from tests.storefront.shops import two_shops
from tests.storefront.test_browser import free_port, require_chromium, serving_app



@pytest.fixture
def shop_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings, shop_port):
    # Absolute links (Stripe's success_url, the email's status link) must point at this loopback server.
    return settings.replace(public_scheme="http", http_port=shop_port)


@contextlib.asynccontextmanager
async def serving(app, port: int):
    async with serving_app(app, port):
        yield f"http://acme.localhost:{port}"


@contextlib.asynccontextmanager
async def browser_page():
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=require_chromium(), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP acme.localhost 127.0.0.1"],
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            await browser.close()


async def _shop(services):
    acme, _ = await two_shops(services)
    rate = await rules.do_create_rule(services, acme.tenant.id, "shipping", {"name": "Standard", "kind": "flat", "price": "5.00", "countries": ["US"]})
    await rules.do_create_rule(services, acme.tenant.id, "shipping", {"name": "Express", "kind": "flat", "price": "15.00", "countries": ["US"]})
    await rules.do_create_rule(services, acme.tenant.id, "taxes", {"country_code": "US", "region": "IL", "rate": "0.0625"})
    return acme, rate


async def _shop_until_payment(page, base: str) -> dict:
    """Product page -> cart -> details -> shipping -> continue to payment; what the shopper saw on the way."""
    seen = {}
    await page.goto(f"{base}/products/mug")
    seen["count_before"] = await page.locator("[data-cart-count]").is_hidden()
    await page.locator("input[name=quantity]").fill("2")
    await page.locator("[data-add-button]").click()
    await page.wait_for_url(f"{base}/cart")
    await page.goto(f"{base}/products/mug")  # a cached product page: the same HTML for everyone
    await page.locator("[data-cart-count]:not([hidden])").wait_for()
    seen["count_after"] = await page.locator("[data-cart-count]").text_content()
    await page.goto(f"{base}/checkout")
    await page.fill("#email", "ann@example.com")
    await page.fill("#name", "Ann Buyer")
    await page.fill("#line1", "1 Main St")
    await page.fill("#city", "Springfield")
    await page.fill("#region", "IL")
    await page.fill("#postal_code", "62701")
    await page.select_option("#country", "US")
    await page.click("#save-details")
    await page.wait_for_selector("#save-shipping")
    seen["rates"] = await page.locator("input[name=shipping_rate_id] + label").all_text_contents()
    await page.check("input[name=shipping_rate_id] >> nth=0")
    await page.click("#save-shipping")
    await page.wait_for_selector("#continue-to-payment")
    seen["total"] = await page.locator("#total").text_content()
    await page.click("#continue-to-payment")
    await page.wait_for_selector("#place-order")
    return seen


async def _stock(services, variant_id: int) -> int:
    async with services.db.connect() as conn:
        return (await conn.execute(sa.select(variants.c.inventory_quantity).where(variants.c.id == variant_id))).scalar_one()


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


async def test_a_shopper_pays_with_stripe_in_chromium_and_the_confirmation_email_arrives(services, smtp_server, shop_port) -> None:
    acme, _ = await _shop(services)
    app = create_app(services.settings, services=services)
    webhook_url = f"http://127.0.0.1:{shop_port}/webhooks/stripe"
    async with stripe_for(services, webhook_url=webhook_url) as fake, running_email_worker(services) as email_worker:
        async with serving(app, shop_port) as base, browser_page() as page:
            seen = await _shop_until_payment(page, base)
            await page.check("#pay-stripe")
            await page.click("#place-order")
            await page.wait_for_url(re.compile(re.escape(fake.base_url) + r"/pay/cs_test_\w+"))
            stripe_amount = await page.locator("#amount").text_content()
            await page.click("#pay")  # Stripe captures, posts checkout.session.completed, sends the shopper back
            await page.wait_for_url(re.compile(re.escape(base) + r"/orders/\d+\?key="))
            heading = await page.locator("h1").text_content()
            state = await page.locator("#order-state").get_attribute("data-financial")
            status_url = page.url
            await page.goto(f"{base}/products/mug")
            count_after_order = await page.locator("[data-cart-count]").is_hidden()
        await email_worker.drain()
        mail = await smtp_server.wait_for(2)

    assert seen == {"count_before": True, "count_after": "(2)", "rates": ["Standard – $5.00", "Express – $15.00"], "total": "$22.00"}
    assert stripe_amount == "2200 usd"  # 2 x 8.00 + 5.00 shipping + 1.00 Illinois tax (6.25 % of 16.00), in cents
    assert heading == "Thank you! Order #1001"
    assert state == "paid"
    assert count_after_order is True  # the order emptied the cart: no count on the next page
    async with services.db.connect() as conn:
        assert (await conn.execute(sa.select(orders.c.financial_status, orders.c.total_price))).one() == ("paid", 22)
    assert await _stock(services, acme.mug.variants[0].id) == 8
    subjects = sorted(stored.message["Subject"] for stored in mail)
    assert subjects == ["Order #1001 confirmed - Acme Store", "Payment received for order #1001 - Acme Store"]
    confirmation = next(stored for stored in mail if stored.message["Subject"].startswith("Order #1001"))
    assert tuple(confirmation.envelope_to) == ("ann@example.com",)
    assert status_url in _text(confirmation.message)  # the signed link the shopper was sent back to


async def test_a_shopper_chooses_manual_payment_in_chromium_and_the_confirmation_email_arrives(services, smtp_server, shop_port) -> None:
    acme, _ = await _shop(services)
    app = create_app(services.settings, services=services)
    async with running_email_worker(services) as email_worker:
        async with serving(app, shop_port) as base, browser_page() as page:
            await _shop_until_payment(page, base)
            providers = await page.locator("input[name=payment_provider]").evaluate_all("inputs => inputs.map(i => i.value)")
            await page.check("#pay-manual")
            await page.click("#place-order")
            await page.wait_for_url(re.compile(re.escape(base) + r"/orders/\d+\?key="))
            heading = await page.locator("h1").text_content()
            state = await page.locator("#order-state").text_content()
            status_url = page.url
        await email_worker.drain()
        mail = await smtp_server.wait_for(1)

    assert providers == ["manual"]  # no Stripe key in this process: only the manual method is offered
    assert heading == "Thank you! Order #1001"
    assert " ".join(state.split()) == "Your order is placed and waits for your payment (bank transfer or cash on delivery)."
    assert [stored.message["Subject"] for stored in mail] == ["Order #1001 confirmed - Acme Store"]
    assert status_url in _text(mail[0].message)
    assert await _stock(services, acme.mug.variants[0].id) == 8
