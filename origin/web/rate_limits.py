"""Where requests are charged to the rate limits (origin/ratelimit.py), and the 429 they get when one is empty.

Each limited route calls one ``limit_*`` function here at the point it knows
who to charge: the seller API charges the client address before it reads a
token (so guessing tokens is limited too) and the token and its tenant once
authenticated; the cart charges the address and the store (the beacon does the same in
origin/web/storefront/beacon.py, for both of its transports); the
Shopify webhook intake (a raw ASGI layer) the address, before it reads the body.
A per-IP bucket is global (an address is nobody's tenant); a per-tenant bucket
is that tenant's alone, so one store exhausting its budget never limits another.

A refusal raises :class:`RateLimited`; ``origin.web.errors`` renders it (JSON on
API paths, plain text on pages) with ``Retry-After`` and the ``RateLimit-*``
headers of draft-ietf-httpapi-ratelimit-headers. The API also sends those
headers on every answer it charged, so a client can pace itself.
"""

from __future__ import annotations

import hashlib

from quart import Response, g, request

from origin.analytics.privacy import client_ip
from origin.ratelimit import Decision, Limit, RateLimited, RateLimits  # RateLimited: re-exported for origin.web.errors
from origin.services import Services
from origin.web.context import current_services

DECISION_KEY = "rate_limit_decision"


def request_address(services: Services) -> str:
    """The client's address as the analytics beacon sees it (behind ZELLY_TRUSTED_PROXIES: the first untrusted hop)."""
    return client_ip(request.remote_addr, request.headers.get("X-Forwarded-For", ""), services.settings.trusted_proxies)


def scope_address(scope: dict, services: Services) -> str:
    """The same for a raw ASGI scope (the webhook intake runs before Quart builds a request)."""
    client = scope.get("client")
    forwarded = b", ".join(value for name, value in scope["headers"] if name.lower() == b"x-forwarded-for")
    return client_ip(client[0] if client else None, forwarded.decode("latin-1"), services.settings.trusted_proxies)


async def _charge(*charges: tuple[Limit, str]) -> Decision:
    decision = await current_services().rate_limits.take(*charges)
    shown = g.get(DECISION_KEY)
    if decision.limit is not None and (shown is None or not decision.allowed or decision.remaining < shown.remaining):
        setattr(g, DECISION_KEY, decision)  # the headers show the tightest budget this request used
    if not decision.allowed:
        raise RateLimited(decision)
    return decision


def _limits() -> RateLimits:
    return current_services().rate_limits


async def limit_api_address() -> None:
    await _charge((_limits().api_ip, f"ip:{request_address(current_services())}"))


async def limit_api_token(tenant_id: int, token: str) -> None:
    # The token's digest, never the token, goes into a Redis key.
    digest = hashlib.blake2b(token.encode(), digest_size=12).hexdigest()
    limits = _limits()
    await _charge((limits.api_token, f"t{tenant_id}:token:{digest}"), (limits.api_tenant, f"t{tenant_id}"))


async def limit_domain_verification(tenant_id: int) -> None:
    await _charge((_limits().domain_verify_tenant, f"t{tenant_id}"))


async def limit_template_write(tenant_id: int) -> None:
    """Theme and email template PUTs: each test-renders under the render budget (up to 1 s of a thread)."""
    await _charge((_limits().theme_write_tenant, f"t{tenant_id}"))


async def limit_cart_write(tenant_id: int) -> None:
    limits = _limits()
    await _charge((limits.cart_ip, f"ip:{request_address(current_services())}"), (limits.cart_tenant, f"t{tenant_id}"))


async def limit_webhook(scope: dict, services: Services) -> Decision:
    """The webhook intake's charge (raw ASGI: the caller answers the refusal itself)."""
    return await services.rate_limits.take((services.rate_limits.webhooks_ip, f"ip:{scope_address(scope, services)}"))


def add_rate_limit_headers(response: Response) -> Response:
    """after_request of the API: the tightest budget this request was charged to."""
    decision = g.get(DECISION_KEY)
    if decision is not None:
        for name, value in decision.headers():
            if name != "Retry-After" or response.status_code == 429:
                response.headers[name] = value
    return response
