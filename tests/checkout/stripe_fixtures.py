"""Wiring for tests that pay through the fake Stripe: the official client pointed at it."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from origin.payments.providers import ManualProvider, PaymentProviders
from origin.payments.stripe import StripeProvider
from origin.services import Services
from tests.fakes.stripe import FakeStripe, serve_stripe
from tests.fakes.stripe.app import SECRET_KEY, WEBHOOK_SECRET


@contextlib.asynccontextmanager
async def stripe_for(services: Services, *, timeout_seconds: int = 5, webhook_url: str | None = None) -> AsyncIterator[FakeStripe]:
    fake = FakeStripe(webhook_url=webhook_url)
    async with serve_stripe(fake) as base_url:
        provider = StripeProvider.from_settings(SECRET_KEY, WEBHOOK_SECRET, base_url, timeout_seconds)
        providers = PaymentProviders({"manual": ManualProvider(), "stripe": provider})
        services.attach(payment_providers=providers)
        try:
            yield fake
        finally:
            services.attach(payment_providers=None)
            await providers.close()
