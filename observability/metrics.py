"""Prometheus metrics of one process: its own registry, served on its own internal listener.

Cardinality is bounded by construction (issue 19, item 5): no label ever holds
a raw path, a host or a tenant id beyond a top-N. Paths become a *route family*
(:func:`route_family`, a fixed vocabulary), and tenants a :class:`TenantLabels`
value: one of at most ``top_n`` tenant ids that carried at least 1 % of the
last window's requests, else ``other`` (``none`` when the request had no tenant:
the platform host, an unknown host). A tenant that drops out of the top has its
series removed, so the series count stays below a fixed bound whatever the
traffic; tests/observability/test_metrics.py sends 1,000 paths and tenants.

The hot path (one request) costs two dict lookups and three additions on plain
numbers (:class:`RequestSeries`, no lock); nothing is allocated per request
beyond the key tuple. Gauges that need I/O (queue depth, store-events lag, certificate
expiry) are read by *probes* when /metrics is scraped, never on requests.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import logging
from typing import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.exposition import generate_latest

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request latency buckets: a cached page answers in under 5 ms, a render in tens, a checkout in hundreds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)

# The route families of the platform's URL space, first match wins. Exact paths, then prefixes.
_EXACT_FAMILIES = {
    "/": "home", "/search": "search", "/cart": "cart", "/checkout": "checkout", "/events": "beacon",
    "/webhooks/shopify": "webhook_shopify", "/webhooks/stripe": "webhook_stripe", "/sitemap.xml": "seo",
    "/robots.txt": "seo", "/collections": "collection", "/products": "product", "/healthz": "health",
    "/livez": "health", "/readyz": "health", "/metrics": "metrics", "/tls/ask": "tls_ask",
}
_PREFIX_FAMILIES = (
    ("/products/", "product"), ("/collections/", "collection"), ("/api/", "api"), ("/cart/", "cart"),
    ("/checkout/", "checkout"), ("/orders/", "order"), ("/assets/", "asset"), ("/media/", "media"),
    ("/analytics/", "dashboard"), ("/.well-known/", "well_known"), ("/internal/", "internal"),
    ("/favicon", "asset"),
)
ROUTE_FAMILIES = frozenset(_EXACT_FAMILIES.values()) | {family for _, family in _PREFIX_FAMILIES} | {"other"}


def route_family(path: str) -> str:
    family = _EXACT_FAMILIES.get(path)
    if family is not None:
        return family
    for prefix, family in _PREFIX_FAMILIES:
        if path.startswith(prefix):
            return family
    return "other"


STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


class TenantLabels:
    """A tenant id as a label value: its id while it is among the top N by requests, else "other".

    Counts are kept for one window of ``window`` requests; at its end the top N
    with at least ``min_share`` of the window become the named tenants of the
    next one (``on_change`` is told who left, to drop their series).
    """

    def __init__(self, top_n: int = 10, *, window: int = 10_000, min_share: float = 0.01,
                 on_change: Callable[[frozenset[str]], None] | None = None) -> None:
        self.top_n = top_n
        self.window = window
        self.min_count = max(1, int(window * min_share))
        self.on_change = on_change
        self._counts: dict[int, int] = {}
        self._seen = 0
        self._named: dict[int, str] = {}

    def label(self, tenant_id: int | None) -> str:
        if tenant_id is None:
            return "none"
        counts = self._counts
        counts[tenant_id] = counts.get(tenant_id, 0) + 1
        self._seen += 1
        if self._seen >= self.window:
            self._rotate()
        return self._named.get(tenant_id, "other")

    def named(self) -> frozenset[str]:
        return frozenset(self._named.values())

    def _rotate(self) -> None:
        leaders = heapq.nlargest(self.top_n, self._counts.items(), key=lambda item: item[1])
        before = self.named()
        self._named = {tenant_id: str(tenant_id) for tenant_id, count in leaders if count >= self.min_count}
        self._counts = {}
        self._seen = 0
        left = before - self.named()
        if left and self.on_change is not None:
            self.on_change(left)


class RequestSeries:
    """One (route family, tenant) pair's requests: counts by status class, latency buckets, total seconds.

    prometheus_client's Counter and Histogram take a lock per update and walk
    the buckets in Python; a request pays that twice. Here an update is three
    list/float additions and one C ``bisect``, with no lock: every update runs
    on the process's event loop thread (hypercorn, and granian's embedded
    server, call the app there), and a scrape reads the numbers between two of them.
    """

    __slots__ = ("by_status_class", "buckets", "seconds")

    def __init__(self) -> None:
        self.by_status_class = [0] * len(STATUS_CLASSES)
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one: above every bound (+Inf)
        self.seconds = 0.0


class RequestCollector(Collector):
    """Exposes :class:`RequestSeries` as ``zelly_http_requests_total`` and ``zelly_http_request_duration_seconds``."""

    def __init__(self, metrics: "Metrics") -> None:
        self.metrics = metrics

    def describe(self) -> list:
        return []

    def collect(self):
        service = self.metrics.service
        requests = CounterMetricFamily("zelly_http_requests", "HTTP requests answered, by route family, tenant and status class",
                                       labels=("service", "route_family", "tenant", "status_class"))
        latency = HistogramMetricFamily("zelly_http_request_duration_seconds", "Time to answer an HTTP request",
                                        labels=("service", "route_family", "tenant"))
        for (family, tenant), series in list(self.metrics.request_series.items()):
            for status_class, count in zip(STATUS_CLASSES, series.by_status_class):
                if count:
                    requests.add_metric((service, family, tenant, status_class), count)
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), series.buckets):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric((service, family, tenant), buckets, series.seconds)
        yield requests
        yield latency


class FastCounter(Collector):
    """A counter for the request path: plain ints by label values, exposed at scrape time (no lock, see RequestSeries)."""

    def __init__(self, name: str, documentation: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.counts: dict[tuple[str, ...], int] = {}

    def inc(self, key: tuple[str, ...]) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def describe(self) -> list:
        return []

    def collect(self):
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for key, count in list(self.counts.items()):
            family.add_metric(key, count)
        yield family


Probe = Callable[["Metrics"], Awaitable[None]]
PROBE_TIMEOUT_S = 2.0  # a scrape answers even while a store does not


class Metrics:
    """Every metric family of a Zelly process, on its own registry.

    ``service`` is the process kind (origin, edge, worker, scheduler,
    store-events) and a label on the request metrics, so one dashboard reads
    all of them.
    """

    def __init__(self, service: str, *, top_tenants: int = 10) -> None:
        self.service = service
        self.registry = registry = CollectorRegistry(auto_describe=True)
        # Request counts and latency: the hottest metric, kept as plain numbers (see RequestSeries).
        self.request_series: dict[tuple[str, str], RequestSeries] = {}
        registry.register(RequestCollector(self))
        self.edge_lookups = FastCounter("zelly_edge_cache_lookups", "Edge cache answers by page type: hit, miss, stale, bypass",
                                        ("page_type", "outcome"))
        registry.register(self.edge_lookups)
        self.render_seconds = Histogram("zelly_render_duration_seconds", "Time to render a storefront page (Jinja)",
                                        ("page_type",), buckets=LATENCY_BUCKETS, registry=registry)
        self.db_seconds = Histogram("zelly_db_statement_duration_seconds", "Time of one SQL statement, by verb",
                                    ("statement",), buckets=STORE_BUCKETS, registry=registry)
        self.redis_seconds = Histogram("zelly_redis_command_duration_seconds", "Time of one Redis command or pipeline",
                                       ("command",), buckets=STORE_BUCKETS, registry=registry)
        self.upstream_seconds = Histogram("zelly_upstream_fetch_duration_seconds", "Time of an edge fetch from the origin",
                                          ("page_type",), buckets=LATENCY_BUCKETS, registry=registry)
        self.queue_depth = Gauge("zelly_queue_depth", "Unacknowledged entries in a task stream", ("queue",), registry=registry)
        self.queue_oldest_age = Gauge("zelly_queue_oldest_age_seconds", "Age of the oldest unacknowledged entry", ("queue",),
                                      registry=registry)
        self.task_outcomes = Counter("zelly_task_outcomes", "Tasks finished, by outcome: ok, retry, dead_letter, error",
                                     ("queue", "task", "outcome"), registry=registry)
        self.task_seconds = Histogram("zelly_task_duration_seconds", "Time a task ran", ("queue", "task"),
                                      buckets=TASK_BUCKETS, registry=registry)
        self.shopify_throttle = Gauge("zelly_shopify_throttle_available_ratio",
                                      "Share of the Admin API cost bucket left at the last answer (1 = full)", registry=registry)
        self.shopify_throttled = Counter("zelly_shopify_throttled", "Admin API calls answered 429 or THROTTLED", registry=registry)
        self.certificate_expiry = Gauge("zelly_tls_certificate_earliest_expiry_seconds",
                                        "Seconds until the first of Caddy's certificates expires", registry=registry)
        self.certificates_expiring = Gauge("zelly_tls_certificates_expiring_soon",
                                           "Certificates expiring within 14 days", registry=registry)
        self.store_events_lag = Gauge("zelly_store_events_lag_seconds",
                                      "Age of the oldest store event not yet written to ClickHouse", registry=registry)
        self.store_events_pending = Gauge("zelly_store_events_pending", "Store events not yet written to ClickHouse",
                                          registry=registry)
        self.scrape_errors = Counter("zelly_metrics_probe_errors", "Probes that failed or timed out during a scrape",
                                     ("probe",), registry=registry)
        self.tenants = TenantLabels(top_tenants, on_change=self._forget_tenants)
        self._probes: list[tuple[str, Probe]] = []

    # -- the hot path -------------------------------------------------------

    def observe_request(self, family: str, tenant_id: int | None, status: int, seconds: float) -> None:
        key = (family, self.tenants.label(tenant_id))
        series = self.request_series.get(key)
        if series is None:
            series = self.request_series[key] = RequestSeries()
        series.by_status_class[min(max(status // 100, 1), 5) - 1] += 1
        series.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        series.seconds += seconds

    def _forget_tenants(self, tenants: frozenset[str]) -> None:
        for key in [key for key in self.request_series if key[1] in tenants]:
            del self.request_series[key]

    # -- scrape time ----------------------------------------------------------

    def add_probe(self, name: str, probe: Probe) -> None:
        """``probe(metrics)`` sets gauges from a store; run (bounded) before each exposition. One per name."""
        self._probes = [(existing, registered) for existing, registered in self._probes if existing != name]
        self._probes.append((name, probe))

    async def exposition(self) -> bytes:
        for name, probe in self._probes:
            try:
                await asyncio.wait_for(probe(self), PROBE_TIMEOUT_S)
            except Exception:  # a scrape reports a failed probe, it does not fail
                log.warning("metrics probe %s failed", name, exc_info=True)
                self.scrape_errors.labels(name).inc()
        return generate_latest(self.registry)

    def series_count(self) -> int:
        return sum(len(family.samples) for family in self.registry.collect())
