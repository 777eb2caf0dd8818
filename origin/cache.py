"""The shared cache: Zelly's own small interface over redis-py, with a memory twin.

Every value goes through an explicit :class:`Codec` on the way in and out, so
what one process writes another reads as data, never as code: there is no
pickle anywhere (issue 10, item 10). A stored value that does not decode (an
older format, a hand-written pickle, a truncated write) is a *miss*, logged
once at debug level, never an exception on the request path.

- :class:`RedisCache`: one connection pool per process for request-path
  commands, with short socket timeouts (``ZELLY_REDIS_REQUEST_TIMEOUT_MS``,
  0.5 s) and a :class:`CircuitBreaker`, separate from ``Services.redis`` whose
  reads may block on streams (no read timeout there). Redis is a cache, never a
  single point of failure (issue 12, item 2): a read that fails is a miss, a
  write that fails is skipped (a failed delete is retried once Redis answers
  again, so a stale entry cannot outlive a network partition), and only
  :meth:`RedisCache.incr` raises (:class:`CacheUnavailable`), because its
  caller must know the counter did not move.
- :class:`MemoryCache`: the embedded default (one process). It stores the
  *encoded* bytes too, so both backends run the same codecs and a cached value
  is never shared by reference between two requests.

Keys are namespaced (``zelly:`` + the key formats of edge/cache_keys.py).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections import OrderedDict
from typing import Any, Generic, Protocol, Sequence, TypeVar

import pydantic
import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from origin.redis_scripts import LuaScript, ScriptCalls

log = logging.getLogger(__name__)

T = TypeVar("T")
NAMESPACE = "zelly:"
REQUEST_SOCKET_TIMEOUT = 0.5
BREAKER_COOL_DOWN_SECONDS = 1.0
PENDING_DELETES_LIMIT = 10_000
# What a Redis that is down, refusing, black-holed or restarting raises (OSError covers the socket layer).
REDIS_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, TimeoutError, OSError)


class CacheUnavailable(Exception):
    """Redis did not answer (or the breaker is open): raised only where a caller must know."""


class CircuitBreaker:
    """After a failure, Redis is skipped for a cool-down instead of costing every request a timeout.

    Closed: commands go through. A failure opens it for ``cool_down`` seconds,
    during which :meth:`allows` is False (callers answer a miss at once). After
    the cool-down one command is let through as a probe; success closes it,
    failure opens it again. ``recoveries`` counts closings, so the owners of
    local state (pending deletes, remembered versions) know Redis came back.
    """

    def __init__(self, cool_down: float = BREAKER_COOL_DOWN_SECONDS) -> None:
        self.cool_down = cool_down
        self.open_until = 0.0
        self.is_open = False
        self.failures = 0
        self.recoveries = 0
        self.last_error = ""
        self._on_recovery: list = []  # callables run when Redis answers again (e.g. resend unsent messages)

    def on_recovery(self, callback) -> None:
        self._on_recovery.append(callback)

    def allows(self) -> bool:
        if not self.is_open:
            return True
        now = time.monotonic()
        if now < self.open_until:
            return False
        self.open_until = now + self.cool_down  # one probe per cool-down; the others still skip
        return True

    @property
    def is_skipping(self) -> bool:
        """Open and still cooling down: what allows() would refuse, without taking the probe."""
        return self.is_open and time.monotonic() < self.open_until

    def failed(self, error: BaseException) -> None:
        if not self.is_open:
            log.warning("redis: request-path command failed (%s: %s); skipping Redis for %.1fs", type(error).__name__, error, self.cool_down)
        self.is_open = True
        self.open_until = time.monotonic() + self.cool_down
        self.failures += 1
        self.last_error = type(error).__name__

    def succeeded(self) -> None:
        if self.is_open:
            log.warning("redis: answering again; the breaker is closed")
            self.is_open = False
            self.recoveries += 1
            for callback in self._on_recovery:
                callback()

    def state(self) -> str:
        return "open" if self.is_open else "closed"


class BoundedLru(OrderedDict):
    """A dict that forgets its least recently used entries past ``max_entries``.

    For in-process memos keyed by what a client sends (a webhook's shop domain, a
    Host): a stranger's endless new keys then cost a bounded amount of memory
    (issue 12, item 7), the hot keys stay.
    """

    def __init__(self, max_entries: int) -> None:
        super().__init__()
        self.max_entries = max_entries

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def get(self, key, default=None):
        if key in self:
            return self[key]
        return default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.max_entries:
            self.popitem(last=False)


class CodecError(ValueError):
    """The stored bytes are not a value of this codec: the cache treats it as a miss."""


class Codec(Protocol[T]):
    def encode(self, value: T) -> bytes: ...

    def decode(self, data: bytes) -> T: ...


class TypedJson(Generic[T]):
    """JSON for a typed value (dataclasses, Decimal, datetimes, tuples…), validated on decode by pydantic."""

    def __init__(self, kind: Any) -> None:
        self._adapter = pydantic.TypeAdapter(kind)

    def encode(self, value: T) -> bytes:
        return self._adapter.dump_json(value)

    def decode(self, data: bytes) -> T:
        try:
            return self._adapter.validate_json(data)
        except pydantic.ValidationError as error:
            raise CodecError(str(error).splitlines()[0]) from None


class IntCodec:
    """An integer as ASCII digits: what Redis INCR stores, so counters read back with it."""

    def encode(self, value: int) -> bytes:
        return str(int(value)).encode()

    def decode(self, data: bytes) -> int:
        if not data or len(data) > 20 or not data.lstrip(b"-").isdigit():
            raise CodecError("not an integer")
        return int(data)


class TextCodec:
    def encode(self, value: str) -> bytes:
        return value.encode()

    def decode(self, data: bytes) -> str:
        try:
            return data.decode()
        except UnicodeDecodeError:
            raise CodecError("not UTF-8 text") from None


class JsonObject:
    """A flat JSON object whose keys and value types are fixed: ``{"name": type, …}``."""

    def __init__(self, fields: dict[str, type]) -> None:
        self._fields = fields

    def encode(self, value: dict[str, Any]) -> bytes:
        return json.dumps({name: value[name] for name in self._fields}, separators=(",", ":")).encode()

    def decode(self, data: bytes) -> dict[str, Any]:
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise CodecError("not JSON") from None
        if not isinstance(value, dict) or set(value) != set(self._fields):
            raise CodecError("unexpected fields")
        for name, kind in self._fields.items():
            if type(value[name]) is not kind:
                raise CodecError(f"{name} is not {kind.__name__}")
        return value


INT = IntCodec()
TEXT = TextCodec()


class Cache(Protocol):
    async def get(self, key: str, codec: Codec[T]) -> T | None: ...

    async def get_or_fail(self, key: str, codec: Codec[T]) -> T | None:
        """Like get, but CacheUnavailable when Redis cannot be read (None stays "not stored")."""
        ...

    async def get_many(self, keys: Sequence[str], codec: Codec[T]) -> list[T | None]: ...

    async def set(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> bool:
        """Set only if absent (SET NX): True when this call stored it."""
        ...

    async def expire(self, key: str, ttl: float) -> None: ...

    async def get_or_add(self, key: str, value: T, codec: Codec[T], *, ttl: float) -> T:
        """The stored value with its TTL slid to ``ttl``, or ``value`` stored (if absent) with ``ttl``: one
        round trip (a Lua script on Redis), for a sliding-TTL record read on every request (sessions).
        A stored value that does not decode is replaced. Redis unavailable: ``value``, nothing stored."""
        ...

    async def delete(self, *keys: str) -> None: ...

    async def incr(self, key: str) -> int: ...

    async def incr_above(self, key: str, floor: int) -> int:
        """INCR, but never to a value at or below ``floor`` (a counter Redis lost in a restart)."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def _decode(key: str, data: bytes | None, codec: Codec[T]) -> T | None:
    if data is None:
        return None
    try:
        return codec.decode(data)
    except CodecError as error:
        log.debug("cache: %s does not decode (%s): a miss", key, error)
        return None


