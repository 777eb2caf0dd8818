"""EdgeConfig: every knob of the edge, read once at start-up and passed in.

Built by the caller (``ops/commands/edge.py`` from Settings, tests directly):
edge/ never reads the environment itself.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from edge.routes import STOREFRONT_ROUTES, Route, RouteTable

# Tracking parameters never change a page, so they are dropped from the cache
# key and from the request sent upstream (the page in the cache must be the
# page for the key). Names ending in "*" are prefixes.
DEFAULT_TRACKING_PARAMS = (
    "utm_*", "gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "twclid", "ttclid",
    "li_fat_id", "mc_cid", "mc_eid", "_ga", "_gl", "yclid", "igshid", "ref", "srsltid",
)

# Vary on anything else (Cookie, User-Agent, ...) is refused: one variant per
# visitor is not a shared cache.
DEFAULT_VARY_ALLOWLIST = ("accept-encoding", "accept-language")


@dataclass(frozen=True)
class EdgeConfig:
    cache_bytes: int = 256 * 1024 * 1024
    tenant_quota_bytes: int = 32 * 1024 * 1024
    max_entry_bytes: int = 8 * 1024 * 1024
    internal_token: str = field(default="", repr=False)
    trusted_proxies: tuple[str, ...] = ()
    # The cart cookie is "__Host-zelly_cart" over HTTPS (origin/cart/signing.py), "zelly_cart" in dev.
    bypass_cookies: tuple[str, ...] = ("zelly_session", "zelly_cart", "__Host-zelly_cart")
    # The query parameters each route reads (edge/routes.py): the only ones a key keeps.
    routes: tuple[Route, ...] = STOREFRONT_ROUTES
    route_table: RouteTable = field(init=False, repr=False, compare=False)
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    vary_allowlist: tuple[str, ...] = DEFAULT_VARY_ALLOWLIST
    upstream_timeout: float = 10.0  # seconds before stale-if-error (or a 504)
    single_flight_wait: float = 5.0  # a waiter gives up on the leader and goes upstream itself
    negative_ttl: int = 5  # seconds a 404 is kept, at most
    redis_ttl_slack: int = 60  # the Redis tier keeps an entry this long past its stale windows
    redis_max_ttl: int = 900  # ...and never longer than this after writing it (seconds)
    redis_admissions_per_minute: int = 1000  # new Redis-tier entries per tenant per minute; the rest stay in memory
    memory_only_max_ttl: int = 300  # seconds an entry of a shared=False route (media) is kept, at most
    status_name: str = "Zelly"  # the cache's name in Cache-Status (RFC 9211)

    def __post_init__(self) -> None:
        object.__setattr__(self, "trusted_proxies", tuple(self.trusted_proxies))
        object.__setattr__(self, "bypass_cookies", tuple(c.lower() for c in self.bypass_cookies))
        object.__setattr__(self, "vary_allowlist", tuple(v.lower() for v in self.vary_allowlist))
        # Parse once: a bad address is a start-up error, not a per-request one.
        object.__setattr__(self, "_networks", tuple(ipaddress.ip_network(p, strict=False) for p in self.trusted_proxies))
        object.__setattr__(self, "routes", tuple(self.routes))
        object.__setattr__(self, "route_table", RouteTable(self.routes))
        exact = frozenset(p for p in self.tracking_params if not p.endswith("*"))
        prefixes = tuple(p[:-1] for p in self.tracking_params if p.endswith("*"))
        object.__setattr__(self, "_tracking_exact", exact)
        object.__setattr__(self, "_tracking_prefixes", prefixes)

    def is_trusted_proxy(self, address: str | None) -> bool:
        if not address or not self._networks:  # type: ignore[attr-defined]
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)  # type: ignore[attr-defined]

    def is_tracking_param(self, name: str) -> bool:
        return name in self._tracking_exact or name.startswith(self._tracking_prefixes)  # type: ignore[attr-defined]
