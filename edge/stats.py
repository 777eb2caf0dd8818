"""Per-tenant counters: hit, miss, stale, bypass, purge (issue 5, item 8).

A request is counted under the tenant of the response it got (the ``t{id}``
Cache-Tag); "none" collects responses without one (unknown hosts, errors).
"""

from __future__ import annotations

COUNTERS = ("hit", "miss", "stale", "bypass", "purge")


class EdgeStats:
    def __init__(self) -> None:
        self._tenants: dict[str, dict[str, int]] = {}

    def count(self, tenant: str, counter: str, amount: int = 1) -> None:
        try:
            self._tenants[tenant][counter] += amount
        except KeyError:
            self._tenants[tenant] = dict.fromkeys(COUNTERS, 0)
            self._tenants[tenant][counter] += amount

    def tenant(self, tenant: str) -> dict[str, int]:
        return dict(self._tenants.get(tenant, dict.fromkeys(COUNTERS, 0)))

    def snapshot(self) -> dict:
        tenants = {(name or "none"): dict(counters) for name, counters in sorted(self._tenants.items())}
        totals = {counter: sum(c[counter] for c in self._tenants.values()) for counter in COUNTERS}
        return {"tenants": tenants, "totals": totals}
