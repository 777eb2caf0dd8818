"""One accepted webhook -> its effect, exactly once per X-Shopify-Webhook-Id.

The delivery row is locked, the effect written and ``processed_at`` stamped in
one transaction, so a redelivered message (a worker killed after the commit but
before the ack) finds ``processed_at`` set and does nothing. Cache purges and
other side effects go out only after the commit.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.catalog import external_sync
from origin.db import utcnow
from origin.invalidation import AfterCommit, transaction
from origin.orders.actions import apply_external_order, apply_external_refund
from origin.services import Services
from origin.shopify import compliance
from origin.shopify.connections import do_disconnect, get_connection, prove_shop_ownership
from origin.shopify.errors import ShopifyError, ShopifyErrorCode
from origin.shopify.mapping import bad_payload, collection_from_rest, loads, order_from_rest, parse_time, product_from_rest, refund_from_rest
from origin.shopify.models import gid, payload_gid
from origin.shopify.runs import fail_active_runs
from origin.shopify.tables import shopify_shop_snapshots, shopify_webhook_deliveries
from origin.shopify.webhooks import COMPLIANCE_TOPICS, ORDER_TOPICS

log = logging.getLogger(__name__)

BULK_FINISHED_CHANNEL = "zelly:shopify:bulk-finished"

PROCESSED = "processed"
ALREADY_PROCESSED = "already_processed"
SKIPPED = "skipped"


async def _claim_delivery(conn: AsyncConnection, tenant_id: int, webhook_id: str, topic: str) -> bool:
    """Lock the delivery row; False when it was already processed."""
    where = (shopify_webhook_deliveries.c.tenant_id == tenant_id, shopify_webhook_deliveries.c.webhook_id == webhook_id)
    row = (await conn.execute(sa.select(shopify_webhook_deliveries.c.processed_at).where(*where).with_for_update())).first()
    if row is None:  # first sight (intake deduplicated in Redis), or a replay after shop/redact erased the log
        await conn.execute(shopify_webhook_deliveries.insert().values(tenant_id=tenant_id, webhook_id=webhook_id, topic=topic[:64], received_at=utcnow()))
        return True
    return row.processed_at is None


async def process_delivery(
    services: Services, *, tenant_id: int, webhook_id: str, topic: str, body: str, triggered_at: str | None = None
) -> str:
    try:
        payload = loads(body)
    except ValueError:
        raise bad_payload(f"{topic} body is not JSON") from None
    if not isinstance(payload, dict):
        raise bad_payload(f"{topic} body is not a JSON object")
    event_time = parse_time(triggered_at) if triggered_at else utcnow()
    if topic == "app/uninstalled":
        return await _uninstall(services, tenant_id, webhook_id, topic)
    if topic not in COMPLIANCE_TOPICS:
        connection = await get_connection(services, tenant_id, require_connected=False)
        if not connection.is_connected:
            await _mark_only(services, tenant_id, webhook_id, topic)
            return SKIPPED
    async with transaction(services) as (conn, effects):
        if not await _claim_delivery(conn, tenant_id, webhook_id, topic):
            return ALREADY_PROCESSED
        await _apply(conn, services, tenant_id, topic, payload, event_time, effects)
        await conn.execute(
            shopify_webhook_deliveries.update()
            .where(shopify_webhook_deliveries.c.tenant_id == tenant_id, shopify_webhook_deliveries.c.webhook_id == webhook_id)
            .values(processed_at=utcnow())
        )
    return PROCESSED


async def _mark_only(services: Services, tenant_id: int, webhook_id: str, topic: str) -> None:
    async with services.db.begin() as conn:
        if await _claim_delivery(conn, tenant_id, webhook_id, topic):
            await conn.execute(
                shopify_webhook_deliveries.update()
                .where(shopify_webhook_deliveries.c.tenant_id == tenant_id, shopify_webhook_deliveries.c.webhook_id == webhook_id)
                .values(processed_at=utcnow())
            )


async def _uninstall(services: Services, tenant_id: int, webhook_id: str, topic: str) -> str:
    """app/uninstalled: disconnect (no more syncs, webhooks ignored) and stop running syncs -- once Shopify confirms it.

    The topic header is not signed, and a captured ``shop/update`` body has the
    shape of ``app/uninstalled`` (origin.shopify.webhook_checks), so the body alone
    cannot tell a replay from an uninstall. Shopify revokes the app's access token
    when the app is uninstalled: if the stored token still answers the Admin API,
    the app is installed and the delivery is a replay, acknowledged and ignored.
    Shopify unreachable raises a transient error: the task is retried, nothing is decided.
    """
    if await _app_still_installed(services, tenant_id):
        log.warning("app/uninstalled for tenant %s ignored: the Admin API still accepts its token (a replay)", tenant_id)
        await _mark_only(services, tenant_id, webhook_id, topic)
        return SKIPPED
    await do_disconnect(services, tenant_id)
    await fail_active_runs(services, tenant_id, "the Shopify app was uninstalled")
    await _mark_only(services, tenant_id, webhook_id, topic)
    return PROCESSED


async def _app_still_installed(services: Services, tenant_id: int) -> bool:
    connection = await get_connection(services, tenant_id, require_connected=False)
    if not connection.is_connected:
        return False  # already disconnected: disconnecting again changes nothing
    try:
        await prove_shop_ownership(services, connection.shop_domain, connection.access_token)
    except ShopifyError as error:
        if error.code == ShopifyErrorCode.INVALID_TOKEN.value:
            return False  # revoked: the app really is uninstalled
        raise
    return True


async def _apply(conn, services: Services, tenant_id: int, topic: str, payload: dict, event_time: dt.datetime, effects: AfterCommit) -> None:
    try:
        if topic in ("products/create", "products/update"):
            await external_sync.upsert_product(conn, tenant_id, product_from_rest(payload), effects)
        elif topic == "products/delete":
            await external_sync.delete_product(conn, tenant_id, payload_gid("Product", payload), event_time, effects)
        elif topic in ("collections/create", "collections/update"):
            await external_sync.upsert_collection(conn, tenant_id, collection_from_rest(payload), effects)
        elif topic == "collections/delete":
            await external_sync.delete_collection(conn, tenant_id, payload_gid("Collection", payload), event_time, effects)
        elif topic == "inventory_levels/update":
            item = gid("InventoryItem", payload["inventory_item_id"])
            await external_sync.set_inventory(conn, tenant_id, item, int(payload.get("available") or 0), effects)
        elif topic in ORDER_TOPICS:  # each carries the whole order: one reconciliation, whatever the topic
            await apply_external_order(conn, effects, services, tenant_id, order_from_rest(payload))
        elif topic == "refunds/create":
            await apply_external_refund(conn, effects, services, tenant_id, refund_from_rest(payload))
        elif topic == "shop/update":
            await _store_shop_snapshot(conn, tenant_id, payload)
        elif topic == "customers/data_request":
            await compliance.export_customer_data(conn, tenant_id, payload)
        elif topic == "customers/redact":
            await compliance.redact_customer(conn, tenant_id, payload)
        elif topic == "shop/redact":
            await compliance.redact_shop(conn, tenant_id, payload, effects)
        elif topic == "bulk_operations/finish":
            message = json.dumps({"tenant_id": tenant_id, "id": str(payload.get("admin_graphql_api_id") or "")})
            effects.publish(BULK_FINISHED_CHANNEL, message)  # wakes the bulk sync waiting for this operation
    except ShopifyError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise bad_payload(f"{topic} payload is missing or has a malformed field: {error!r}") from None


async def _store_shop_snapshot(conn: AsyncConnection, tenant_id: int, payload: dict) -> None:
    domain = payload.get("domain")
    values = dict(
        name=str(payload.get("name") or "")[:255],
        email=payload.get("email"),
        currency=str(payload.get("currency") or "USD")[:3],
        storefront_url=f"https://{domain}" if domain else None,
        fetched_at=utcnow(),
    )
    await compliance.upsert_snapshot(conn, tenant_id, values)
