"""The shared tier: entries in Redis so several edge processes share one fill.

Layout (db chosen by the caller's client; the formats are edge/cache_keys.py's):

- ``zelly:edge:e:{key}``: JSON metadata, a newline, then the body bytes;
  expires when nothing may serve it any more (``usable_until`` + slack), and
  never later than ``max_ttl`` after it was written;
- ``zelly:edge:tag:{tag}:s{n}`` and ``zelly:edge:host:{host}:s{n}`` (16 shards
  each) and ``zelly:edge:url:{url}``: sorted sets of entry keys scored by the
  entry's expiry, for purges. Every write trims members whose entry has
  expired, so an index holds only live entries; every entry key starts with
  its host and every tag with its tenant (edge/tags.py);
- ``zelly:edge:admit:t{tenant}:{minute}``: new entries a tenant put here this
  minute. Past ``admissions_per_minute`` a tenant's new pages stay in memory
  only, so no stream of distinct URLs can grow the shared Redis without bound:
  it holds at most admissions_per_minute x max_ttl / 60 entries per tenant.

Never stored here (issue 13, item 2): errors (404/410: memory only, briefly),
entries without a tenant, and routes declared ``shared=False`` (media; the
caller decides, edge/routes.py).

Purges walk each index with ZSCAN and UNLINK the entries in batches, so a
tenant purge over a large index neither blocks Redis (no SMEMBERS of 100,000
members, no DEL of them in one command) nor holds them all in memory here.

Redis trouble never fails a request: a read error is a miss, a write error
only means the next process fills again, and after an error the tier is left
alone for ``pause_seconds`` so a dead Redis does not add its connect timeout
to every miss.
"""

from __future__ import annotations

import json
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from edge.cache_keys import (
    EDGE_INDEX_SHARDS, edge_index_shard, edge_redis_admission_key, edge_redis_entry_key, edge_redis_index_key,
)
from edge.store import Entry

log = logging.getLogger(__name__)

NEVER_SHARED_STATUSES = frozenset({404, 410})
PURGE_BATCH = 500

# One round trip per stored entry, and atomic: the admission check, the entry,
# and its index memberships (with expired members trimmed) go together.
# KEYS: admission counter, entry key, index keys...
# ARGV: admission budget, entry TTL (s), blob, member, member expiry (epoch s), now (epoch s)
_PUT_SCRIPT = """
if redis.call('EXISTS', KEYS[2]) == 0 then
    local admitted = redis.call('INCR', KEYS[1])
    if admitted == 1 then redis.call('EXPIRE', KEYS[1], 120) end
    if admitted > tonumber(ARGV[1]) then return 0 end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
for i = 3, #KEYS do
    redis.call('ZADD', KEYS[i], ARGV[5], ARGV[4])
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[6])
    if redis.call('TTL', KEYS[i]) < ttl then redis.call('EXPIRE', KEYS[i], ttl) end
end
return 1
"""


def encode_entry(entry: Entry) -> bytes:
    meta = {
        "key": entry.key, "url": entry.url_key, "host": entry.host, "status": entry.status,
        "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in entry.headers],
        "stored_at": entry.stored_at, "initial_age": entry.initial_age, "ttl": entry.ttl,
        "swr": entry.stale_while_revalidate, "sie": entry.stale_if_error,
        "etag": entry.etag.decode("latin-1") if entry.etag is not None else None,
        "vary": [[name, value.decode("latin-1")] for name, value in entry.vary],
        "tags": list(entry.tags), "tenant": entry.tenant,
    }
    return json.dumps(meta, separators=(",", ":")).encode() + b"\n" + entry.body


def decode_entry(blob: bytes) -> Entry:
    head, _, body = blob.partition(b"\n")
    meta = json.loads(head)
    return Entry(
        key=meta["key"], url_key=meta["url"], host=meta["host"], status=meta["status"],
        headers=[(n.encode("latin-1"), v.encode("latin-1")) for n, v in meta["headers"]], body=body,
        stored_at=meta["stored_at"], initial_age=meta["initial_age"], ttl=meta["ttl"],
        stale_while_revalidate=meta["swr"], stale_if_error=meta["sie"],
        etag=meta["etag"].encode("latin-1") if meta["etag"] is not None else None,
        vary=tuple((name, value.encode("latin-1")) for name, value in meta["vary"]),
        tags=tuple(meta["tags"]), tenant=meta["tenant"],
    )


def index_keys_of(entry: Entry) -> list[str]:
    shard = edge_index_shard(entry.key)
    keys = [edge_redis_index_key("tag", tag, shard) for tag in entry.tags]
    return keys + [edge_redis_index_key("host", entry.host, shard), edge_redis_index_key("url", entry.url_key)]


