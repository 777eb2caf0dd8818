"""Which ``Host`` serves the seller API: the platform host itself, never a storefront.

Decision (issue 3, item 5): the API answers on ``<ZELLY_PLATFORM_DOMAIN>`` and on
``api.<ZELLY_PLATFORM_DOMAIN>`` ("api" is a reserved slug, so no store can own
that subdomain). Any other host — a store's subdomain, a custom domain, an IP
literal — gets the plain JSON 404 of an unknown route, so a storefront never
exposes the API and an API response is never cached under a shopper's host.

The request's host arrives parsed (origin/web/asgi/host.py, once per request).
"""

from __future__ import annotations

import functools

from tls.hostnames import normalize_host


@functools.lru_cache(maxsize=8)
def api_hosts(platform_domain: str) -> frozenset[str]:
    domain = normalize_host(platform_domain)
    return frozenset({domain, f"api.{domain}"})


def is_api_host(host: str, platform_domain: str) -> bool:
    """For a host in normal form (tls.hostnames.normalize_host)."""
    return host in api_hosts(platform_domain)
