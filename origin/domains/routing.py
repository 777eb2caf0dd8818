"""Which host should answer: the pure redirect decision the storefront calls before rendering.

A tenant with a primary custom domain is served there only: its other active
custom domains (the apex/www twin, an old name) and its platform subdomain
answer ``308`` to the primary, keeping path and query. Without a primary, every
host serves. The seller API, webhooks and the ask hook never redirect: call
this for storefront routes only.

Usage in the storefront, after Host -> tenant resolution::

    hosts = await domain_queries_cached(tenant)        # a TenantHosts, cached with the tenant
    target = canonical_host(hosts, request_host)
    if target:
        return redirect(redirect_url(target, raw_path, raw_query, scheme=..., port=...), 308)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection

from origin.domains.queries import select_active_hostnames

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