def _seconds(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, math.ceil(ttl))


class RedisCache:
    def __init__(self, client: aioredis.Redis, namespace: str = NAMESPACE, *, breaker: CircuitBreaker | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.breaker = breaker or CircuitBreaker()
        self.scripts = ScriptCalls(client)  # script calls of one loop turn in one round trip (the beacon's sessions, rate limits)
        self._pending_deletes: set[str] = set()  # deletes Redis missed; sent before anything else once it answers

    @classmethod
    def from_url(cls, url: str, namespace: str = NAMESPACE, *, timeout: float = REQUEST_SOCKET_TIMEOUT) -> "RedisCache":
        # One immediate retry on a fresh connection for a connection error (a pooled connection
        # a Redis restart closed), none for a timeout (a silent Redis would cost it twice).
        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=timeout, socket_timeout=timeout, health_check_interval=30,
            retry=Retry(NoBackoff(), 1), retry_on_error=[redis.exceptions.ConnectionError],
        )
        return cls(client, namespace)

    async def _run(self, command):
        """``command()`` through the breaker: CacheUnavailable when Redis is skipped or fails."""
        if not self.breaker.allows():
            raise CacheUnavailable(self.breaker.last_error or "redis is unavailable")
        try:
            if self._pending_deletes:
                await self._flush_pending_deletes()
            result = await command()
        except REDIS_FAILURES as error:
            self.breaker.failed(error)
            # After a restart every pooled connection is dead: drop the idle ones now, or each
            # probe after the cool-down would meet the next dead one and open the breaker again.
            with contextlib.suppress(Exception):
                await self.client.connection_pool.disconnect(inuse_connections=False)
            raise CacheUnavailable(f"{type(error).__name__}: {error}") from None
        self.breaker.succeeded()
        return result

    async def _flush_pending_deletes(self) -> None:
        keys = list(self._pending_deletes)
        for start in range(0, len(keys), 500):
            await self.client.delete(*keys[start:start + 500])
        self._pending_deletes.difference_update(keys)

    async def get(self, key: str, codec: Codec[T]) -> T | None:
        try:
            data = await self._run(lambda: self.client.get(self.namespace + key))
        except CacheUnavailable:
            return None
        return _decode(key, data, codec)

    async def get_or_fail(self, key: str, codec: Codec[T]) -> T | None:
        return _decode(key, await self._run(lambda: self.client.get(self.namespace + key)), codec)

    async def get_many(self, keys: Sequence[str], codec: Codec[T]) -> list[T | None]:
        if not keys:
            return []
        try:
            values = await self._run(lambda: self.client.mget([self.namespace + key for key in keys]))
        except CacheUnavailable:
            return [None] * len(keys)
        return [_decode(key, value, codec) for key, value in zip(keys, values)]

    async def set(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> None:
        data = codec.encode(value)
        with contextlib.suppress(CacheUnavailable):
            await self._run(lambda: self.client.set(self.namespace + key, data, ex=_seconds(ttl)))

    async def add(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> bool:
        """False when Redis is unavailable too: nothing was stored."""
        data = codec.encode(value)
        try:
            return bool(await self._run(lambda: self.client.set(self.namespace + key, data, ex=_seconds(ttl), nx=True)))
        except CacheUnavailable:
            return False

    async def expire(self, key: str, ttl: float) -> None:
        with contextlib.suppress(CacheUnavailable):
            await self._run(lambda: self.client.expire(self.namespace + key, _seconds(ttl)))

    async def get_or_add(self, key: str, value: T, codec: Codec[T], *, ttl: float) -> T:
        name, data, seconds = self.namespace + key, codec.encode(value), _seconds(ttl)
        try:
            stored = await self._run(lambda: self.scripts.run(_GET_OR_ADD_SCRIPT, [name], [data, seconds]))
            if stored is None:
                return value
            current = _decode(key, stored, codec)
            if current is None:  # bytes that do not decode: nobody can be using them
                await self._run(lambda: self.client.set(name, data, ex=seconds))
                return value
            return current
        except CacheUnavailable:
            return value

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        names = [self.namespace + key for key in keys]
        try:
            await self._run(lambda: self.client.delete(*names))
        except CacheUnavailable:
            # Redis may still hold these (a partition, not a restart): delete them once it answers.
            if len(self._pending_deletes) + len(names) <= PENDING_DELETES_LIMIT:
                self._pending_deletes.update(names)
            else:
                log.warning("redis: %d deletes pending; dropping more (their entries expire by TTL)", len(self._pending_deletes))

    async def incr(self, key: str) -> int:
        return int(await self._run(lambda: self.client.incr(self.namespace + key)))

    async def incr_above(self, key: str, floor: int) -> int:
        name = self.namespace + key
        return int(await self._run(lambda: self.client.eval(_INCR_ABOVE_SCRIPT, 1, name, floor)))

    async def ping(self) -> None:
        # Health asks Redis itself, breaker or not: an operator wants to see the moment it is back.
        try:
            await self.client.ping()
        except REDIS_FAILURES as error:
            self.breaker.failed(error)
            raise
        self.breaker.succeeded()

    async def close(self) -> None:
        await self.client.aclose()


# GET with EXPIRE when present, else SET ... EX: nil means "stored the new value".
_GET_OR_ADD_SCRIPT = LuaScript("""
local value = redis.call('GET', KEYS[1])
if value then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return value
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
""")

_INCR_ABOVE_SCRIPT = """
local value = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if value <= floor then
  value = floor + 1
  redis.call('SET', KEYS[1], value)
end
return value
"""


class MemoryCache:
    """One process's cache: encoded bytes with an expiry, swept as it grows."""

    SWEEP_EVERY = 1024
    breaker: CircuitBreaker | None = None  # nothing to break: it is this process's memory

    def __init__(self, namespace: str = NAMESPACE) -> None:
        self.namespace = namespace
        self._entries: dict[str, tuple[float, bytes]] = {}  # key -> (expires at, monotonic; inf = never), data
        self._writes = 0

    def _read(self, key: str) -> bytes | None:
        entry = self._entries.get(self.namespace + key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            del self._entries[self.namespace + key]
            return None
        return entry[1]

    def _write(self, key: str, data: bytes, ttl: float | None) -> None:
        expires_at = math.inf if ttl is None else time.monotonic() + ttl
        self._entries[self.namespace + key] = (expires_at, data)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            now = time.monotonic()
            for stale in [name for name, (at, _) in self._entries.items() if at <= now]:
                del self._entries[stale]

    async def get(self, key: str, codec: Codec[T]) -> T | None:
        return _decode(key, self._read(key), codec)

    get_or_fail = get

    async def get_many(self, keys: Sequence[str], codec: Codec[T]) -> list[T | None]:
        return [_decode(key, self._read(key), codec) for key in keys]

    async def set(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> None:
        self._write(key, codec.encode(value), ttl)

    async def add(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> bool:
        if self._read(key) is not None:
            return False
        self._write(key, codec.encode(value), ttl)
        return True

    async def expire(self, key: str, ttl: float) -> None:
        data = self._read(key)
        if data is not None:
            self._entries[self.namespace + key] = (time.monotonic() + ttl, data)

    async def get_or_add(self, key: str, value: T, codec: Codec[T], *, ttl: float) -> T:
        current = _decode(key, self._read(key), codec)
        if current is None:
            self._write(key, codec.encode(value), ttl)
            return value
        await self.expire(key, ttl)
        return current

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(self.namespace + key, None)

    async def incr(self, key: str) -> int:
        entry = self._entries.get(self.namespace + key)
        data = self._read(key)
        try:
            value = (INT.decode(data) if data is not None else 0) + 1
        except CodecError:
            raise redis.exceptions.ResponseError("value is not an integer or out of range") from None
        expires_at = entry[0] if entry is not None and data is not None else math.inf
        self._entries[self.namespace + key] = (expires_at, INT.encode(value))
        return value

    async def incr_above(self, key: str, floor: int) -> int:
        value = await self.incr(key)
        if value <= floor:
            value = floor + 1
            self._write(key, INT.encode(value), None)
        return value

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
