"""Which ``Host`` serves the seller API: the platform host itself, never a storefront.

Decision (issue 3, item 5): the API answers on ``<ZELLY_PLATFORM_DOMAIN>`` and on
``api.<ZELLY_PLATFORM_DOMAIN>`` ("api" is a reserved slug, so no store can own
that subdomain). Any other host — a store's subdomain, a custom domain, an IP
literal — gets the plain JSON 404 of an unknown route, so a storefront never
exposes the API and an API response is never cached under a shopper's host.
"""

from __future__ import annotations


def normalize_host(raw_host: str) -> str:
    """Lower-case, without the port and the trailing dot (``Example.COM.:8000`` -> ``example.com``)."""
    host = raw_host.strip().lower()
    if host.startswith("["):  # IPv6 literal: never the platform host, keep it recognisable
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0].rstrip(".") if ":" in host else host.rstrip(".")


def api_hosts(platform_domain: str) -> frozenset[str]:
    domain = normalize_host(platform_domain)
    return frozenset({domain, f"api.{domain}"})


def is_api_host(raw_host: str, platform_domain: str) -> bool:
    return normalize_host(raw_host) in api_hosts(platform_domain)
