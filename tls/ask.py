"""The ask decision: may Caddy hold a certificate for this name? Answered from memory.

Caddy asks before it obtains *or loads* a certificate on demand, so this sits on
the TLS handshake path of every name Caddy has not cached yet, and a flood of
random SNI names (a scanner, an attacker) lands here. The decision therefore
never touches DNS, the database or the network:

- :class:`AllowList` keeps the whole set of servable names (active custom
  domains and platform subdomains of active tenants) in a Python ``set``. A
  loader callable (given by the origin) rebuilds it every ``refresh_interval``
  seconds and whenever a change notification arrives (Redis pub/sub), so a new
  domain is servable within one notification and a missed notification costs at
  most one interval.
- A bounded negative cache remembers raw query values already refused, so a
  repeated unknown name costs one dict lookup, not another IDNA parse. It is
  emptied whenever the set changes: it can never deny a newly allowed name.
- Garbage (IP literals, over-long or malformed names) is a 400, so logs tell
  a broken client apart from an unknown domain (404).

Imports nothing from origin/: the loader is a plain ``async () -> iterable of names``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable, Iterable

from tls.hostnames import HostnameError, normalize_hostname

log = logging.getLogger(__name__)

Loader = Callable[[], Awaitable[Iterable[str]]]

DEFAULT_REFRESH_SECONDS = 10.0
NEGATIVE_CACHE_SIZE = 50_000
# Removed names remembered for "410 Gone": bounded, newest kept.
TOMBSTONE_SIZE = 10_000
RECENT_ASKS = 256


class Verdict(enum.Enum):
    ALLOW = 200
    DENY = 404
    GARBAGE = 400
    NOT_READY = 503  # the set was never loaded: deny, and say why


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    hostname: str | None  # the normal form, when the input had one
    reason: str

    @property
    def status(self) -> int:
        return self.verdict.value


@dataclass
class AskStats:
    """Counters for /tls/ask: what benchmarks, tests and operators read."""

    allowed: int = 0
    denied: int = 0
    garbage: int = 0
    not_ready: int = 0
    negative_cache_hits: int = 0
    refreshes: int = 0
    refresh_failures: int = 0
    recent: deque = field(default_factory=lambda: deque(maxlen=RECENT_ASKS))  # (raw, verdict name)

    def asks_for(self, hostname: str) -> int:
        return sum(1 for raw, _ in self.recent if raw == hostname)


class AllowList:
    def __init__(
        self,
        loader: Loader,
        *,
        removed_loader: Loader | None = None,
        refresh_interval: float = DEFAULT_REFRESH_SECONDS,
        negative_cache_size: int = NEGATIVE_CACHE_SIZE,
    ) -> None:
        self._loader = loader
        # Names removed by their store (newest first), from wherever the removal was made: the
        # tombstones are rebuilt from it on each refresh. Without it, only forget() makes them.
        self._removed_loader = removed_loader
        self.refresh_interval = refresh_interval
        self._negative_cache_size = negative_cache_size
        self._allowed: frozenset[str] | None = None
        self._negative: OrderedDict[str, Answer] = OrderedDict()
        self._tombstones: OrderedDict[str, None] = OrderedDict()
        self._refresh_lock = asyncio.Lock()
        # forget() calls a refresh in flight may not have seen: name -> sequence number.
        self._forgotten: dict[str, int] = {}
        self._forget_sequence = 0
        self.loaded_at: float | None = None
        self.stats = AskStats()

    # -- the hot path: pure in-memory work

    def decide(self, raw: str | None) -> Answer:
        answer = self._decide(raw)
        self._count(raw, answer)
        return answer

    def _decide(self, raw: str | None) -> Answer:
        if raw is None or raw == "":
            return Answer(Verdict.GARBAGE, None, "the domain query parameter is required")
        cached = self._negative.get(raw)
        if cached is not None:
            self.stats.negative_cache_hits += 1
            return cached
        if self._allowed is None:
            return Answer(Verdict.NOT_READY, None, "the allow-list has not been loaded yet")
        try:
            hostname = normalize_hostname(raw)
        except HostnameError as error:
            return self._remember(raw, Answer(Verdict.GARBAGE, None, f"{error.code}: {error.problem}"))
        if hostname in self._allowed:
            return Answer(Verdict.ALLOW, hostname, "served by the platform")
        return self._remember(raw, Answer(Verdict.DENY, hostname, "not an active domain of an active store"))

    def is_allowed(self, hostname: str) -> bool:
        """For callers that already hold a normal-form name (the origin's request guard)."""
        return self._allowed is not None and hostname in self._allowed

    def was_removed(self, hostname: str) -> bool:
        """Removed by its store (forget()) and not served again since: the origin answers 410 Gone."""
        return hostname in self._tombstones

    @property
    def is_loaded(self) -> bool:
        return self._allowed is not None

    def __len__(self) -> int:
        return len(self._allowed or ())

    # -- keeping the set fresh

    async def refresh(self) -> None:
        """Rebuild the set from the loader; on failure keep the last good set (and say so in the log)."""
        async with self._refresh_lock:
            started_at_sequence = self._forget_sequence
            try:
                names = frozenset(await self._loader())
                removed = list(await self._removed_loader()) if self._removed_loader is not None else None
            except Exception:  # a failed refresh must never empty the set: keep serving the last one
                self.stats.refresh_failures += 1
                log.exception("TLS allow-list refresh failed; keeping %d names from the last load", len(self))
                return
            # A removal committed before this load began is in `names` already; one that
            # raced with the load is subtracted here so the load cannot resurrect it.
            self._forgotten = {name: seq for name, seq in self._forgotten.items() if seq > started_at_sequence}
            if removed is not None:
                # Oldest first, so the bound drops the oldest; a forget() the load may not have seen stays.
                self._tombstones = OrderedDict.fromkeys([*reversed(removed[:TOMBSTONE_SIZE]), *self._forgotten])
            self._replace(names - self._forgotten.keys())
            self.stats.refreshes += 1

    def forget(self, hostname: str) -> None:
        """Deny ``hostname`` at once in this process (a removal), ahead of the next refresh."""
        self._forget_sequence += 1
        self._forgotten[hostname] = self._forget_sequence
        # Only an explicit removal leaves a tombstone: a name that drops out of the set
        # because its store was suspended is the storefront's 503, not a 410.
        self._tombstones[hostname] = None
        self._tombstones.move_to_end(hostname)
        while len(self._tombstones) > TOMBSTONE_SIZE:
            self._tombstones.popitem(last=False)
        if self._allowed is not None and hostname in self._allowed:
            self._replace(self._allowed - {hostname})

    def _replace(self, names: frozenset[str]) -> None:
        previous = self._allowed or frozenset()
        for back in names & self._tombstones.keys():
            del self._tombstones[back]
        self._allowed = names
        self.loaded_at = time.monotonic()
        if names - previous:
            self._negative.clear()  # a cached "no" may now be a "yes"

    async def run(self, notifications: AsyncIterator[str] | None = None) -> None:
        """Refresh every interval and on each notification, until cancelled."""
        await self.refresh()
        wake = asyncio.Event()
        listener = asyncio.create_task(self._listen(notifications, wake)) if notifications is not None else None
        try:
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=self.refresh_interval)
                wake.clear()
                await self.refresh()
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _listen(self, notifications: AsyncIterator[str], wake: asyncio.Event) -> None:
        # A burst of notifications collapses into one refresh: the loop clears `wake` once.
        async for _ in notifications:
            wake.set()

    # -- bookkeeping

    def _remember(self, raw: str, answer: Answer) -> Answer:
        if len(raw) <= 300:  # over-long garbage is cheap to refuse again and would bloat the cache
            self._negative[raw] = answer
            if len(self._negative) > self._negative_cache_size:
                self._negative.popitem(last=False)
        return answer

    def _count(self, raw: str | None, answer: Answer) -> None:
        if answer.verdict is Verdict.ALLOW:
            self.stats.allowed += 1
        elif answer.verdict is Verdict.DENY:
            self.stats.denied += 1
        elif answer.verdict is Verdict.GARBAGE:
            self.stats.garbage += 1
        else:
            self.stats.not_ready += 1
        self.stats.recent.append(((raw or "")[:300], answer.verdict.name))
