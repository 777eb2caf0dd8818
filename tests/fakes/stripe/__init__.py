"""A fake Stripe API for tests and benchmarks (an outside service, so a fake is allowed).

It follows Stripe's documented API where Zelly uses it, and is driven through the
official ``stripe`` package (its API base pointed here), so the fake is checked against
the real client's requests and parsing:

- ``POST /v1/checkout/sessions`` (form-encoded, nested ``a[b][c]`` keys), ``GET /v1/checkout/sessions/{id}``,
  ``POST /v1/checkout/sessions/{id}/expire`` (only an ``open`` session: 400 otherwise; sends
  ``checkout.session.expired``; an expired session cannot be paid),
  ``POST /v1/refunds``, ``GET /v1/payment_intents/{id}``; objects in Stripe's shapes (``object``,
  ``id`` prefixes ``cs_test_``, ``pi_``, ``re_``; amounts in minor units; lower-case currencies);
- ``Authorization: Bearer sk_test_...`` (401 ``authentication_required`` otherwise);
- errors as ``{"error": {"type", "code", "message", "param"}}`` with Stripe's statuses;
- ``Idempotency-Key``: a replay with the same parameters returns the first response (with
  ``Idempotent-Replayed: true``); the same key with other parameters is a 400
  ``idempotency_error``;
- the hosted payment page (``GET/POST /pay/{session id}``, Checkout's stand-in): paying
  captures a PaymentIntent, completes the session, signs a ``checkout.session.completed``
  event (``Stripe-Signature: t=...,v1=...`` HMAC-SHA256 of ``t.payload``) and redirects to
  ``success_url``;
- faults: ``delay_seconds[path prefix]`` answers late *after* doing the work (a timeout after
  the fact); refunds never exceed what was captured.
"""

from tests.fakes.stripe.app import FakeStripe, serve_stripe, sign_payload

__all__ = ["FakeStripe", "serve_stripe", "sign_payload"]
