"""Cloudflare purge adapter: a queue that de-duplicates, batches and respects Cloudflare's limits.

The origin's writes call ``queue.enqueue(tags=…, hosts=…)`` (``zelly origin``
attaches the queue as ``Services.cloudflare_purge`` and
origin.invalidation.publish_purge calls it directly); ``run()`` sends what is pending to
``POST {api_base}/zones/{zone_id}/purge_cache`` with ``Authorization: Bearer``:

- de-duplicated: a tag named by ten writes in a burst is purged once;
- coalesced in time: :meth:`run` waits ``window_seconds`` (1 s) after the
  first purge of a quiet spell before sending, so a burst of writes within
  that window becomes one call per kind, not one per write (issue 12, item 7);
- bounded: past ``backlog_limit`` pending items (Cloudflare away, or a free
  plan under a bulk sync) the queue coalesces to tenant tags: every
  ``t<id>-…`` tag becomes ``t<id>`` and every URL its host, which purge more
  than needed but never less, and hold one entry per tenant or host;
- batched by kind (``tags``, ``hosts``, ``files``), at most ``batch_size``
  per call (100; 30 for zones configured for the older limit);
- paced by a client-side token bucket with the plan's documented limits
  (free 5/min burst 25, pro 5/s burst 25, business 10/s burst 50,
  enterprise 50/s burst 500), so 429s are the exception;
- on 429: waits ``Retry-After`` (seconds or an HTTP date) and resends the same
  batch; on 5xx or a network error: exponential back-off up to ``max_attempts``;
  on other 4xx (bad token, bad request): the batch is dropped and logged,
  since resending cannot fix it.

Every call has an explicit timeout (the httpx client's).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import httpx

from tls.numbers import parse_bounded_int

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanLimit:
    per_second: float
    burst: int


# developers.cloudflare.com/cache/how-to/purge-cache: purge by tag/host/prefix, per account.
PLAN_LIMITS = {
    "free": PlanLimit(per_second=5 / 60, burst=25),
    "pro": PlanLimit(per_second=5, burst=25),
    "business": PlanLimit(per_second=10, burst=50),
    "enterprise": PlanLimit(per_second=50, burst=500),
}
KINDS = ("tags", "hosts", "files")
WINDOW_SECONDS = 1.0
BACKLOG_LIMIT = 10_000
TENANT_OF_TAG = re.compile(r"^(t\d+)-")  # edge/tags.py: every tenant's tags start t<id>-


def _tenant_of(tag: str) -> str:
    match = TENANT_OF_TAG.match(tag)
    return match.group(1) if match else tag


class TokenBucket:
    def __init__(self, limit: PlanLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.limit.burst, self._tokens + (now - self._updated) * self.limit.per_second)
        self._updated = now

    def delay(self) -> float:
        """Seconds to wait before the next call may go out (0 when a token is there)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.limit.per_second

    def take(self) -> None:
        self._refill()
        self._tokens -= 1

    def empty(self) -> None:
        """Cloudflare said 429: trust it over our own count."""
        self._refill()
        self._tokens = min(self._tokens, 0.0)


@dataclass
class QueueStats:
    calls: int = 0
    purged: int = 0
    rate_limited: int = 0
    retried: int = 0
    dropped: int = 0
    coalesced: int = 0  # times the backlog was folded to tenant tags and hosts
    last_error: str = ""
    batches: list[tuple[str, int]] = field(default_factory=list)  # (kind, size) of each delivered call


RETRY_AFTER_MAX_SECONDS = 86_400


def retry_after_seconds(value: str | None, default: float) -> float:
    if not value:
        return default
    value = value.strip()
    # ASCII digits, bounded (a day): isdigit() took '²' and then float() raised out of the purge loop.
    seconds = parse_bounded_int(value, high=RETRY_AFTER_MAX_SECONDS)
    if seconds is not None:
        return float(seconds)
    if value.isascii() and value.isdigit():
        return float(RETRY_AFTER_MAX_SECONDS)  # a longer wait than we would keep a purge for
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, when.timestamp() - time.time())


