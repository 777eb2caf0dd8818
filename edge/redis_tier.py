"""The shared tier: entries in Redis so several edge processes share one fill.

Layout (db chosen by the caller's client; the formats are edge/cache_keys.py's):

- ``zelly:edge:e:{key}``: JSON metadata, a newline, then the body bytes;
  expires when nothing may serve it any more (``usable_until`` + slack);
- ``zelly:edge:tag:{tag}``, ``zelly:edge:host:{host}``, ``zelly:edge:url:{url}``:
  sets of entry keys, for purges. Every entry key starts with its host and every
  tag with its tenant (edge/tags.py).

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

from edge.cache_keys import edge_redis_entry_key, edge_redis_index_key
from edge.store import Entry

log = logging.getLogger(__name__)


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


class RedisTier:
    def __init__(self, client: aioredis.Redis, *, ttl_slack: int = 60, pause_seconds: float = 5.0) -> None:
        self._client = client
        self._ttl_slack = ttl_slack
        self._pause_seconds = pause_seconds
        self._paused_until = 0.0

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

    async def put(self, entry: Entry) -> None:
        expires_in = int(entry.usable_until() - time.time()) + self._ttl_slack
        if expires_in <= 0 or self.is_paused:
            return
        index_keys = [edge_redis_index_key("tag", tag) for tag in entry.tags]
        index_keys += [edge_redis_index_key("host", entry.host), edge_redis_index_key("url", entry.url_key)]
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.set(edge_redis_entry_key(entry.key), encode_entry(entry), ex=expires_in)
                for index_key in index_keys:
                    pipe.sadd(index_key, entry.key)
                    # An index outlives its entries by at most one entry lifetime; stale
                    # members only cost a DEL of a missing key at purge time.
                    pipe.expire(index_key, expires_in, gt=True)
                    pipe.expire(index_key, expires_in, nx=True)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._failed("write", error)

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(edge_redis_entry_key(key))
        except (RedisError, OSError) as error:
            log.error("edge redis tier delete failed: %s", error)

    async def purge(self, *, tags=(), hosts=(), url_keys=()) -> int:
        index_keys = [edge_redis_index_key("tag", t) for t in tags] + [edge_redis_index_key("host", h) for h in hosts]
        index_keys += [edge_redis_index_key("url", u) for u in url_keys]
        if not index_keys:
            return 0
        try:
            members: set[bytes] = set()
            for index_key in index_keys:
                members |= await self._client.smembers(index_key)
            deleted = 0
            if members:
                deleted = await self._client.delete(*(edge_redis_entry_key(m.decode()) for m in members))
            await self._client.delete(*index_keys)
            return deleted
        except (RedisError, OSError) as error:
            # Purges are not paused: a purge that fails here is logged loudly, since
            # the shared tier may now serve a retired page until its TTL.
            log.error("edge redis tier purge failed: %s", error)
            return 0
