"""A tenant's Shopify connection: connect, disconnect, look up (by tenant or shop domain), re-seal after a key rotation.

Connecting proves ownership (issue 13, item 4): the Admin API is asked, with the
token given, which shop the token belongs to (``shop { myshopifyDomain }``), and
the claimed domain must be that shop. Without it any tenant could claim another's
``*.myshopify.com`` and receive (or block) its webhooks.
"""

from __future__ import annotations

import functools
import re
import time
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.keyring import Keyring
from origin.services import Services
from origin.shopify.client import AdminClient
from origin.shopify.crypto import SecretBox, sealed_key_id
from origin.shopify.errors import ShopifyError, ShopifyErrorCode, not_connected
from origin.shopify.models import CONNECTED, DISCONNECTED, Connection
from origin.shopify.tables import shopify_connections
from origin.tenancy import queries as tenancy_queries
from origin.tenancy.errors import unknown_tenant

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com$")
_LOOKUP_TTL_S = 10.0  # webhook intake reads this per request; a disconnect elsewhere shows within 10 s


@functools.lru_cache(maxsize=4)
def _secret_box(keyring: Keyring) -> SecretBox:
    return SecretBox(keyring)


def secret_box(services: Services) -> SecretBox:
    """The box for this process's keyring: a pure function of it, so memoised per keyring, not stored on Services."""
    return _secret_box(services.keyring)


def validate_shop_domain(shop_domain: object) -> str:
    value = shop_domain.strip().lower() if isinstance(shop_domain, str) else ""
    if not SHOP_DOMAIN.fullmatch(value):
        raise ShopifyError(
            ShopifyErrorCode.INVALID_SHOP_DOMAIN,
            "shop must be the store's <name>.myshopify.com domain (lower-case letters, digits, hyphens)",
            field="shop_domain",
        )
    return value


def _validate_secret(value: object, code: ShopifyErrorCode, field: str, label: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 8 <= len(text) <= 255 or any(ch.isspace() for ch in text):
        raise ShopifyError(code, f"{label} must be 8-255 characters without spaces", field=field)
    return text


def _from_row(services: Services, row) -> Connection:
    box = secret_box(services)
    return Connection(
        tenant_id=row.tenant_id,
        shop_domain=row.shop_domain,
        access_token=box.open(row.access_token_encrypted, row.tenant_id),
        webhook_secret=box.open(row.webhook_secret_encrypted, row.tenant_id),
        status=row.status,
        connected_at=row.connected_at,
        disconnected_at=row.disconnected_at,
        last_synced_at=row.last_synced_at,
    )


async def select_connection(services: Services, conn: AsyncConnection, tenant_id: int) -> Connection | None:
    row = (await conn.execute(sa.select(shopify_connections).where(shopify_connections.c.tenant_id == tenant_id))).first()
    return _from_row(services, row) if row else None


async def get_connection(services: Services, tenant_id: int, *, require_connected: bool = True) -> Connection:
    async with services.db.connect() as conn:
        connection = await select_connection(services, conn, tenant_id)
    if connection is None or (require_connected and not connection.is_connected):
        raise not_connected()
    return connection


async def connection_for_shop(services: Services, shop_domain: str) -> Connection | None:
    """The connection of a shop domain (connected or not), cached in-process for webhook intake."""
    cache = services.shopify_connections
    hit = cache.get(shop_domain)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]  # type: ignore[return-value]  # only this module writes Connection | None here
    async with services.db.connect() as conn:
        row = (await conn.execute(sa.select(shopify_connections).where(shopify_connections.c.shop_domain == shop_domain))).first()
    connection = _from_row(services, row) if row else None
    cache[shop_domain] = (time.monotonic() + _LOOKUP_TTL_S, connection)
    return connection


def forget_cached(services: Services, shop_domain: str) -> None:
    services.shopify_connections.pop(shop_domain, None)


OWNER_QUERY = "query ZellyShopOwner { shop { myshopifyDomain } }"


async def prove_shop_ownership(services: Services, shop_domain: str, access_token: str) -> None:
    """Raise unless ``access_token`` is an Admin API token of ``shop_domain`` (the one network call of a connect)."""
    settings = services.settings
    client = AdminClient(
        services.http, shop_domain=shop_domain, access_token=access_token,
        api_version=settings.shopify_api_version, api_base_url=settings.shopify_api_base_url,
        metrics=services.metrics,
        **services.shopify_client_options,
    )
    try:
        data = await client.execute(OWNER_QUERY, cost=1)
    except ShopifyError as error:
        if error.code != ShopifyErrorCode.INVALID_TOKEN.value:
            raise  # Shopify unavailable (503) or an API error: the connect is not made
        raise ShopifyError(
            ShopifyErrorCode.INVALID_TOKEN, f"Shopify refused the access token for {shop_domain}", field="access_token"
        ) from None
    owner = ((data.get("shop") or {}).get("myshopifyDomain") or "").strip().lower()
    if owner != shop_domain:
        raise ShopifyError(
            ShopifyErrorCode.SHOP_NOT_OWNED,
            f"the access token belongs to another shop than {shop_domain}; connect with that shop's own Admin API token",
            field="shop_domain",
            kind=ErrorKind.FORBIDDEN,
        )


