"""Webhook intake: verify the signature, find the tenant, drop duplicates, enqueue.

Answering fast matters (Shopify gives up after 5 s and retries), so intake does
only this: one in-process lookup of the shop (cached, see connections), one
HMAC, one duplicate check on ``X-Shopify-Webhook-Id``, one enqueue. The effect
happens in the SHOPIFY_WEBHOOK worker (origin.shopify.processing).

The duplicate check: with Redis, ``SET NX`` on the webhook id (kept for the 48 h
Shopify may retry a delivery) so intake never waits on the database; on the
embedded default, the primary key of ``shopify_webhook_deliveries``. Either way
the delivery row, locked and stamped in the same transaction as the effect, is
what makes processing happen exactly once (a redelivery, a replay, a duplicate
that outlived the Redis key all find ``processed_at`` set).

A verified delivery is charged to its tenant's webhook budget (origin.ratelimit,
429 with ``Retry-After`` past it), so one shop's flood of signed deliveries cannot
fill the shared queue ahead of every other shop's.

Every signature problem (missing, malformed, wrong secret, altered body, unknown
shop) is the same 401 and nothing is recorded or enqueued. A shop header that is
not ``<name>.myshopify.com`` is refused before any lookup, so forged names cost
neither a query nor a memo entry (issue 13, item 4); the memo is a bounded LRU.
The erasing and disconnecting topics are checked against their signed body
(origin.shopify.webhook_checks): the topic header is not signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Mapping

from sqlalchemy.exc import IntegrityError

from edge import cache_keys
from origin.cache import REDIS_FAILURES
from origin.db import utcnow
from origin.shopify.tables import shopify_webhook_deliveries
from origin.errors import ErrorKind
from origin.queueing import enqueue
from origin.ratelimit import RateLimited
from origin.services import Services
from origin.shopify.connections import SHOP_DOMAIN, connection_for_shop
from origin.shopify.errors import ShopifyError, ShopifyErrorCode
from origin.shopify.webhook_checks import GUARDED_TOPICS, check_guarded_delivery

log = logging.getLogger(__name__)

WEBHOOK_QUEUE = "SHOPIFY_WEBHOOK"
PROCESS_TASK = "shopify.process_webhook"

CATALOG_TOPICS = frozenset({
    "products/create", "products/update", "products/delete",
    "collections/create", "collections/update", "collections/delete",
    "inventory_levels/update",
})
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
# Every orders/* topic below sends the whole Order resource (REST shape); refunds/create sends a Refund.
ORDER_TOPICS = frozenset({
    "orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled", "orders/partially_fulfilled",
})
TOPICS = CATALOG_TOPICS | COMPLIANCE_TOPICS | ORDER_TOPICS | frozenset({
    "refunds/create", "shop/update", "app/uninstalled", "bulk_operations/finish",
})

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
IGNORED = "ignored"


def sign(secret: str, body: bytes) -> str:
    """The X-Shopify-Hmac-Sha256 value: base64 of HMAC-SHA256 over the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def is_valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def _unauthorized() -> ShopifyError:
    return ShopifyError(ShopifyErrorCode.BAD_SIGNATURE, "webhook signature is missing or does not match", kind=ErrorKind.UNAUTHORIZED)


DEDUPE_TTL_S = 48 * 3600


dedupe_key = cache_keys.webhook_dedupe_key