class RedisTier:
    def __init__(
        self, client: aioredis.Redis, *, ttl_slack: int = 60, max_ttl: int = 900, admissions_per_minute: int = 1000,
        pause_seconds: float = 5.0, purge_batch: int = PURGE_BATCH,
    ) -> None:
        self._client = client
        self.purge_batch = purge_batch  # keys per ZSCAN page and per UNLINK: no one command blocks Redis long
        self._ttl_slack = ttl_slack
        self.max_ttl = max_ttl
        self.admissions_per_minute = admissions_per_minute
        self._pause_seconds = pause_seconds
        self._paused_until = 0.0
        self._put_script = client.register_script(_PUT_SCRIPT)
        self.refused = 0  # entries kept out by the admission budget (stats, tests)

    @property
    def is_paused(self) -> bool:
        return time.monotonic() < self._paused_until

    def _failed(self, action: str, error: Exception) -> None:
        self._paused_until = time.monotonic() + self._pause_seconds
        log.warning("edge redis tier %s failed (%s); memory only for %.0fs", action, error, self._pause_seconds)

    async def get(self, key: str) -> Entry | None:
        if self.is_paused:
            return None
        try:
            blob = await self._client.get(edge_redis_entry_key(key))
        except (RedisError, OSError) as error:
            self._failed("read", error)
            return None
        if blob is None:
            return None
        try:
            return decode_entry(blob)
        except (ValueError, KeyError, TypeError):
            log.warning("edge redis tier: unreadable entry %r dropped", key)
            return None

    @staticmethod
    def admits(entry: Entry) -> bool:
        """Errors and tenant-less answers stay in memory: anyone can mint them by the thousand."""
        return entry.status not in NEVER_SHARED_STATUSES and bool(entry.tenant)

    async def put(self, entry: Entry) -> bool:
        """Store ``entry`` unless the tier refuses it (errors, no tenant, the tenant's admission budget)."""
        if not self.admits(entry) or self.is_paused:
            return False
        now = time.time()
        expires_in = min(int(entry.usable_until() - now) + self._ttl_slack, self.max_ttl)
        if expires_in <= 0:
            return False
        keys = [edge_redis_admission_key(entry.tenant, int(now // 60)), edge_redis_entry_key(entry.key), *index_keys_of(entry)]
        try:
            stored = await self._put_script(keys=keys, args=[
                self.admissions_per_minute, expires_in, encode_entry(entry), entry.key, int(now) + expires_in, int(now)])
        except (RedisError, OSError) as error:
            self._failed("write", error)
            return False
        if not stored:
            self.refused += 1
        return bool(stored)

    async def delete(self, key: str) -> None:
        try:
            await self._client.unlink(edge_redis_entry_key(key))
        except (RedisError, OSError) as error:
            log.error("edge redis tier delete failed: %s", error)

    async def purge(self, *, tags=(), hosts=(), url_keys=()) -> int:
        index_keys = [edge_redis_index_key("tag", t, shard) for t in tags for shard in range(EDGE_INDEX_SHARDS)]
        index_keys += [edge_redis_index_key("host", h, shard) for h in hosts for shard in range(EDGE_INDEX_SHARDS)]
        index_keys += [edge_redis_index_key("url", u) for u in url_keys]
        if not index_keys:
            return 0
        deleted = 0
        try:
            # One pipelined ZCARD over every shard first: most shards of most tags are
            # empty, and a scan of each would be a round trip for nothing.
            async with self._client.pipeline(transaction=False) as pipe:
                for index_key in index_keys:
                    pipe.zcard(index_key)
                sizes = await pipe.execute()
            for index_key, size in zip(index_keys, sizes):
                if not size:
                    continue
                batch: list[str] = []
                async for member, _ in self._client.zscan_iter(index_key, count=self.purge_batch):
                    batch.append(edge_redis_entry_key(member.decode()))
                    if len(batch) >= self.purge_batch:
                        deleted += await self._client.unlink(*batch)
                        batch.clear()
                if batch:
                    deleted += await self._client.unlink(*batch)
            populated = [key for key, size in zip(index_keys, sizes) if size]
            for start in range(0, len(populated), self.purge_batch):
                await self._client.unlink(*populated[start:start + self.purge_batch])
            return deleted
        except (RedisError, OSError) as error:
            # Purges are not paused: a purge that fails here is logged loudly, since
            # the shared tier may now serve a retired page until its TTL (max_ttl at most).
            log.error("edge redis tier purge failed: %s", error)
            return deleted
