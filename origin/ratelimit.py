"""Rate limits: token buckets in Redis (one Lua script) or in this process's memory (issue 13, item 7).

Every limited request takes one token from each bucket it is charged to, all
at once or not at all: a request refused by its tenant's bucket does not also
drain its IP's. A bucket holds ``capacity`` tokens and refills at ``capacity``
per ``period`` seconds, so ``"600/60"`` allows a burst of 600 and 10 a second
after that.

- :class:`RedisRateLimiter` (servers): one Lua script checks and takes from
  every bucket atomically, with Redis's own clock, so every origin process
  shares one budget. It runs on the shared cache's request pool and breaker
  (origin/cache.py): a Redis that is down or slow *fails open*, the request
  goes through and one line is logged; while the breaker is open the limiter
  does not even try, so an outage costs no extra timeout (a rate limiter must never turn an
  outage of the cache into 500s or 429s for everyone).
- :class:`MemoryRateLimiter` (embedded default, one process): the same
  arithmetic in a bounded LRU of buckets, keyed by what a stranger sends (an
  IP), so a flood of addresses costs bounded memory.

Bucket keys come from edge/cache_keys.py (``ratelimit:<limit>:<subject>``,
the subject carrying the tenant ``t<id>`` for per-tenant buckets). What is
limited where, and the defaults, are listed in docs/security.md, "Rate limits".
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol, Sequence

import redis.asyncio as aioredis

from edge.cache_keys import rate_limit_key
from origin.cache import NAMESPACE, BoundedLru, CacheUnavailable, CircuitBreaker, RedisCache, REDIS_FAILURES
from origin.redis_scripts import LuaScript, ScriptCalls
from origin.settings import Settings, parse_rate

log = logging.getLogger(__name__)

MEMORY_BUCKETS = 100_000  # the memory limiter forgets the least recently used bucket past this
FAIL_OPEN_LOG_EVERY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Limit:
    """A named budget: ``capacity`` requests, refilled over ``period`` seconds."""

    name: str
    capacity: int
    period: float

    @property
    def rate(self) -> float:
        return self.capacity / self.period

    @property
    def policy(self) -> str:
        """``RateLimit-Policy`` (draft-ietf-httpapi-ratelimit-headers): quota and window."""
        return f"{self.capacity};w={math.ceil(self.period)}"


@dataclass(frozen=True, slots=True)
class Charge:
    """One bucket a request is charged to: a limit and whose it is (``ip:203.0.113.7``, ``t12``...)."""

    limit: Limit
    subject: str

    @property
    def key(self) -> str:
        return rate_limit_key(self.limit.name, self.subject)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the tightest bucket said: allowed or not, and the numbers the RateLimit-* headers carry."""

    allowed: bool
    limit: Limit | None  # None: nothing was charged, or the limiter failed open
    remaining: int = 0
    reset_seconds: int = 0  # until the bucket is full again
    retry_after_seconds: int = 0  # until the refused request would pass; 0 when allowed

    def headers(self) -> list[tuple[str, str]]:
        """``RateLimit-Limit/-Remaining/-Reset/-Policy``, and ``Retry-After`` on a refusal."""
        if self.limit is None:
            return []
        headers = [
            ("RateLimit-Limit", str(self.limit.capacity)),
            ("RateLimit-Remaining", str(self.remaining)),
            ("RateLimit-Reset", str(self.reset_seconds)),
            ("RateLimit-Policy", self.limit.policy),
        ]
        if not self.allowed:
            headers.append(("Retry-After", str(self.retry_after_seconds)))
        return headers


ALLOWED_UNCHARGED = Decision(allowed=True, limit=None)


class RateLimited(Exception):
    """A bucket the request was charged to is empty: answer 429 (origin.web.errors, the webhook intake)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"rate limit {decision.limit.name if decision.limit else '?'} exceeded")
        self.decision = decision

    @property
    def message(self) -> str:
        return f"too many requests; try again in {self.decision.retry_after_seconds} s"


def _decide(charges: Sequence[Charge], levels: Sequence[float], allowed: bool) -> Decision:
    """The decision the tightest bucket gives, from each bucket's token level after the take."""
    tightest = None
    for charge, tokens in zip(charges, levels):
        if not allowed:
            # Refused: the bucket that lacked a token names the wait (the longest, when several did).
            if tokens < 1:
                wait = (1 - tokens) / charge.limit.rate
                if tightest is None or wait > tightest[1]:
                    tightest = (charge, wait, tokens)
        elif tightest is None or tokens < tightest[2]:
            tightest = (charge, 0.0, tokens)
    charge, wait, tokens = tightest
    limit = charge.limit
    return Decision(
        allowed=allowed, limit=limit, remaining=max(0, math.floor(tokens)),
        reset_seconds=math.ceil((limit.capacity - tokens) / limit.rate),
        retry_after_seconds=max(1, math.ceil(wait)) if not allowed else 0,
    )


class RateLimiter(Protocol):
    async def take(self, charges: Sequence[Charge]) -> Decision:
        """One token from every bucket in ``charges``, or none if any is empty."""
        ...


