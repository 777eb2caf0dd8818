"""The shared cache: Zelly's own small interface over redis-py, with a memory twin.

Every value goes through an explicit :class:`Codec` on the way in and out, so
what one process writes another reads as data, never as code: there is no
pickle anywhere (issue 10, item 10). A stored value that does not decode (an
older format, a hand-written pickle, a truncated write) is a *miss*, logged
once at debug level, never an exception on the request path.

- :class:`RedisCache`: one connection pool per process for request-path
  commands, with bounded socket timeouts (5 s), separate from
  ``Services.redis`` whose reads may block on streams (no read timeout there).
- :class:`MemoryCache`: the embedded default (one process). It stores the
  *encoded* bytes too, so both backends run the same codecs and a cached value
  is never shared by reference between two requests.

Keys are namespaced (``zelly:`` + the key formats of edge/cache_keys.py).
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any, Generic, Protocol, Sequence, TypeVar

import pydantic
import redis.asyncio as aioredis
import redis.exceptions

log = logging.getLogger(__name__)

T = TypeVar("T")
NAMESPACE = "zelly:"
REQUEST_SOCKET_TIMEOUT = 5.0


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

    async def get_many(self, keys: Sequence[str], codec: Codec[T]) -> list[T | None]: ...

    async def set(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> None: ...

    async def add(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> bool:
        """Set only if absent (SET NX): True when this call stored it."""
        ...

    async def expire(self, key: str, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def incr(self, key: str) -> int: ...

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
    def __init__(self, client: aioredis.Redis, namespace: str = NAMESPACE) -> None:
        self.client = client
        self.namespace = namespace

    @classmethod
    def from_url(cls, url: str, namespace: str = NAMESPACE) -> "RedisCache":
        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=REQUEST_SOCKET_TIMEOUT, socket_timeout=REQUEST_SOCKET_TIMEOUT, health_check_interval=30
        )
        return cls(client, namespace)

    async def get(self, key: str, codec: Codec[T]) -> T | None:
        return _decode(key, await self.client.get(self.namespace + key), codec)

    async def get_many(self, keys: Sequence[str], codec: Codec[T]) -> list[T | None]:
        if not keys:
            return []
        values = await self.client.mget([self.namespace + key for key in keys])
        return [_decode(key, value, codec) for key, value in zip(keys, values)]

    async def set(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> None:
        await self.client.set(self.namespace + key, codec.encode(value), ex=_seconds(ttl))

    async def add(self, key: str, value: T, codec: Codec[T], *, ttl: float | None = None) -> bool:
        return bool(await self.client.set(self.namespace + key, codec.encode(value), ex=_seconds(ttl), nx=True))

    async def expire(self, key: str, ttl: float) -> None:
        await self.client.expire(self.namespace + key, _seconds(ttl))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.client.delete(*(self.namespace + key for key in keys))

    async def incr(self, key: str) -> int:
        return int(await self.client.incr(self.namespace + key))

    async def ping(self) -> None:
        await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()


class MemoryCache:
    """One process's cache: encoded bytes with an expiry, swept as it grows."""

    SWEEP_EVERY = 1024

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

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
