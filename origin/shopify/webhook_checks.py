"""What a signed delivery must also be before intake believes it (issue 13, item 4).

Shopify's HMAC covers the body only: ``X-Shopify-Topic``, ``X-Shopify-Webhook-Id``
and ``X-Shopify-Triggered-At`` are unsigned. So a body captured once (a
``customers/redact``, a ``shop/update``) could be replayed under a destructive
topic with a fresh webhook id. For the topics that erase or disconnect, intake
therefore checks that the signed body *is* that topic's payload:

- its shop field (``shop_domain``, or ``myshopify_domain`` for the Shop resource
  ``app/uninstalled`` carries) names the shop the header names;
- its shape is that topic's: ``shop/redact`` is exactly ``{shop_id, shop_domain}``,
  ``customers/data_request`` carries a ``data_request``, ``customers/redact`` a
  customer and no ``data_request``, ``app/uninstalled`` a Shop (``id`` and
  ``myshopify_domain``, none of the compliance fields);
- ``X-Shopify-Triggered-At`` is present and within Shopify's retry window
  (48 h, the dedupe window) and not in the future beyond clock skew.

What stays possible (docs/security.md, "Shopify"): the Shop resource of
``shop/update`` has the shape of ``app/uninstalled``, and the timestamp is not
signed, so a captured ``shop/update`` replayed as ``app/uninstalled`` disconnects
the shop; that is reversible (the merchant reconnects, no data is erased). The
irreversible ``shop/redact`` is a body no other topic sends, and intake acts on
it only for a shop that is already uninstalled (Shopify sends it 48 h after).
"""

from __future__ import annotations

import datetime as dt

from origin.db import utcnow
from origin.shopify.errors import ShopifyError, ShopifyErrorCode
from origin.shopify.mapping import loads

GUARDED_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact", "app/uninstalled"})
REPLAY_WINDOW = dt.timedelta(hours=48)  # Shopify retries a delivery for up to 48 h with its first Triggered-At
CLOCK_SKEW = dt.timedelta(minutes=5)
_COMPLIANCE_FIELDS = frozenset({"shop_domain", "customer", "data_request", "orders_to_redact", "orders_requested"})


def _refused(message: str, field: str | None = None) -> ShopifyError:
    return ShopifyError(ShopifyErrorCode.BAD_WEBHOOK, message, field=field)


def check_guarded_delivery(topic: str, shop_domain: str, body: bytes, triggered_at: str | None, *, now: dt.datetime | None = None) -> None:
    """Raise a 422 ``bad_webhook`` unless ``body`` is a genuine, fresh ``topic`` payload of ``shop_domain``."""
    _check_fresh(triggered_at, now or utcnow())
    try:
        payload = loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested past Python's limit, never a Shopify body
        raise _refused(f"{topic} body is not JSON") from None
    if not isinstance(payload, dict):
        raise _refused(f"{topic} body is not a JSON object")
    if topic == "app/uninstalled":
        if payload.get("myshopify_domain") != shop_domain or "id" not in payload or _COMPLIANCE_FIELDS & payload.keys():
            raise _refused("app/uninstalled body is not this shop's Shop resource")
        return
    if payload.get("shop_domain") != shop_domain:
        raise _refused(f"{topic} body names another shop than X-Shopify-Shop-Domain", "shop_domain")
    if topic == "shop/redact":
        if not payload.keys() <= {"shop_id", "shop_domain"}:
            raise _refused("shop/redact body carries fields shop/redact never has")
    elif not isinstance(payload.get("customer"), dict):
        raise _refused(f"{topic} body has no customer", "customer")
    elif (topic == "customers/data_request") != isinstance(payload.get("data_request"), dict):
        raise _refused(f"{topic} body is shaped like another compliance topic", "data_request")


def _check_fresh(triggered_at: str | None, now: dt.datetime) -> None:
    try:
        at = dt.datetime.fromisoformat((triggered_at or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise _refused("X-Shopify-Triggered-At must be an ISO 8601 time", "X-Shopify-Triggered-At") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    if not now - REPLAY_WINDOW <= at <= now + CLOCK_SKEW:
        raise _refused("X-Shopify-Triggered-At is outside Shopify's 48 h delivery window", "X-Shopify-Triggered-At")
