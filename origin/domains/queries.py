"""Domain reads. Connection first, tenant next; the global reads say why they are global."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.tenancy.tables import domains, removed_domains
from origin.tenancy.tables import tenants
from origin.domains.models import ACTIVE, PENDING, CustomDomain, custom_domain_from_row
from origin.tenancy.models import TENANT_ACTIVE


async def select_domains(conn: AsyncConnection, tenant_id: int) -> list[CustomDomain]:
    rows = await conn.execute(sa.select(domains).where(domains.c.tenant_id == tenant_id).order_by(domains.c.id))
    return [custom_domain_from_row(row) for row in rows]


async def select_domain(conn: AsyncConnection, tenant_id: int, domain_id: int) -> CustomDomain | None:
    query = sa.select(domains).where(domains.c.tenant_id == tenant_id, domains.c.id == domain_id)
    row = (await conn.execute(query)).first()
    return custom_domain_from_row(row) if row else None


async def select_domain_by_hostname(conn: AsyncConnection, hostname: str) -> CustomDomain | None:
    """Global on purpose: a hostname belongs to at most one store (the unique index says so)."""
    row = (await conn.execute(sa.select(domains).where(domains.c.hostname == hostname))).first()
    return custom_domain_from_row(row) if row else None


async def select_due_domains(conn: AsyncConnection, now: dt.datetime, limit: int = 100) -> list[CustomDomain]:
    """Global on purpose: the periodic verifier works through every store's pending domains."""
    query = (
        sa.select(domains)
        .where(domains.c.status == PENDING, domains.c.next_check_at.is_not(None), domains.c.next_check_at <= now)
        .order_by(domains.c.next_check_at, domains.c.id)
        .limit(limit)
    )
    return [custom_domain_from_row(row) for row in await conn.execute(query)]


async def select_servable_hostnames(conn: AsyncConnection, platform_domain: str) -> set[str]:
    """Every name Caddy may hold a certificate for: active domains and platform subdomains of active stores.

    Global on purpose: this is the TLS allow-list, rebuilt every few seconds; two
    narrow index-friendly queries rather than one join with a computed column.
    """
    live_tenants = sa.select(tenants.c.id, tenants.c.slug).where(tenants.c.status == TENANT_ACTIVE)
    names = {f"{row.slug}.{platform_domain}" for row in await conn.execute(live_tenants)}
    active_domains = (
        sa.select(domains.c.hostname)
        .join(tenants, tenants.c.id == domains.c.tenant_id)
        .where(domains.c.status == ACTIVE, tenants.c.status == TENANT_ACTIVE)
    )
    names.update(row.hostname for row in await conn.execute(active_domains))
    return names


# How long a removed custom domain answers 410 Gone rather than the 404 of a name never served:
# long enough for bookmarks and search engines to learn it, bounded so the set stays small.
REMOVED_DOMAIN_MEMORY = dt.timedelta(days=90)
REMOVED_DOMAIN_LIMIT = 10_000


async def select_removed_hostnames(conn: AsyncConnection, now: dt.datetime) -> list[str]:
    """Global on purpose, like the allow-list it sits beside: custom domains removed recently, newest first."""
    query = (
        sa.select(removed_domains.c.hostname)
        .where(removed_domains.c.removed_at >= now - REMOVED_DOMAIN_MEMORY)
        .order_by(removed_domains.c.removed_at.desc())
        .limit(REMOVED_DOMAIN_LIMIT)
    )
    return [row.hostname for row in await conn.execute(query)]


async def select_active_hostnames(conn: AsyncConnection, tenant_id: int) -> list[tuple[str, bool]]:
    """(hostname, is_primary) of the tenant's active domains, oldest first."""
    query = (
        sa.select(domains.c.hostname, domains.c.is_primary)
        .where(domains.c.tenant_id == tenant_id, domains.c.status == ACTIVE)
        .order_by(domains.c.id)
    )
    return [(row.hostname, bool(row.is_primary)) for row in await conn.execute(query)]