async def do_connect(services: Services, tenant_id: int, *, shop_domain: str, access_token: str, webhook_secret: str) -> Connection:
    """Create or replace the tenant's connection (reconnecting after an uninstall included), once Shopify vouches for it."""
    shop_domain = validate_shop_domain(shop_domain)
    access_token = _validate_secret(access_token, ShopifyErrorCode.INVALID_TOKEN, "access_token", "the Admin API access token")
    webhook_secret = _validate_secret(webhook_secret, ShopifyErrorCode.INVALID_WEBHOOK_SECRET, "webhook_secret", "the webhook secret")
    await prove_shop_ownership(services, shop_domain, access_token)  # outside the transaction: it can take seconds
    box = secret_box(services)
    values = dict(
        shop_domain=shop_domain,
        access_token_encrypted=box.seal(access_token, tenant_id),
        webhook_secret_encrypted=box.seal(webhook_secret, tenant_id),
        status=CONNECTED,
        connected_at=utcnow(),
        disconnected_at=None,
    )
    async with transaction(services) as (conn, effects):
        if await tenancy_queries.select_tenant(conn, tenant_id) is None:
            raise unknown_tenant(tenant_id)
        owner = (
            await conn.execute(sa.select(shopify_connections.c.tenant_id).where(shopify_connections.c.shop_domain == shop_domain))
        ).scalar_one_or_none()
        if owner is not None and owner != tenant_id:
            raise ShopifyError(
                ShopifyErrorCode.SHOP_TAKEN, f"{shop_domain} is connected to another store", field="shop_domain", kind=ErrorKind.CONFLICT
            )
        previous = (
            await conn.execute(sa.select(shopify_connections.c.shop_domain).where(shopify_connections.c.tenant_id == tenant_id))
        ).scalar_one_or_none()
        if previous is None:
            await conn.execute(shopify_connections.insert().values(tenant_id=tenant_id, **values))
        else:
            await conn.execute(shopify_connections.update().where(shopify_connections.c.tenant_id == tenant_id).values(**values))
        connection = await select_connection(services, conn, tenant_id)
        # This process's shop -> connection cache (other processes' entries expire after _LOOKUP_TTL_S).
        effects.call(functools.partial(forget_cached, services, shop_domain))
        if previous:
            effects.call(functools.partial(forget_cached, services, previous))
    return connection


async def do_disconnect(services: Services, tenant_id: int) -> None:
    """app/uninstalled: stop syncing. The webhook secret stays: shop/redact arrives 48 h later, signed with it."""
    async with transaction(services) as (conn, effects):
        shop_domain = (
            await conn.execute(sa.select(shopify_connections.c.shop_domain).where(shopify_connections.c.tenant_id == tenant_id))
        ).scalar_one_or_none()
        await conn.execute(
            shopify_connections.update()
            .where(shopify_connections.c.tenant_id == tenant_id)
            .values(status=DISCONNECTED, disconnected_at=utcnow())
        )
        if shop_domain:
            effects.call(functools.partial(forget_cached, services, shop_domain))


async def select_sealed_tenant_ids(services: Services) -> list[int]:
    """Every tenant with stored (sealed) Shopify credentials, connected or not: what reseal walks."""
    async with services.db.connect() as conn:
        result = await conn.execute(sa.select(shopify_connections.c.tenant_id).order_by(shopify_connections.c.tenant_id))
        return list(result.scalars())


async def count_sealed_by_key(services: Services) -> Counter[str]:
    """How many sealed values name each key id; values sealed before the keyring count under "v1"."""
    async with services.db.connect() as conn:
        rows = await conn.execute(
            sa.select(shopify_connections.c.access_token_encrypted, shopify_connections.c.webhook_secret_encrypted)
        )
        return Counter(sealed_key_id(value) or "v1" for row in rows for value in row)


async def do_reseal_connection(services: Services, tenant_id: int) -> bool:
    """Re-seal one tenant's credentials under the current key: one transaction; False when already current or gone.

    Idempotent, so ``zelly secret reseal`` can be run again after an interruption.
    The plaintext does not change, so the connection memo stays valid.
    """
    box = secret_box(services)
    async with transaction(services) as (conn, _):
        row = (
            await conn.execute(
                sa.select(shopify_connections.c.access_token_encrypted, shopify_connections.c.webhook_secret_encrypted)
                .where(shopify_connections.c.tenant_id == tenant_id)
                .with_for_update()
            )
        ).first()
        if row is None or all(box.is_current(value) for value in row):
            return False
        await conn.execute(
            sa.update(shopify_connections)
            .where(shopify_connections.c.tenant_id == tenant_id)
            .values(
                access_token_encrypted=box.seal(box.open(row.access_token_encrypted, tenant_id), tenant_id),
                webhook_secret_encrypted=box.seal(box.open(row.webhook_secret_encrypted, tenant_id), tenant_id),
            )
        )
    return True
