"""POST /webhooks/stripe: Stripe's events, verified by ``Stripe-Signature`` (HMAC-SHA256, 300 s tolerance).

One endpoint for the platform's Stripe account on any host: the tenant is the one whose
payment row names the session (``payments.provider_reference``), never the Host.
``checkout.session.completed`` / ``async_payment_succeeded`` settle the payment through
the same conditional transition the redirect back uses, so a replayed event, or one
arriving after the redirect, changes nothing and still answers 200 (Stripe stops
retrying). A bad signature is 400; an event for a session Zelly does not know is 200
(it is not ours to retry). ``checkout.session.expired`` cancels the unpaid order and
gives its stock back.
"""

from __future__ import annotations

import logging

from quart import Blueprint, jsonify, request

from origin.orders.errors import OrderError
from origin.orders.lifecycle import do_cancel_order, settle_payment
from origin.payments.errors import PaymentError
from origin.payments.stripe import outcome_of_session, providers_of
from origin.web.context import current_services
from origin.web.errors import status_for

log = logging.getLogger(__name__)

blueprint = Blueprint("stripe_webhooks", __name__)

SETTLING_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
MAX_BODY = 256 * 1024


def _problem(error: PaymentError, status: int | None = None):
    response = jsonify({"error": error.as_dict()})
    response.status_code = status or status_for(error)
    return response


@blueprint.post("/webhooks/stripe")
async def receive():
    services = current_services()
    provider = providers_of(services).get("stripe")
    if provider is None:
        return jsonify({"error": {"code": "not_configured", "message": "Stripe is not configured on this platform"}}), 404
    payload = await request.get_data()
    if len(payload) > MAX_BODY:
        return jsonify({"error": {"code": "too_large", "message": "the event is larger than any Stripe sends"}}), 413
    try:
        event = provider.verify_webhook(payload, request.headers.get("Stripe-Signature"))
    except PaymentError as error:
        return _problem(error, 400)
    if event.type in SETTLING_EVENTS:
        settlement = await settle_payment(services, "stripe", outcome_of_session(event.data.object))
        return jsonify({"received": True, "settled": bool(settlement and settlement.changed)})
    if event.type == "checkout.session.expired":
        settlement = await settle_payment(services, "stripe", outcome_of_session(event.data.object))
        if settlement is not None:
            try:
                await do_cancel_order(services, settlement.tenant_id, settlement.order_id, reason="Stripe expired the checkout session unpaid")
            except OrderError as error:  # paid meanwhile (or shipped): the expiry no longer applies
                log.info("stripe: session expired for order %s, kept: %s", settlement.order_id, error.message)
        return jsonify({"received": True})
    return jsonify({"received": True})
