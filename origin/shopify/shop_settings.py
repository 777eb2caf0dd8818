"""Settings between Zelly and Shopify: shop name, currency, contact email, storefront URL.

Fetch reads the shop (``shop { name email currencyCode primaryDomain }``),
keeps it as a snapshot and adopts the name and contact email into the tenant.
Push writes Zelly's values to the shop as ``zelly.*`` metafields
(``metafieldsSet``: the Admin API does not let an app rename a shop), after
computing the diff against what the shop holds; the diff is what
``zelly shopify push --dry-run`` and the seller API show before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from origin.db import utcnow
from origin.tenancy.tables import tenants
from origin.services import Services
from origin.shopify import compliance, documents
from origin.shopify.client import AdminClient
from origin.shopify.connections import get_connection
from origin.shopify.errors import ShopifyError, ShopifyErrorCode
from origin.shopify.models import SETTINGS_FETCH, SETTINGS_PUSH, SettingsRun
from origin.shopify.settings_runs import do_queue_settings_run
from origin.tenancy import queries as tenancy_queries
from origin.tenancy.errors import unknown_tenant

FIELDS = ("name", "currency", "contact_email", "storefront_url")


@dataclass(frozen=True)
class Change:
    field: str
    zelly: str | None
    shopify: str | None


async def zelly_values(services: Services, tenant_id: int) -> dict[str, str | None]:
    async with services.db.connect() as conn:
        tenant = await tenancy_queries.select_tenant(conn, tenant_id)
        if tenant is None:
            raise unknown_tenant(tenant_id)
        domain = await tenancy_queries.select_primary_domain(conn, tenant_id)
    settings = services.settings
    host = domain or f"{tenant.slug}.{settings.platform_domain}"
    return {
        "name": tenant.name,
        "currency": tenant.currency,
        "contact_email": tenant.contact_email,
        "storefront_url": f"{settings.public_scheme}://{host}/",
    }


async def read_shop(client: AdminClient) -> dict:
    data = await client.execute(documents.SHOP_SETTINGS, cost=documents.SHOP_SETTINGS_COST)
    shop = data["shop"]
    metafields = {edge["node"]["key"]: edge["node"]["value"] for edge in shop["metafields"]["edges"]}
    return {
        "shop": {
            "name": shop["name"], "currency": shop["currencyCode"], "contact_email": shop.get("email"),
            "storefront_url": (shop.get("primaryDomain") or {}).get("url"),
        },
        "metafields": metafields,
    }


def diff(zelly: dict[str, str | None], pushed: dict[str, str]) -> list[Change]:
    return [Change(name, zelly.get(name), pushed.get(name)) for name in FIELDS if (zelly.get(name) or None) != (pushed.get(name) or None)]


async def settings_diff(services: Services, tenant_id: int, client: AdminClient) -> list[Change]:
    return diff(await zelly_values(services, tenant_id), (await read_shop(client))["metafields"])


async def push_settings(services: Services, tenant_id: int, client: AdminClient) -> list[Change]:
    await get_connection(services, tenant_id)
    changes = await settings_diff(services, tenant_id, client)
    if not changes:
        return []
    data = await client.execute(
        documents.METAFIELDS_SET,
        {"metafields": [
            {"ownerId": "shop", "namespace": "zelly", "key": change.field, "type": "single_line_text_field", "value": change.zelly or ""}
            for change in changes
        ]},
        cost=documents.METAFIELDS_SET_COST,
    )
    errors = data["metafieldsSet"].get("userErrors") or []
    if errors:
        raise ShopifyError(ShopifyErrorCode.API_ERROR, "Shopify refused the settings: " + "; ".join(e["message"] for e in errors))
    return changes


async def fetch_settings(services: Services, tenant_id: int, client: AdminClient) -> dict:
    await get_connection(services, tenant_id)
    shop = (await read_shop(client))["shop"]
    async with services.db.begin() as conn:
        await compliance.upsert_snapshot(
            conn, tenant_id,
            dict(name=shop["name"][:255], email=shop["contact_email"], currency=shop["currency"][:3],
                 storefront_url=shop["storefront_url"], fetched_at=utcnow()),
        )
        adopted = {"name": shop["name"][:255]}
        if shop["contact_email"]:
            adopted["contact_email"] = shop["contact_email"][:255]
        await conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(updated_at=utcnow(), **adopted))
    return shop


async def do_queue_push(services: Services, tenant_id: int) -> SettingsRun:
    """Queue a push (the worker diffs again when it runs); refused when the store is not connected."""
    return await do_queue_settings_run(services, tenant_id, SETTINGS_PUSH)


async def do_queue_fetch(services: Services, tenant_id: int) -> SettingsRun:
    """Queue a fetch of Shopify's shop settings into Zelly; refused when the store is not connected."""
    return await do_queue_settings_run(services, tenant_id, SETTINGS_FETCH)
