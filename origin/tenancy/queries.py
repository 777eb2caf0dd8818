"""Tenant reads. Connection first; lookups by id, slug, host, or token hash."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.tenancy.tables import domains
from origin.tenancy.tables import tenant_api_tokens, tenants
from origin.tenancy.models import ApiToken, Tenant, tenant_from_row


async def select_tenant(conn: AsyncConnection, tenant_id: int) -> Tenant | None:
    row = (await conn.execute(sa.select(tenants).where(tenants.c.id == tenant_id))).first()
    return tenant_from_row(row) if row else None


async def select_tenant_by_slug(conn: AsyncConnection, slug: str) -> Tenant | None:
    row = (await conn.execute(sa.select(tenants).where(tenants.c.slug == slug))).first()
    return tenant_from_row(row) if row else None


async def select_tenants(conn: AsyncConnection) -> list[Tenant]:
    rows = await conn.execute(sa.select(tenants).order_by(tenants.c.id))
    return [tenant_from_row(row) for row in rows]


async def select_tenant_by_active_domain(conn: AsyncConnection, hostname: str) -> Tenant | None:
    """The tenant that owns ``hostname`` as an *active* custom domain."""
    query = (
        sa.select(tenants)
        .join(domains, domains.c.tenant_id == tenants.c.id)
        .where(domains.c.hostname == hostname, domains.c.status == "active")
    )
    row = (await conn.execute(query)).first()
    return tenant_from_row(row) if row else None


def primary_domain_query(tenant_id):
    """The hostname of the tenant's primary active custom domain; ``tenant_id`` may be a column (as a subquery)."""
    return (
        sa.select(domains.c.hostname)
        .where(domains.c.tenant_id == tenant_id, domains.c.status == "active", domains.c.is_primary.is_(True))
        .limit(1)
    )


async def select_primary_domain(conn: AsyncConnection, tenant_id: int) -> str | None:
    """The tenant's primary active custom domain, if it has one."""
    return (await conn.execute(primary_domain_query(tenant_id))).scalar_one_or_none()


async def select_api_tokens(conn: AsyncConnection, tenant_id: int) -> list[ApiToken]:
    rows = await conn.execute(
        sa.select(tenant_api_tokens).where(tenant_api_tokens.c.tenant_id == tenant_id).order_by(tenant_api_tokens.c.id)
    )
    return [
        ApiToken(
            id=row.id,
            tenant_id=row.tenant_id,
            name=row.name,
            prefix=row.token_prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )
        for row in rows
    ]


async def select_tenant_by_token_hash(conn: AsyncConnection, token_hash: str) -> Tenant | None:
    """The tenant owning a live (not revoked) token with this hash."""
    query = (
        sa.select(tenants)
        .join(tenant_api_tokens, tenant_api_tokens.c.tenant_id == tenants.c.id)
        .where(tenant_api_tokens.c.token_hash == token_hash, tenant_api_tokens.c.revoked_at.is_(None))
    )
    row = (await conn.execute(query)).first()
    return tenant_from_row(row) if row else None
