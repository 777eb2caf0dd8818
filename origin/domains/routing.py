"""Which host should answer: the pure redirect decision, and the hook the storefront calls.

A tenant with a primary custom domain is served there only: its other active
custom domains (the apex/www twin, an old name) and its platform subdomain
answer a redirect to the primary, keeping path and query. Without a primary,
every host serves. The seller API, webhooks and the ask hook never redirect:
the storefront asks only for its own routes.

The storefront (origin/web/storefront/site.py and the page fast path) calls
:func:`decide_host_redirect` after resolving the tenant and before any 404 or
503; it answers from the resolved ``TenantSite`` alone (no query): the site's
canonical host *is* the primary domain when one exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection

from origin.domains.queries import select_active_hostnames
from origin.services import Services
from origin.tenancy.resolution import TenantSite

# Characters that may stay as they are in a path or query (RFC 3986 pchar plus "/" and "?"),
# "%" included so an already-encoded request is not encoded twice.
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


@dataclass(frozen=True)
class TenantHosts:
    platform_host: str  # <slug>.<platform domain>
    primary: str | None  # the primary active custom domain
    active: frozenset[str]  # every active custom domain (primary included)


def tenant_hosts(slug: str, platform_domain: str, active: Iterable[tuple[str, bool]]) -> TenantHosts:
    active = list(active)
    primary = next((hostname for hostname, is_primary in active if is_primary), None)
    return TenantHosts(f"{slug}.{platform_domain}", primary, frozenset(hostname for hostname, _ in active))


async def load_tenant_hosts(conn: AsyncConnection, tenant_id: int, slug: str, platform_domain: str) -> TenantHosts:
    return tenant_hosts(slug, platform_domain, await select_active_hostnames(conn, tenant_id))


def canonical_host(hosts: TenantHosts, request_host: str) -> str | None:
    """The host to redirect to, or None to serve ``request_host`` as it is (normal-form names)."""
    if hosts.primary is None or request_host == hosts.primary:
        return None
    if request_host in hosts.active or request_host == hosts.platform_host:
        return hosts.primary
    return None


def redirect_url(host: str, path: str, query: str | bytes = "", *, scheme: str = "https", port: int | None = None) -> str:
    """``scheme://host[:port]/path?query``; the port only when it is not the scheme's default."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    default_port = {"https": 443, "http": 80}[scheme]
    authority = host if port in (None, default_port) else f"{host}:{port}"
    path = "/" + quote(path, safe=_SAFE_PATH).lstrip("/")  # never "//evil.example": that reads as a host
    url = f"{scheme}://{authority}{path}"
    return f"{url}?{quote(query, safe=_SAFE_QUERY)}" if query else url


def redirect_for_site(host: str, site: TenantSite | None, platform_domain: str) -> str | None:
    """The base URL to redirect ``host`` to (the primary domain's), or None to serve it."""
    if site is None:
        return None
    own_platform_host = f"{site.tenant.slug}.{platform_domain}"
    primary = None if site.canonical_host == own_platform_host else site.canonical_host
    # The resolver only hands back a site for the tenant's platform host or one of its active domains.
    active = frozenset() if host == own_platform_host else frozenset({host})
    target = canonical_host(TenantHosts(own_platform_host, primary, active | ({primary} if primary else set())), host)
    return site.base_url if target else None


async def decide_host_redirect(services: Services, host: str, site: TenantSite | None) -> str | None:
    """The base URL (``https://www.shop.com``) ``host`` must redirect to, or None to serve it."""
    return redirect_for_site(host, site, services.settings.platform_domain)