# The dedupe key is first a *claim* ("pending", for CLAIM_TTL_S) and becomes the delivery's
# topic, for the whole dedupe window, only once its task is queued. A claim is never a
# duplicate: a delivery whose enqueue failed (or whose claim reached a wedged Redis only
# after the 503 went out) is accepted when Shopify retries it, instead of lost (issue 12).
CLAIM_TTL_S = 60
PENDING = "pending"
_CLAIM_SCRIPT = """
local seen = redis.call('GET', KEYS[1])
if seen and seen ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def _redis_unavailable(error: BaseException) -> ShopifyError:
    return ShopifyError(
        ShopifyErrorCode.UNAVAILABLE, "the task queue is unavailable; Shopify will retry this delivery", kind=ErrorKind.UNAVAILABLE
    )


async def _first_delivery(services: Services, tenant_id: int, webhook_id: str, topic: str) -> bool:
    redis = services.request_redis
    if redis is not None:
        try:
            return bool(await redis.eval(_CLAIM_SCRIPT, 1, dedupe_key(tenant_id, webhook_id), PENDING, CLAIM_TTL_S))
        except REDIS_FAILURES as error:
            raise _redis_unavailable(error) from error
    try:
        async with services.db.begin() as conn:
            await conn.execute(
                shopify_webhook_deliveries.insert().values(tenant_id=tenant_id, webhook_id=webhook_id, topic=topic[:64], received_at=utcnow())
            )
    except IntegrityError:
        return False
    return True


async def _keep_delivery(services: Services, tenant_id: int, webhook_id: str, topic: str) -> None:
    """The task is queued: remember the delivery for the whole dedupe window."""
    redis = services.request_redis
    if redis is not None:
        try:
            await redis.set(dedupe_key(tenant_id, webhook_id), topic, ex=DEDUPE_TTL_S)
        except REDIS_FAILURES:
            log.warning("webhook %s: queued, but its dedupe key stays a claim (Redis unavailable)", webhook_id)


async def _forget_delivery(services: Services, tenant_id: int, webhook_id: str) -> None:
    redis = services.request_redis
    if redis is not None:
        try:
            await redis.delete(dedupe_key(tenant_id, webhook_id))
        except REDIS_FAILURES:
            pass  # the claim expires within CLAIM_TTL_S: Shopify's retry gets in then
        return
    async with services.db.begin() as conn:
        await conn.execute(
            shopify_webhook_deliveries.delete().where(
                shopify_webhook_deliveries.c.tenant_id == tenant_id, shopify_webhook_deliveries.c.webhook_id == webhook_id
            )
        )


@dataclass(frozen=True)
class Intake:
    status: str  # accepted | duplicate | ignored
    tenant_id: int
    webhook_id: str
    topic: str


async def do_accept_webhook(services: Services, body: bytes, headers: Mapping[str, str]) -> Intake:
    """``headers`` must answer lower-case names (a plain dict of lower-cased names, or a case-insensitive mapping)."""
    shop_domain = (headers.get("x-shopify-shop-domain") or "").strip().lower()
    # Syntax first: a name Shopify never sends is refused without a query or a memo entry.
    connection = await connection_for_shop(services, shop_domain) if SHOP_DOMAIN.fullmatch(shop_domain) else None
    if connection is None or not is_valid_signature(connection.webhook_secret, body, headers.get("x-shopify-hmac-sha256")):
        raise _unauthorized()
    topic = (headers.get("x-shopify-topic") or "").strip().lower()
    webhook_id = (headers.get("x-shopify-webhook-id") or "").strip()
    if not webhook_id or len(webhook_id) > 100:
        raise ShopifyError(ShopifyErrorCode.BAD_WEBHOOK, "X-Shopify-Webhook-Id must be 1-100 characters", field="X-Shopify-Webhook-Id")
    tenant_id = connection.tenant_id
    # Per tenant only now, once the HMAC matched: a forged shop header must not spend a real shop's budget.
    # Shopify retries a 429 (with backoff), so a burst past the limit is delayed, not lost.
    decision = await services.rate_limits.take((services.rate_limits.webhooks_tenant, f"t{tenant_id}"))
    if not decision.allowed:
        raise RateLimited(decision)
    # Unknown topics and, after an uninstall, everything but the compliance topics: acknowledged, not acted on.
    if topic not in TOPICS or (not connection.is_connected and topic not in COMPLIANCE_TOPICS):
        return Intake(IGNORED, tenant_id, webhook_id, topic)
    if topic in GUARDED_TOPICS:
        check_guarded_delivery(topic, shop_domain, body, headers.get("x-shopify-triggered-at"))
        if topic == "shop/redact" and connection.is_connected:
            # Shopify sends shop/redact 48 h after an uninstall; a connected shop's erasure is a replay.
            log.warning("shop/redact for connected shop %s ignored (tenant %s)", shop_domain, tenant_id)
            return Intake(IGNORED, tenant_id, webhook_id, topic)
    if not await _first_delivery(services, tenant_id, webhook_id, topic):
        return Intake(DUPLICATE, tenant_id, webhook_id, topic)
    try:
        await enqueue(
            services, WEBHOOK_QUEUE, PROCESS_TASK,
            tenant_id=tenant_id, webhook_id=webhook_id, topic=topic, body=body.decode("utf-8", "replace"),
            triggered_at=headers.get("x-shopify-triggered-at"),
        )
    except Exception as error:  # any enqueue failure: the delivery must not look handled
        # Not queued: forget the delivery so Shopify's retry is accepted, and answer 503.
        await _forget_delivery(services, tenant_id, webhook_id)
        raise ShopifyError(
            ShopifyErrorCode.UNAVAILABLE, "the task queue is unavailable; Shopify will retry this delivery", kind=ErrorKind.UNAVAILABLE
        ) from error
    await _keep_delivery(services, tenant_id, webhook_id, topic)
    return Intake(ACCEPTED, tenant_id, webhook_id, topic)