class MemoryRateLimiter:
    """The embedded default: buckets in this process, monotonic time."""

    def __init__(self, max_buckets: int = MEMORY_BUCKETS, clock=time.monotonic) -> None:
        self._buckets: BoundedLru = BoundedLru(max_buckets)  # key -> (tokens, at)
        self._clock = clock

    async def take(self, charges: Sequence[Charge]) -> Decision:
        if not charges:
            return ALLOWED_UNCHARGED
        now = self._clock()
        levels = []
        for charge in charges:
            tokens, at = self._buckets.get(charge.key) or (float(charge.limit.capacity), now)
            levels.append(min(float(charge.limit.capacity), tokens + max(0.0, now - at) * charge.limit.rate))
        allowed = all(tokens >= 1 for tokens in levels)
        if allowed:
            levels = [tokens - 1 for tokens in levels]
        for charge, tokens in zip(charges, levels):
            self._buckets[charge.key] = (tokens, now)
        return _decide(charges, levels, allowed)


# KEYS: the buckets. ARGV: capacity and refill rate (tokens/s) per bucket, in KEYS order.
# Each bucket is a hash {tokens, at}; it expires once it would be full again, so an
# idle IP costs nothing. Levels go back as strings: Lua numbers would be truncated to integers.
_TAKE_SCRIPT = LuaScript("""
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local levels = {}
local allowed = 1
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = capacity
    at = now
  end
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  if tokens < 1 then allowed = 0 end
  levels[i] = tokens
end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  if allowed == 1 then levels[i] = levels[i] - 1 end
  redis.call('HSET', key, 'tokens', tostring(levels[i]), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((capacity - levels[i]) / rate * 1000) + 1000)
  levels[i] = tostring(levels[i])
end
return {allowed, levels}
""")


class RedisRateLimiter:
    """Buckets shared by every process, on the request pool; fails open when Redis does not answer."""

    def __init__(
        self, client: aioredis.Redis, breaker: CircuitBreaker, namespace: str = NAMESPACE, *, scripts: ScriptCalls | None = None
    ) -> None:
        self.client = client
        self.breaker = breaker
        self.namespace = namespace
        # The cache's batcher when given: a beacon's take and its session lookup share the loop turn's pipelines.
        self.scripts = scripts or ScriptCalls(client)
        self._last_fail_open_log = -math.inf
        self.failed_open = 0

    async def take(self, charges: Sequence[Charge]) -> Decision:
        if not charges:
            return ALLOWED_UNCHARGED
        keys = [self.namespace + charge.key for charge in charges]
        arguments: list[str] = []
        for charge in charges:
            arguments += [str(charge.limit.capacity), repr(charge.limit.rate)]
        try:
            # Never the breaker's probe: while Redis is known to be away the limits lapse at no cost,
            # and the cache's own commands find out when it is back (each probe costs a timeout).
            if self.breaker.is_open:
                raise CacheUnavailable(self.breaker.last_error or "redis is unavailable")
            try:
                allowed, levels = await self.scripts.run(_TAKE_SCRIPT, keys, arguments)
            except REDIS_FAILURES as error:
                self.breaker.failed(error)
                raise CacheUnavailable(f"{type(error).__name__}: {error}") from None
            self.breaker.succeeded()
        except CacheUnavailable as error:
            self._fail_open(str(error))
            return ALLOWED_UNCHARGED
        return _decide(charges, [float(level) for level in levels], bool(allowed))

    def _fail_open(self, reason: str) -> None:
        self.failed_open += 1
        now = time.monotonic()
        if now - self._last_fail_open_log >= FAIL_OPEN_LOG_EVERY_SECONDS:
            self._last_fail_open_log = now
            log.warning("rate limits not enforced: Redis is unavailable (%s); requests pass until it answers", reason)


@dataclass(frozen=True)
class RateLimits:
    """Every limit, read once from Settings, and the limiter that enforces them (Services.rate_limits)."""

    limiter: RateLimiter
    api_ip: Limit
    api_token: Limit
    api_tenant: Limit
    events_ip: Limit
    events_tenant: Limit
    webhooks_ip: Limit
    webhooks_tenant: Limit
    cart_ip: Limit
    cart_tenant: Limit
    domain_verify_tenant: Limit
    theme_write_tenant: Limit

    @classmethod
    def from_settings(cls, settings: Settings, limiter: RateLimiter) -> "RateLimits":
        limits = {}
        for name in ("api_ip", "api_token", "api_tenant", "events_ip", "events_tenant", "webhooks_ip",
                     "webhooks_tenant", "cart_ip", "cart_tenant", "domain_verify_tenant", "theme_write_tenant"):
            variable = f"ZELLY_RATE_LIMIT_{name.upper()}"
            capacity, period = parse_rate(variable, getattr(settings, f"rate_limit_{name}"))
            limits[name] = Limit(name.replace("_", "-"), capacity, period)
        return cls(limiter=limiter, **limits)

    async def take(self, *charges: tuple[Limit, str]) -> Decision:
        """Charge one request to each ``(limit, subject)``."""
        return await self.limiter.take([Charge(limit, subject) for limit, subject in charges])


def make_rate_limiter(cache) -> RateLimiter:
    """On the shared cache's Redis (its short timeouts and breaker) when there is one, else in memory."""
    if isinstance(cache, RedisCache):
        return RedisRateLimiter(cache.client, cache.breaker, scripts=cache.scripts)
    return MemoryRateLimiter()
