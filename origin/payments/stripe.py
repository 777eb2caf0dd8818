"""Stripe through the official ``stripe`` package: Checkout Sessions (a PaymentIntent underneath), their
expiry, refunds, and the ``Stripe-Signature`` webhook check.

Checkout Sessions, not a bare PaymentIntent, because the storefront works without
JavaScript: the shopper is redirected to Stripe's hosted page and back, and card data
never touches Zelly. The session's PaymentIntent is what refunds name.

Idempotency: the session is created with ``Idempotency-Key: order-<tenant>-<order key>``,
so a retry after a timeout (the session may exist, the answer was lost) gets the same
session back, never a second one: one session, one PaymentIntent, one capture.
Refunds carry the refund request's own key the same way.

Errors: a card or request refused by Stripe is a PaymentError; a timeout, connection
failure or 5xx is PaymentUnavailable (outcome unknown, safe to retry with the same key).
"""

from __future__ import annotations

from decimal import Decimal

import stripe

from origin.payments.errors import PaymentError, PaymentErrorCode, PaymentUnavailable
from origin.payments.providers import (
    ManualProvider,
    PaymentOutcome,
    PaymentProvider,
    PaymentProviders,
    PaymentRequest,
    PaymentStart,
    RefundResult,
)
from origin.settings import Settings
from origin.tenancy.models import CURRENCY_DIGITS

# Stripe's documented default tolerance for the Stripe-Signature timestamp.
SIGNATURE_TOLERANCE_SECONDS = 300


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Stripe takes integers in the currency's smallest unit (cents; yen as they are)."""
    return int((amount * (10 ** CURRENCY_DIGITS.get(currency.upper(), 2))).to_integral_exact())


def from_minor_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-CURRENCY_DIGITS.get(currency.upper(), 2))


def _translate(error: stripe.StripeError) -> PaymentError:
    if isinstance(error, (stripe.APIConnectionError, stripe.RateLimitError)) or (error.http_status or 0) >= 500:
        return PaymentUnavailable(PaymentErrorCode.UNAVAILABLE, "the payment provider did not answer; try again in a moment")
    if isinstance(error, stripe.CardError):
        return PaymentError(PaymentErrorCode.DECLINED, error.user_message or "the card was declined")
    return PaymentError(PaymentErrorCode.PROVIDER_ERROR, f"the payment provider refused the request ({error.code or error.http_status})")


class StripeProvider:
    name = "stripe"

    def __init__(self, client: stripe.StripeClient, webhook_secret: str, http_client: stripe.HTTPXClient | None = None) -> None:
        self._client = client
        self._webhook_secret = webhook_secret
        self._http_client = http_client

    async def close(self) -> None:
        if self._http_client is not None:
            await self._http_client.close_async()

    @classmethod
    def from_settings(cls, secret_key: str, webhook_secret: str, api_base: str, timeout_seconds: int) -> "StripeProvider":
        http_client = stripe.HTTPXClient(timeout=timeout_seconds)
        client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            http_client=http_client,
            max_network_retries=0,  # our own retries reuse the order's key; no silent extra calls
        )
        return cls(client, webhook_secret, http_client)

    async def start(self, request: PaymentRequest) -> PaymentStart:
        params = {
            "mode": "payment",
            "customer_email": request.email,
            "client_reference_id": f"{request.tenant_id}:{request.order_id}",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": to_minor_units(request.amount, request.currency),
                        "product_data": {"name": f"Order {request.order_number}"},
                    },
                }
            ],
            "metadata": {"tenant_id": str(request.tenant_id), "order_id": str(request.order_id)},
            "payment_intent_data": {"metadata": {"tenant_id": str(request.tenant_id), "order_id": str(request.order_id)}},
            "success_url": request.success_url + ("&" if "?" in request.success_url else "?") + "session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": request.cancel_url,
        }
        try:
            session = await self._client.v1.checkout.sessions.create_async(params, options={"idempotency_key": request.idempotency_key})
        except stripe.StripeError as error:
            raise _translate(error) from error
        return PaymentStart(reference=session.id, redirect_url=session.url)

    async def lookup(self, reference: str) -> PaymentOutcome:
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(reference)
        except stripe.StripeError as error:
            raise _translate(error) from error
        return outcome_of_session(session)

    async def expire(self, reference: str) -> PaymentOutcome:
        """Expire the Checkout Session; a session that is no longer open (paid, or expired before) is looked up instead.

        Stripe answers 400 to expiring a session that is not ``open``: it was completed
        (the shopper paid first, and the caller must settle rather than void) or expired
        already (a second sweep, Stripe's own expiry). Either way the session's state is the answer.
        """
        try:
            session = await self._client.v1.checkout.sessions.expire_async(reference)
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                raise _translate(error) from error
            return await self.lookup(reference)
        except stripe.StripeError as error:
            raise _translate(error) from error
        return outcome_of_session(session)

    async def refund(self, *, payment_id: str | None, amount: Decimal, currency: str, idempotency_key: str) -> RefundResult:
        if payment_id is None:
            raise PaymentError(PaymentErrorCode.PROVIDER_ERROR, "this payment has no captured charge to refund")
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": payment_id, "amount": to_minor_units(amount, currency)}, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return RefundResult(reference=refund.id)

    def verify_webhook(self, payload: bytes, signature_header: str | None) -> stripe.Event:
        """The event, if ``Stripe-Signature`` is valid for the payload and recent; PaymentError otherwise."""
        if not self._webhook_secret:
            raise PaymentError(PaymentErrorCode.NOT_CONFIGURED, "no Stripe webhook secret is configured")
        try:
            return stripe.Webhook.construct_event(payload, signature_header or "", self._webhook_secret, SIGNATURE_TOLERANCE_SECONDS)
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise PaymentError(PaymentErrorCode.INVALID_SIGNATURE, "the Stripe-Signature header does not match this payload") from error


def outcome_of_session(session) -> PaymentOutcome:
    """A Checkout Session (a StripeObject from the client or a webhook event) as a provider-neutral outcome."""
    session = session.to_dict() if hasattr(session, "to_dict") else dict(session)
    currency = (session.get("currency") or "").upper() or None
    amount_total = session.get("amount_total")
    payment_intent = session.get("payment_intent")
    if payment_intent is not None and not isinstance(payment_intent, str):
        payment_intent = payment_intent.get("id")
    return PaymentOutcome(
        reference=session["id"],
        is_paid=session.get("payment_status") == "paid",
        is_failed=session.get("status") == "expired",
        amount=from_minor_units(amount_total, currency) if amount_total is not None and currency else None,
        currency=currency,
        payment_id=payment_intent,
        metadata=dict(session.get("metadata") or {}),
    )


def build_providers(settings: Settings) -> PaymentProviders:
    """The providers a process offers: manual always, Stripe when a secret key is set."""
    by_name: dict[str, PaymentProvider] = {"manual": ManualProvider()}
    if settings.stripe_secret_key:
        by_name["stripe"] = StripeProvider.from_settings(
            str(settings.stripe_secret_key), str(settings.stripe_webhook_secret), settings.stripe_api_base, settings.payment_timeout_seconds
        )
    return PaymentProviders(by_name)


def providers_of(services) -> PaymentProviders:
    """The process's providers (Services.payment_providers), attached on first use: the kernel imports no payments."""
    if services.payment_providers is None:
        services.attach(payment_providers=build_providers(services.settings))
    return services.payment_providers  # only this function attaches it
