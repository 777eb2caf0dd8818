"""The request path: classify, look up, serve a hit or fetch once per key.

    hit (fresh)            -> served from memory; no await on the way except send
    stale, in SWR window   -> served stale; one background refresh per key
    stale with a validator -> the refresh is conditional (If-None-Match /
                              If-Modified-Since); a 304 refreshes the stored
                              entry (headers merged, freshness renewed)
    miss / expired         -> one upstream fetch per key (single flight); the
                              others wait up to single_flight_wait, then go
                              upstream themselves; 5xx/timeout with a stale
                              entry in its stale-if-error window -> stale
    bypass                 -> streamed to the origin untouched (minus
                              untrusted forwarding headers); a 2xx/3xx to
                              POST/PUT/DELETE/PATCH drops the stored copies of
                              its URI and same-host Location/Content-Location

Every response carries ``Cache-Status`` (RFC 9211); served entries carry ``Age``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from edge.config import EdgeConfig
from edge.keys import HOP_BY_HOP, EdgeRequest, classify, invalidated_url_keys
from edge.policy import Decision, decide
from edge.purge import Purger
from edge.redis_tier import RedisTier
from edge.stats import EdgeStats
from edge.store import Entry, MemoryStore, parse_cache_tags, tenant_of
from edge.upstream import Upstream, UpstreamError, UpstreamResponse, UpstreamTimeout
from observability import tracing
from observability.metrics import Metrics, route_family

log = logging.getLogger(__name__)

_NOT_STORED_HEADERS = HOP_BY_HOP | frozenset({b"content-length", b"age", b"cache-status"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
_NOT_IN_304 = frozenset({b"content-length", b"content-type", b"content-encoding"})


@dataclass(slots=True)
class Outcome:
    """What one upstream attempt produced: an entry (shareable) or a private response."""

    cache_status: str
    entry: Entry | None = None  # stored now, or the stale entry served instead of an error
    response: UpstreamResponse | None = None  # not shareable: only the leader sends it
    counter: str = "miss"


class EdgeProxy:
    def __init__(self, config: EdgeConfig, upstream: Upstream, store: MemoryStore, redis_tier: RedisTier | None, stats: EdgeStats, purger: Purger,
                 metrics: Metrics | None = None) -> None:
        self.config = config
        self.metrics = metrics or Metrics("edge")
        self.upstream = upstream
        self.store = store
        self.redis_tier = redis_tier
        self.stats = stats
        self.purger = purger
        self.name = config.status_name
        self.flights: dict[str, asyncio.Task[Outcome]] = {}
        self._background: set[asyncio.Task] = set()
        self.upstream_fetches = 0  # for benchmarks and tests: cacheable fetches sent upstream

    async def handle(self, scope: dict, receive, send) -> None:
        request = classify(scope, self.config)
        if request.bypass:
            await self._bypass(request, scope, receive, send)
            return
        now = time.time()
        entry = self.store.get(request.key)
        if entry is None and self.redis_tier is not None:
            generation = self.purger.generation
            entry = await self.redis_tier.get(request.key)
            if generation != self.purger.generation:
                entry = None  # a purge ran while we read: what we read may be what it retired
            if entry is not None and entry.usable_until() > now:
                self.store.put(entry)
            elif entry is not None and entry.validators() is None:
                entry = None  # nothing may serve it, and nothing could revalidate it
        kind = "uri-miss"
        if entry is not None and not self._vary_matches(entry, request):
            entry, kind = None, "vary-miss"
        if entry is not None:
            age = entry.age(now)
            remaining = entry.ttl - age
            if remaining > 0:
                self.stats.count(entry.tenant, "hit")
                await self._send_entry(send, request, entry, age, f"{self.name}; hit; ttl={int(remaining)}")
                return
            if -remaining < entry.stale_while_revalidate:
                self.stats.count(entry.tenant, "stale")
                self._refresh_in_background(request, scope, entry)
                await self._send_entry(send, request, entry, age, f"{self.name}; hit; ttl={int(remaining)}; detail=stale-while-revalidate")
                return
            kind = "stale"  # too old to serve as it is; still its validators may spare the body
        await self._miss(request, scope, send, entry, kind)

    # -- misses -------------------------------------------------------------

    async def _miss(self, request: EdgeRequest, scope: dict, send, stale: Entry | None, kind: str) -> None:
        flight = self.flights.get(request.key)
        if flight is not None:
            try:
                outcome = await asyncio.wait_for(asyncio.shield(flight), self.config.single_flight_wait)
            except TimeoutError:
                outcome = None  # the leader is slow: fall through to our own fetch
            except Exception:
                outcome = None
            if outcome is not None and outcome.entry is not None:
                entry = outcome.entry
                self.stats.count(entry.tenant, "hit" if outcome.counter == "miss" else outcome.counter)
                await self._send_entry(send, request, entry, entry.age(time.time()), outcome.cache_status + "; collapsed")
                return
            outcome = await self._fetch(request, scope, stale, kind)
        else:
            flight = self._start_flight(request, scope, stale, kind)
            outcome = await asyncio.shield(flight)
        await self._send_outcome(send, request, outcome)

    def _start_flight(self, request: EdgeRequest, scope: dict, stale: Entry | None, kind: str) -> asyncio.Task[Outcome]:
        # The fetch runs in its own task so a leader whose client hangs up does
        # not cancel the fetch everyone else is waiting for.
        flight = asyncio.create_task(self._fetch(request, scope, stale, kind))
        self.flights[request.key] = flight

        def finished(task: asyncio.Task) -> None:
            if self.flights.get(request.key) is task:
                del self.flights[request.key]
            if not task.cancelled() and task.exception() is not None:
                log.error("edge fetch for %s failed", request.key, exc_info=task.exception())

        flight.add_done_callback(finished)
        return flight

    def _refresh_in_background(self, request: EdgeRequest, scope: dict, stale: Entry) -> None:
        if request.key in self.flights:
            return  # a refresh (or a miss fetch) is already on its way: exactly one
        task = self._start_flight(request, scope, stale, "stale")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _fetch(self, request: EdgeRequest, scope: dict, stale: Entry | None, kind: str) -> Outcome:
        generation = self.purger.generation
        self.upstream_fetches += 1
        headers = request.upstream_headers()
        validators = stale.validators() if stale is not None else None
        if validators is not None:
            headers += validators  # RFC 9111 4.3.1: a 304 spares the body
        started = time.perf_counter()
        try:
            with tracing.span("upstream.fetch", {"http.target": scope["path"], "zelly.cache": kind}):
                response = await self.upstream.fetch("GET", request.target, headers, self.config.upstream_timeout, scope)
        except UpstreamError as error:
            status = 504 if isinstance(error, UpstreamTimeout) else 502
            if stale is not None and self._within_stale_if_error(stale):
                log.warning("edge: upstream failed for %s (%s); serving stale-if-error", request.key, error)
                return Outcome(f"{self.name}; fwd={kind}; fwd-status={status}; detail=stale-if-error", entry=stale, counter="stale")
            log.warning("edge: %d for %s: %s", status, request.key, error)
            text = b"The store did not answer in time. Please try again." if status == 504 else b"The store cannot be reached right now. Please try again."
            failure = UpstreamResponse(status, [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")], text)
            return Outcome(f"{self.name}; fwd={kind}; detail=upstream-{'timeout' if status == 504 else 'unreachable'}", response=failure)
        finally:
            self.metrics.upstream_seconds.labels(route_family(scope["path"])).observe(time.perf_counter() - started)
        if response.status >= 500 and stale is not None and self._within_stale_if_error(stale):
            return Outcome(f"{self.name}; fwd={kind}; fwd-status={response.status}; detail=stale-if-error", entry=stale, counter="stale")

        if response.status == 304 and validators is not None:
            assert stale is not None
            return await self._refresh_from_304(request, response, stale, kind, generation)
        headers = _joined(response.headers)
        decision = decide(response.status, headers, self.config)
        base = f"{self.name}; fwd={kind}; fwd-status={response.status}"
        if decision.freshness is not None and len(response.body) > self.config.max_entry_bytes:
            decision = Decision(None, "too-large")
        if decision.freshness is None:
            if stale is not None:
                self.store.remove(request.key)  # the origin no longer lets this be shared
            return Outcome(f"{base}; detail={decision.reason}", response=response)
        entry = self._make_entry(request, response, headers, decision.freshness)
        return await self._keep(request, entry, base, generation)

    async def _refresh_from_304(self, request: EdgeRequest, response: UpstreamResponse, stale: Entry, kind: str, generation: int) -> Outcome:
        """RFC 9111 4.3.4: the stored body with the 304's headers merged in, fresh again by the merged headers."""
        replaced = {name for name, _ in response.headers if name not in _NOT_STORED_HEADERS and name not in _NOT_IN_304}
        merged = [(n, v) for n, v in stale.headers if n not in replaced and n != b"content-length"]
        merged += [(n, v) for n, v in response.headers if n in replaced]
        refreshed = UpstreamResponse(stale.status, merged, stale.body)
        headers = _joined(merged)
        decision = decide(stale.status, headers, self.config)
        base = f"{self.name}; fwd={kind}; fwd-status=304"
        if decision.freshness is None:
            self.store.remove(request.key)  # the origin no longer lets this be shared: serve once, keep nothing
            return Outcome(f"{base}; detail={decision.reason}", response=refreshed)
        entry = self._make_entry(request, refreshed, headers, decision.freshness)
        return await self._keep(request, entry, base, generation)

    async def _keep(self, request: EdgeRequest, entry: Entry, base: str, generation: int) -> Outcome:
        """Store ``entry`` in memory and the Redis tier unless a purge ran since ``generation``."""
        if generation != self.purger.generation:
            # A purge arrived while we fetched: this body may be what it retired. Serve, don't keep.
            return Outcome(f"{base}; detail=purged-during-fetch", entry=entry)
        route = self.config.route_table.find(request.target.partition("?")[0])
        shared = route is None or route.shared
        if not shared and entry.ttl > self.config.memory_only_max_ttl:
            entry.ttl = self.config.memory_only_max_ttl  # unbounded by name (media): memory only, briefly
        stored = self.store.put(entry)
        reason = "too-large"
        if self.redis_tier is not None and shared and await self.redis_tier.put(entry):
            stored = True
            if generation != self.purger.generation:
                # A purge ran while the write was in flight and may have missed it.
                await self.redis_tier.delete(entry.key)
                self.store.remove(entry.key)
                stored, reason = False, "purged-during-fetch"
        return Outcome(f"{base}; stored; ttl={entry.ttl}" if stored else f"{base}; detail={reason}", entry=entry)

    def _make_entry(self, request: EdgeRequest, response: UpstreamResponse, headers: dict[bytes, bytes], freshness) -> Entry:
        kept = [(n, v) for n, v in response.headers if n not in _NOT_STORED_HEADERS]
        kept.append((b"content-length", str(len(response.body)).encode()))
        try:
            initial_age = max(0, int(headers.get(b"age", b"0")))
        except ValueError:
            initial_age = 0
        vary = tuple(
            (name, request.encoding.encode() if name == "accept-encoding" else request.request_headers.get(name.encode(), b""))
            for name in freshness.vary
        )
        tags = parse_cache_tags(headers.get(b"cache-tag"))
        return Entry(
            key=request.key, url_key=request.url_key, host=request.host, status=response.status, headers=kept,
            body=response.body, stored_at=time.time(), initial_age=initial_age, ttl=freshness.ttl,
            stale_while_revalidate=freshness.stale_while_revalidate, stale_if_error=freshness.stale_if_error,
            etag=headers.get(b"etag"), vary=vary, tags=tags, tenant=tenant_of(tags),
        )

    def _within_stale_if_error(self, entry: Entry) -> bool:
        return entry.age(time.time()) < entry.ttl + entry.stale_if_error

    @staticmethod
    def _vary_matches(entry: Entry, request: EdgeRequest) -> bool:
        for name, value in entry.vary:
            current = request.encoding.encode() if name == "accept-encoding" else request.request_headers.get(name.encode(), b"")
            if current != value:
                return False
        return True

    # -- sending ------------------------------------------------------------

    async def _send_entry(self, send, request: EdgeRequest, entry: Entry, age: float, cache_status: str) -> None:
        headers = entry.headers + [(b"age", b"%d" % age), (b"cache-status", cache_status.encode())]
        status = entry.status
        body = entry.body
        if request.if_none_match is not None and entry.etag is not None and status == 200 and _etag_matches(request.if_none_match, entry.etag):
            status, body = 304, b""
            headers = [(n, v) for n, v in headers if n not in _NOT_IN_304]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if request.is_head else body, "more_body": False})

    async def _send_outcome(self, send, request: EdgeRequest, outcome: Outcome) -> None:
        if outcome.entry is not None:
            entry = outcome.entry
            self.stats.count(entry.tenant, outcome.counter)
            await self._send_entry(send, request, entry, entry.age(time.time()), outcome.cache_status)
            return
        response = outcome.response
        assert response is not None
        headers = [(n, v) for n, v in response.headers if n not in _NOT_STORED_HEADERS]
        self.stats.count(tenant_of(parse_cache_tags(_joined(headers).get(b"cache-tag"))), outcome.counter)
        headers += [(b"content-length", str(len(response.body)).encode()), (b"cache-status", outcome.cache_status.encode())]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if request.is_head else response.body, "more_body": False})

    async def _bypass(self, request: EdgeRequest, scope: dict, receive, send) -> None:
        cache_status = f"{self.name}; fwd=bypass; detail={request.bypass}".encode()
        unsafe = request.method in UNSAFE_METHODS

        async def send_marked(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != b"cache-status"]
                if unsafe and 200 <= message["status"] < 400:
                    # RFC 9111 4.4, before the client sees the answer: a GET it sends
                    # next must not be served the page this write just changed.
                    url_keys = invalidated_url_keys(request, self.config, headers)
                    if url_keys:
                        await self.purger.purge_keys(url_keys=url_keys)
                self.stats.count(tenant_of(parse_cache_tags(_joined(headers).get(b"cache-tag"))), "bypass")
                message = {**message, "headers": headers + [(b"cache-status", cache_status)]}
            await send(message)

        await self.upstream.forward(scope, receive, send_marked, request.upstream_headers())

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


def _joined(headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    joined: dict[bytes, bytes] = {}
    for name, value in headers:
        name = name.lower()
        joined[name] = joined[name] + b", " + value if name in joined else value
    return joined


def _etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """Weak comparison (RFC 9110 13.1.2): W/ prefixes do not matter for If-None-Match."""
    if if_none_match.strip() == b"*":
        return True
    wanted = etag.strip().removeprefix(b"W/")
    return any(candidate.strip().removeprefix(b"W/") == wanted for candidate in if_none_match.split(b","))
