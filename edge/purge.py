"""Purges by tag, URL, host and tenant, and the subscriber that applies them in every edge process.

The origin publishes ``edge.tags.purge_message(...)`` on ``edge.tags.PURGE_CHANNEL``
after each write commits; every edge process subscribes and drops the named
entries from its memory tier and from the shared Redis tier (idempotent, so
N processes deleting the same keys is harmless).

Pub/sub is best effort: when the subscription breaks, the subscriber clears
the whole memory tier before subscribing again, since purges sent in between
are lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import AsyncIterator, Callable

from edge import tags as cache_tags
from edge.config import EdgeConfig
from edge.keys import Uncacheable, cache_host, url_index_key_for
from edge.redis_tier import RedisTier
from edge.stats import EdgeStats
from edge.store import MemoryStore

log = logging.getLogger(__name__)

MAX_PURGE_ITEMS = 1000


class PurgeRequestError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_purge_request(payload: object) -> dict[str, list]:
    """Validate ``{"tags": [...], "urls": [...], "hosts": [...], "tenants": [...]}``; at least one item."""
    if not isinstance(payload, dict):
        raise PurgeRequestError("", "expected a JSON object with tags, urls, hosts or tenants")
    unknown = set(payload) - {"tags", "urls", "hosts", "tenants"}
    if unknown:
        raise PurgeRequestError(sorted(unknown)[0], f"unknown field {sorted(unknown)[0]!r}; use tags, urls, hosts or tenants")
    parsed: dict[str, list] = {}
    for field in ("tags", "urls", "hosts", "tenants"):
        items = payload.get(field, [])
        if not isinstance(items, list):
            raise PurgeRequestError(field, f"{field} must be a list")
        if len(items) > MAX_PURGE_ITEMS:
            raise PurgeRequestError(field, f"at most {MAX_PURGE_ITEMS} {field} per purge")
        for item in items:
            if field == "tenants":
                if not isinstance(item, int) or isinstance(item, bool) or item < 1:
                    raise PurgeRequestError(field, f"tenant ids are positive whole numbers, got {item!r}")
            elif not isinstance(item, str) or not item or len(item) > 2048:
                raise PurgeRequestError(field, f"{field} must be non-empty strings (at most 2048 characters)")
        parsed[field] = items
    if not any(parsed.values()):
        raise PurgeRequestError("", "name at least one tag, url, host or tenant to purge")
    return parsed


class Purger:
    def __init__(self, config: EdgeConfig, store: MemoryStore, redis_tier: RedisTier | None, stats: EdgeStats) -> None:
        self.config = config
        self.store = store
        self.redis_tier = redis_tier
        self.stats = stats
        # Bumped on every purge; a fetch that started before a purge must not
        # store what it got (it may be the page the purge retired).
        self.generation = 0

    async def purge(self, *, tags=(), urls=(), hosts=(), tenants=()) -> dict[str, int]:
        """Drop every named entry here and in the Redis tier; entries removed here, per tenant."""
        all_tags = list(tags) + [cache_tags.tenant_tag(t) for t in tenants]
        host_names = []
        for host in hosts:
            try:
                host_names.append(cache_host(host))
            except Uncacheable:
                raise PurgeRequestError("hosts", f"{host!r} is not a host name") from None
        url_keys = []
        for url in urls:
            try:
                url_keys.append(url_index_key_for(url, self.config))
            except (Uncacheable, ValueError):
                raise PurgeRequestError("urls", f"{url!r} is not an absolute URL the edge could have cached") from None
        return await self.purge_keys(tags=all_tags, hosts=host_names, url_keys=url_keys)

    async def purge_keys(self, *, tags=(), hosts=(), url_keys=()) -> dict[str, int]:
        """``purge`` with names already normalized (edge/keys.py): tags, cache hosts, url keys."""
        self.generation += 1
        all_tags, host_names = list(tags), list(hosts)
        # Redis first, memory second: a request that misses memory meanwhile and
        # reads the shared tier finds nothing old there, or puts what it found
        # into memory before the memory purge below removes it.
        if self.redis_tier is not None:
            await self.redis_tier.purge(tags=all_tags, hosts=host_names, url_keys=url_keys)
        by_tenant = self.store.purge(self.store.keys_for(tags=all_tags, hosts=host_names, url_keys=url_keys))
        for tenant, count in by_tenant.items():
            self.stats.count(tenant, "purge", count)
        return by_tenant

    async def apply_message(self, text: str) -> None:
        try:
            request = parse_purge_request(json.loads(text))
            await self.purge(**request)
        except (ValueError, PurgeRequestError) as error:
            log.warning("edge: ignoring malformed purge message %r: %s", text[:200], error)


Subscribe = Callable[[str], "AsyncIterator"]


async def run_purge_subscriber(subscribe: Subscribe, purger: Purger, subscribed: asyncio.Event, *, retry_seconds: float = 1.0) -> None:
    """Apply purge messages until cancelled; resubscribe (and clear memory) after a failure."""
    first = True
    while True:
        try:
            async with subscribe(cache_tags.PURGE_CHANNEL) as messages:
                if not first:
                    purger.store.clear()  # purges sent while we were away are lost
                    purger.generation += 1
                first = False
                subscribed.set()
                async for message in messages:
                    await purger.apply_message(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a dropped connection must not end purging for good
            subscribed.clear()
            log.warning("edge: purge subscription failed (%s); retrying in %.1fs", error, retry_seconds)
            await asyncio.sleep(retry_seconds)
