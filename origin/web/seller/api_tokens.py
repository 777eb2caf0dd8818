"""Seller API authentication: ``Authorization: Bearer <tenant API token>``.

Every failure is the same 401, so a caller learns nothing about which tenants
or tokens exist. The authenticated tenant is kept on ``g.api_tenant``.
"""

from __future__ import annotations

import functools
from typing import Awaitable, Callable, TypeVar

from quart import g, request

from observability.context import bind_tenant
from origin.errors import ErrorKind
from origin.tenancy.actions import authenticate_api_token
from origin.tenancy.errors import TenancyError, TenancyErrorCode
from origin.tenancy.models import Tenant
from origin.web.context import current_services
from origin.web.rate_limits import limit_api_token

F = TypeVar("F", bound=Callable[..., Awaitable])


async def authenticate_request() -> Tenant:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TenancyError(
            TenancyErrorCode.INVALID_TOKEN,
            "send the tenant's API token as 'Authorization: Bearer <token>'",
            kind=ErrorKind.UNAUTHORIZED,
        )
    tenant = await authenticate_api_token(current_services(), token.strip())
    if not tenant.is_active:
        raise TenancyError(TenancyErrorCode.TENANT_SUSPENDED, "this store is suspended", kind=ErrorKind.FORBIDDEN)
    return tenant


def require_api_tenant(handler: F) -> F:
    """Decorator: authenticate first, then run the handler with ``g.api_tenant`` set."""

    @functools.wraps(handler)
    async def wrapper(*args, **kwargs):
        g.api_tenant = await authenticate_request()
        bind_tenant(g.api_tenant.id)
        await limit_api_token(g.api_tenant.id, request.headers.get("Authorization", "").partition(" ")[2].strip())
        return await handler(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def api_tenant() -> Tenant:
    return g.api_tenant
