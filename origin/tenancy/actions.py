"""Tenant writes: create, suspend, resume; API tokens: issue, revoke, authenticate.

Each ``do_*`` is one transaction. Tokens are shown once; only a SHA-256 hash is
stored (the token has 256 bits of entropy, so a fast hash is enough: no salt or
KDF is needed to resist guessing).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from origin.db import utcnow
from origin.tenancy.tables import tenant_api_tokens, tenants
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.services import Services
from origin.tenancy import queries
from origin.tenancy.errors import TenancyError, TenancyErrorCode, unknown_tenant
from origin.tenancy.models import (
    CURRENCY_DIGITS,
    DEFAULT_LOCALE,
    TENANT_ACTIVE,
    TENANT_SUSPENDED,
    IssuedToken,
    Tenant,
)

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")
# Subdomains the platform keeps for itself.
RESERVED_SLUGS = frozenset({"www", "api", "admin", "staff", "edge", "internal", "mail", "static", "cdn", "app", "status"})
TOKEN_PREFIX = "zly_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def validate_slug(slug: str) -> str:
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise TenancyError(
            TenancyErrorCode.INVALID_SLUG,
            "slug must be 1-63 lower-case letters, digits or hyphens, not starting or ending with a hyphen",
            field="slug",
        )
    if slug[2:4] == "--":
        # "xn--80ak6aa92e" is an IDNA A-label: the host would show as another script (a homograph)
        # or not resolve at all ("xn--aaa"); RFC 5891 reserves "--" there for such prefixes.
        raise TenancyError(TenancyErrorCode.INVALID_SLUG, "a slug cannot have '--' as its third and fourth characters", field="slug")
    if slug in RESERVED_SLUGS:
        raise TenancyError(TenancyErrorCode.INVALID_SLUG, f"slug {slug!r} is reserved by the platform", field="slug")
    return slug


def validate_currency(currency: str) -> str:
    code = currency.upper() if isinstance(currency, str) else ""
    if code not in CURRENCY_DIGITS:
        raise TenancyError(
            TenancyErrorCode.INVALID_CURRENCY,
            f"currency {currency!r} is not a supported ISO 4217 code (e.g. USD, EUR, JPY)",
            field="currency",
        )
    return code


async def do_create_tenant(
    services: Services,
    *,
    slug: str,
    name: str,
    currency: str = "USD",
    locale: str | None = None,
    contact_email: str | None = None,
    theme_settings: Mapping[str, Any] | None = None,
) -> Tenant:
    slug = validate_slug(slug)
    currency = validate_currency(currency)
    name = (name or "").strip()
    if not 1 <= len(name) <= 255:
        raise TenancyError(TenancyErrorCode.INVALID_NAME, "name must be 1-255 characters", field="name")
    locale = locale or DEFAULT_LOCALE.get(currency, "en-US")
    if not LOCALE_PATTERN.match(locale):
        raise TenancyError(TenancyErrorCode.INVALID_LOCALE, f"locale {locale!r} is not like en-US", field="locale")
    try:
        async with services.db.begin() as conn:
            result = await conn.execute(
                tenants.insert().values(
                    slug=slug,
                    name=name,
                    currency=currency,
                    locale=locale,
                    status=TENANT_ACTIVE,
                    contact_email=contact_email,
                    theme_settings=dict(theme_settings or {}),
                )
            )
            tenant = await queries.select_tenant(conn, result.inserted_primary_key[0])
    except IntegrityError:
        raise TenancyError(
            TenancyErrorCode.SLUG_TAKEN, f"slug {slug!r} is taken", field="slug", kind=ErrorKind.CONFLICT
        ) from None
    assert tenant is not None
    return tenant


async def _set_status(services: Services, tenant_id: int, status: str) -> Tenant:
    async with transaction(services) as (conn, effects):
        result = await conn.execute(
            tenants.update()
            .where(tenants.c.id == tenant_id)
            .values(status=status, suspended_at=utcnow() if status == TENANT_SUSPENDED else None)
        )
        if result.rowcount == 0:
            raise unknown_tenant(tenant_id)
        tenant = await queries.select_tenant(conn, tenant_id)
        assert tenant is not None
        effects.tenant_changed(tenant_id)
    return tenant


async def do_suspend_tenant(services: Services, tenant_id: int) -> Tenant:
    return await _set_status(services, tenant_id, TENANT_SUSPENDED)


async def do_resume_tenant(services: Services, tenant_id: int) -> Tenant:
    return await _set_status(services, tenant_id, TENANT_ACTIVE)


async def do_update_theme_settings(services: Services, tenant_id: int, theme_settings: Mapping[str, Any]) -> Tenant:
    async with transaction(services) as (conn, effects):
        result = await conn.execute(
            tenants.update().where(tenants.c.id == tenant_id).values(theme_settings=dict(theme_settings))
        )
        if result.rowcount == 0:
            raise unknown_tenant(tenant_id)
        tenant = await queries.select_tenant(conn, tenant_id)
        assert tenant is not None
        effects.tenant_changed(tenant_id)
    return tenant


async def do_issue_api_token(services: Services, tenant_id: int, name: str = "default") -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with services.db.begin() as conn:
        if await queries.select_tenant(conn, tenant_id) is None:
            raise unknown_tenant(tenant_id)
        result = await conn.execute(
            tenant_api_tokens.insert().values(
                tenant_id=tenant_id, name=name[:100] or "default", token_prefix=token[:12], token_hash=hash_token(token)
            )
        )
    return IssuedToken(id=result.inserted_primary_key[0], tenant_id=tenant_id, token=token, prefix=token[:12])


async def do_revoke_api_token(services: Services, tenant_id: int, token_id: int) -> None:
    async with services.db.begin() as conn:
        result = await conn.execute(
            tenant_api_tokens.update()
            .where(
                tenant_api_tokens.c.tenant_id == tenant_id,
                tenant_api_tokens.c.id == token_id,
                tenant_api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
    if result.rowcount == 0:
        raise TenancyError(TenancyErrorCode.UNKNOWN_TOKEN, f"no live token {token_id}", kind=ErrorKind.NOT_FOUND)


async def authenticate_api_token(services: Services, token: str) -> Tenant:
    """The tenant a bearer token belongs to; one error for every failure, so nothing leaks."""
    invalid = TenancyError(TenancyErrorCode.INVALID_TOKEN, "invalid or revoked API token", kind=ErrorKind.UNAUTHORIZED)
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise invalid
    async with services.db.connect() as conn:
        tenant = await queries.select_tenant_by_token_hash(conn, hash_token(token))
    if tenant is None:
        raise invalid
    return tenant
