"""The in-process tier: an LRU bounded in bytes, with a per-tenant quota and purge indexes.

A tenant is the ``t{id}`` tag on the response's ``Cache-Tag``; responses
without one (an unknown host's 404) share the quota of tenant "". One large
tenant can fill at most ``tenant_quota_bytes``, so it cannot push every other
store's pages out.

Error answers (404s and other statuses >= 400) are kept at most a few seconds
(``negative_ttl``) but stayed until least-recently-used eviction reached them,
so a flood of random paths filled a tenant's quota with expired 404s and pushed
its colder pages out. A tenant's error entries have a quota of their own,
``NEGATIVE_SHARE`` of the tenant's (4 MiB of 32 MiB: thousands of 404s, far more
than are fresh at once): past it the tenant's oldest error entry goes, never a page.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

_TENANT_TAG = re.compile(r"^t(\d+)$")
ENTRY_OVERHEAD = 256  # bytes of bookkeeping counted per entry, so many tiny entries still hit the bound
NEGATIVE_SHARE = 8  # a tenant's error entries hold at most 1/8 of its quota


def is_negative(entry: "Entry") -> bool:
    return entry.status >= 400


def tenant_of(tags: tuple[str, ...]) -> str:
    for tag in tags:
        match = _TENANT_TAG.match(tag)
        if match:
            return match.group(1)
    return ""


def parse_cache_tags(value: bytes | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(dict.fromkeys(t.strip() for t in value.decode("latin-1").split(",") if t.strip()))


@dataclass(slots=True)
class Entry:
    key: str
    url_key: str
    host: str
    status: int
    headers: list[tuple[bytes, bytes]]  # as sent to clients, content-length included, no Age
    body: bytes
    stored_at: float  # wall clock (shared with other processes through Redis)
    initial_age: int  # the upstream's Age when stored
    ttl: int
    stale_while_revalidate: int
    stale_if_error: int
    etag: bytes | None
    vary: tuple[tuple[str, bytes], ...]  # (header, request value it was stored for)
    tags: tuple[str, ...]
    tenant: str
    size: int = field(default=0)

    def __post_init__(self) -> None:
        if not self.size:
            self.size = len(self.body) + sum(len(n) + len(v) for n, v in self.headers) + len(self.key) + ENTRY_OVERHEAD

    def age(self, now: float) -> float:
        return self.initial_age + max(0.0, now - self.stored_at)

    def validators(self) -> list[tuple[bytes, bytes]] | None:
        """Conditional request headers that would revalidate this entry (RFC 9111 4.3.1), or None.

        Only a 200 is revalidated: the origin answers 304 for pages it would send
        with 200, never for its errors."""
        if self.status != 200:
            return None
        if self.etag is not None:
            return [(b"if-none-match", self.etag)]
        for name, value in self.headers:
            if name == b"last-modified":
                return [(b"if-modified-since", value)]
        return None

    def usable_until(self) -> float:
        """After this instant nothing (not even stale-if-error) may serve the entry."""
        return self.stored_at - self.initial_age + self.ttl + max(self.stale_while_revalidate, self.stale_if_error)


class MemoryStore:
    def __init__(self, capacity_bytes: int, tenant_quota_bytes: int, negative_quota_bytes: int | None = None) -> None:
        self.capacity_bytes = capacity_bytes
        self.tenant_quota_bytes = tenant_quota_bytes
        self.negative_quota_bytes = tenant_quota_bytes // NEGATIVE_SHARE if negative_quota_bytes is None else negative_quota_bytes
        self.bytes = 0
        self._negative_order: dict[str, OrderedDict[str, None]] = {}  # per tenant, its error entries, oldest first
        self._negative_bytes: dict[str, int] = {}
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._tenant_order: dict[str, OrderedDict[str, None]] = {}
        self._tenant_bytes: dict[str, int] = {}
        self._by_tag: dict[str, set[str]] = {}
        self._by_host: dict[str, set[str]] = {}
        self._by_url: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self._tenant_order[entry.tenant].move_to_end(key)
        return entry

    def put(self, entry: Entry) -> bool:
        quota = self.negative_quota_bytes if is_negative(entry) else self.tenant_quota_bytes
        if entry.size > min(self.capacity_bytes, quota):
            return False
        self.remove(entry.key)
        self._entries[entry.key] = entry
        self._tenant_order.setdefault(entry.tenant, OrderedDict())[entry.key] = None
        self._tenant_bytes[entry.tenant] = self._tenant_bytes.get(entry.tenant, 0) + entry.size
        self.bytes += entry.size
        for tag in entry.tags:
            self._by_tag.setdefault(tag, set()).add(entry.key)
        self._by_host.setdefault(entry.host, set()).add(entry.key)
        self._by_url.setdefault(entry.url_key, set()).add(entry.key)
        if is_negative(entry):
            negatives = self._negative_order.setdefault(entry.tenant, OrderedDict())
            negatives[entry.key] = None
            self._negative_bytes[entry.tenant] = self._negative_bytes.get(entry.tenant, 0) + entry.size
            while self._negative_bytes.get(entry.tenant, 0) > self.negative_quota_bytes:
                self.remove(next(iter(negatives)))
        order = self._tenant_order[entry.tenant]
        while self._tenant_bytes[entry.tenant] > self.tenant_quota_bytes:
            self.remove(next(iter(order)))
        while self.bytes > self.capacity_bytes:
            self.remove(next(iter(self._entries)))
        return True

    def remove(self, key: str) -> Entry | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self.bytes -= entry.size
        self._tenant_bytes[entry.tenant] -= entry.size
        order = self._tenant_order[entry.tenant]
        del order[key]
        if not order:
            del self._tenant_order[entry.tenant]
            del self._tenant_bytes[entry.tenant]
        if is_negative(entry):
            negatives = self._negative_order[entry.tenant]
            del negatives[key]
            self._negative_bytes[entry.tenant] -= entry.size
            if not negatives:
                del self._negative_order[entry.tenant]
                del self._negative_bytes[entry.tenant]
        for index, name in [(self._by_tag, tag) for tag in entry.tags] + [(self._by_host, entry.host), (self._by_url, entry.url_key)]:
            keys = index.get(name)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[name]
        return entry

    def keys_for(self, *, tags: tuple[str, ...] | list[str] = (), hosts=(), url_keys=()) -> set[str]:
        found: set[str] = set()
        for tag in tags:
            found |= self._by_tag.get(tag, set())
        for host in hosts:
            found |= self._by_host.get(host, set())
        for url_key in url_keys:
            found |= self._by_url.get(url_key, set())
        return found

    def purge(self, keys: set[str]) -> dict[str, int]:
        """Remove ``keys``; how many entries each tenant lost."""
        by_tenant: dict[str, int] = {}
        for key in keys:
            entry = self.remove(key)
            if entry is not None:
                by_tenant[entry.tenant] = by_tenant.get(entry.tenant, 0) + 1
        return by_tenant

    def clear(self) -> None:
        for key in list(self._entries):
            self.remove(key)

    def tenant_bytes(self, tenant: str) -> int:
        return self._tenant_bytes.get(tenant, 0)

    def negative_bytes(self, tenant: str) -> int:
        return self._negative_bytes.get(tenant, 0)
