"""Every cache key format of Zelly, the origin's and the edge's, in one place.

The module sits in ``edge/`` because the edge imports nothing from the origin,
while the origin may import the edge (issue 10, item 9). Every key carries the
tenant (``t<id>``) or is a Host, whose tenant is what it resolves to. No
shared-cache key starts with ``edge:`` or ``tasks:``, so none can collide with
the edge tier or the task streams (``zelly:tasks:<queue>``, workers/queues.py).

Shared cache (origin/cache.py adds the ``zelly:`` namespace in front):

==========================================  ==========================================
``t<t>:catalog-version``                     the tenant's catalog version (INCR)
``t<t>:v<version>:page:<blake2b>``           a rendered storefront page
``t<t>:v<version>:read:<name>:<blake2b>``    a catalog read behind a page
``t<t>:site``                                tenant id -> TenantSite
``host:<host>``                              Host -> tenant id (0: no tenant)
``analytics:salt:<day>``                     the day's visitor-id salt (all tenants)
``analytics:session:<t>:<visitor>``          a visitor's open session
``ratelimit:<limit>:<subject>``              a rate-limit token bucket (origin/ratelimit.py);
                                             the subject is ``t<t>``, ``token:<digest>`` or
                                             ``ip:<address>`` (an address is nobody's tenant)
==========================================  ==========================================

Plain Redis (``Services.redis``):

- ``t<t>:shopify:webhook:<id>``: webhook delivery dedupe (SET NX, 48 h);
- ``zelly:edge:e:<edge key>``, ``zelly:edge:{tag,host}:<name>:s<shard>``,
  ``zelly:edge:url:<url>`` and ``zelly:edge:admit:t<t>:<minute>``: the edge's
  Redis tier, its purge indexes and its per-tenant admission counter
  (edge/redis_tier.py); on ZELLY_EDGE_REDIS_URL when that is set.

In memory only: the edge's entry key ``GET|<host><path>?<query>|<encoding>``
(:func:`edge_entry_key` of :func:`url_key`; edge/keys.py's ``classify`` inlines
the same two formats on the hit path, and tests/test_shared_cache.py keeps them equal).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zlib
from typing import Sequence
from urllib.parse import urlencode

EDGE_REDIS_PREFIX = "zelly:edge:"


def catalog_version_key(tenant_id: int) -> str:
    return f"t{tenant_id}:catalog-version"


def page_key(tenant_id: int, version: int, host: str, path: str, query: Sequence[tuple[str, str]], currency: str) -> str:
    canonical = "\n".join((host, path, urlencode(sorted(query)), currency))
    return f"t{tenant_id}:v{version}:page:{hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()}"


def read_key(tenant_id: int, version: int, name: str, args: tuple) -> str:
    digest = hashlib.blake2b(repr(args).encode(), digest_size=16).hexdigest()
    return f"t{tenant_id}:v{version}:read:{name}:{digest}"


def site_key(tenant_id: int) -> str:
    return f"t{tenant_id}:site"


def host_key(host: str) -> str:
    return f"host:{host}"


def salt_key(day: dt.date) -> str:
    return f"analytics:salt:{day.isoformat()}"


def session_key(tenant_id: int, visitor_id: int) -> str:
    return f"analytics:session:{tenant_id}:{visitor_id}"


def rate_limit_key(limit: str, subject: str) -> str:
    return f"ratelimit:{limit}:{subject}"


def webhook_dedupe_key(tenant_id: int, webhook_id: str) -> str:
    return f"t{tenant_id}:shopify:webhook:{webhook_id}"


def url_key(host: str, path: str, query: str) -> str:
    """What a purge by URL names: every encoding and method of one page."""
    return f"{host}{path}?{query}"


def edge_entry_key(url_key: str, encoding: str) -> str:
    return f"GET|{url_key}|{encoding}"


def edge_redis_entry_key(key: str) -> str:
    return EDGE_REDIS_PREFIX + "e:" + key


EDGE_INDEX_SHARDS = 16  # tag and host indexes are split this many ways: no one huge key


def edge_redis_index_key(kind: str, name: str, shard: int | None = None) -> str:
    """``kind`` is ``tag``, ``host`` or ``url``: the sorted set of entry keys a purge by that name deletes.

    Tag and host indexes come in EDGE_INDEX_SHARDS shards (``:s<n>``, by
    :func:`edge_index_shard` of the entry key); a URL's index names a few
    encodings of one page and is one key.
    """
    return f"{EDGE_REDIS_PREFIX}{kind}:{name}" if shard is None else f"{EDGE_REDIS_PREFIX}{kind}:{name}:s{shard}"


def edge_index_shard(entry_key: str) -> int:
    return zlib.crc32(entry_key.encode()) % EDGE_INDEX_SHARDS


def edge_redis_admission_key(tenant: str, minute: int) -> str:
    """How many new entries tenant ``tenant`` put into the Redis tier in minute ``minute`` (epoch // 60)."""
    return f"{EDGE_REDIS_PREFIX}admit:t{tenant}:{minute}"