class CloudflarePurgeQueue:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_base: str,
        zone_id: str,
        token: str,
        batch_size: int = 100,
        plan: str = "free",
        max_attempts: int = 6,
        max_backoff: float = 60.0,
        window_seconds: float = WINDOW_SECONDS,
        backlog_limit: int = BACKLOG_LIMIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size not in (30, 100):
            raise ValueError("Cloudflare accepts 30 or 100 purge operations per call")
        if plan not in PLAN_LIMITS:
            raise ValueError(f"unknown Cloudflare plan {plan!r}; one of {', '.join(PLAN_LIMITS)}")
        self._client = client
        self._url = f"{api_base.rstrip('/')}/zones/{zone_id}/purge_cache"
        self._token = token
        self.batch_size = batch_size
        self.bucket = TokenBucket(PLAN_LIMITS[plan], clock)
        self._max_attempts = max_attempts
        self._max_backoff = max_backoff
        self._sleep = sleep
        self.window_seconds = window_seconds
        self.backlog_limit = backlog_limit
        self._folding = False
        self._pending: dict[str, dict[str, None]] = {kind: {} for kind in KINDS}
        self._wakeup = asyncio.Event()
        self.stats = QueueStats()

    def __repr__(self) -> str:
        return f"CloudflarePurgeQueue(url={self._url!r}, batch_size={self.batch_size})"  # never the token

    def enqueue(self, *, tags=(), hosts=(), urls=()) -> None:
        if self._folding:  # a backlog is being worked off: new purges join it folded
            tags = [_tenant_of(tag) for tag in tags]
            hosts = [*hosts, *filter(None, (urllib.parse.urlsplit(url).hostname for url in urls))]
            urls = ()
        for kind, items in (("tags", tags), ("hosts", hosts), ("files", urls)):
            for item in items:
                self._pending[kind][item] = None
        if not self._folding and self.pending_count() > self.backlog_limit:
            self._coalesce()
        if self.pending_count():
            self._wakeup.set()

    def _coalesce(self) -> None:
        """Fold what is pending to tenant tags and hosts: broader purges, bounded by tenants and hosts.

        Folding stays on until the backlog is sent, so the bound holds while Cloudflare is away.
        """
        tags = {_tenant_of(tag): None for tag in self._pending["tags"]}
        hosts = dict(self._pending["hosts"])
        for url in self._pending["files"]:
            if host := urllib.parse.urlsplit(url).hostname:
                hosts[host] = None
        self._pending = {"tags": tags, "hosts": hosts, "files": {}}
        self._folding = True
        self.stats.coalesced += 1
        log.warning("cloudflare: purge backlog over %d; coalesced to %d tenant tags and %d hosts until it is sent",
                    self.backlog_limit, len(tags), len(hosts))

    def pending_count(self) -> int:
        return sum(len(items) for items in self._pending.values())

    async def run(self) -> None:
        """Send batches as they come, until cancelled: each burst waits one window, then goes out merged."""
        while True:
            await self._wakeup.wait()
            if self.window_seconds > 0:
                await asyncio.sleep(self.window_seconds)  # the real clock: what else arrives now joins this call
            self._wakeup.clear()
            await self.drain()

    async def drain(self) -> None:
        """Send everything pending now (paced by the plan's limits)."""
        while True:
            batch = self._next_batch()
            if batch is None:
                self._folding = False  # the backlog is out: exact purges again
                return
            await self._send(*batch)

    def _next_batch(self) -> tuple[str, list[str]] | None:
        for kind in KINDS:
            items = self._pending[kind]
            if items:
                batch = list(items)[: self.batch_size]
                for item in batch:
                    del items[item]
                return kind, batch
        return None

    async def _send(self, kind: str, batch: list[str]) -> None:
        backoff = 1.0
        failures = 0
        # 429s do not count as failures: Cloudflare told us when to come back.
        while failures < self._max_attempts:
            wait = self.bucket.delay()
            if wait > 0:
                await self._sleep(wait)
            self.bucket.take()
            self.stats.calls += 1
            try:
                response = await self._client.post(self._url, json={kind: batch}, headers={"Authorization": f"Bearer {self._token}"})
            except httpx.HTTPError as error:
                self.stats.last_error = f"{type(error).__name__}: {error}"
                outcome = "retry"
            else:
                outcome = self._judge(response)
            if outcome == "done":
                self.stats.purged += len(batch)
                self.stats.batches.append((kind, len(batch)))
                return
            if outcome == "drop":
                break
            if outcome == "rate-limited":
                self.stats.rate_limited += 1
                self.bucket.empty()
                await self._sleep(retry_after_seconds(response.headers.get("retry-after"), 1 / self.bucket.limit.per_second))
                continue
            failures += 1
            self.stats.retried += 1
            await self._sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)
        self.stats.dropped += len(batch)
        log.error("cloudflare: dropped a purge of %d %s: %s", len(batch), kind, self.stats.last_error)

    def _judge(self, response: httpx.Response) -> str:
        try:
            envelope = response.json()
        except ValueError:
            envelope = {}
        errors = envelope.get("errors") if isinstance(envelope, dict) else None
        if response.status_code == 200 and isinstance(envelope, dict) and envelope.get("success") is True:
            return "done"
        self.stats.last_error = f"HTTP {response.status_code}: {errors or response.text[:200]}"
        if response.status_code == 429:
            return "rate-limited"
        if response.status_code >= 500:
            return "retry"
        return "drop"
