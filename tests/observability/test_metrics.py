"""Prometheus metrics on the internal listeners, with bounded cardinality (issue 19, item 5). Real apps, both backends."""

from __future__ import annotations

import re

import sqlalchemy.ext.asyncio as sa_async

from edge.app import create_edge_app
from edge.config import EdgeConfig
from observability import context
from observability.metrics import Metrics, TenantLabels, route_family
from observability.requests import ObservedRequests
from origin.app import create_internal_app
from origin.services import Services
from tests.conftest import swap_in_place
from tests.factories import make_product, make_tenant


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus' text format, or None when the series does not exist."""
    for line in exposition.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        series, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == name and all(found.get(key) == wanted for key, wanted in labels.items()):
            return float(value)
    return None


async def _get(app, path: str) -> tuple[int, bytes]:
    client = app.test_client()
    response = await client.get(path)
    return response.status_code, await response.get_data()


async def answer_ok(scope, receive, send) -> None:
    context.bind_tenant(int(scope["path"].rsplit("/", 1)[1]))  # as the storefront's Host lookup does
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _call(app, path: str) -> None:
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "headers": [(b"host", b"shop.localhost")],
             "client": ("203.0.113.9", 5000), "query_string": b"", "scheme": "http", "http_version": "1.1"}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        return None

    await app(scope, receive, send)


async def test_a_thousand_distinct_paths_and_tenants_do_not_grow_the_series_count() -> None:
    metrics = Metrics("origin")
    observed = ObservedRequests(answer_ok, metrics)
    for number in range(10):
        await _call(observed, f"/products/warm-{number}/{number}")
        await _call(observed, f"/collections/warm-{number}/{number}")
        await _call(observed, f"/some/warm/{number}/{number}")
    warm = metrics.series_count()

    for number in range(1000):
        await _call(observed, f"/products/handle-{number}/{1000 + number}")
        await _call(observed, f"/collections/c-{number}/{5000 + number}")
        await _call(observed, f"/some/unknown/path/{number}/{9000 + number}")

    assert metrics.series_count() == warm
    exposition = (await metrics.exposition()).decode()
    assert "handle-" not in exposition and "/products" not in exposition
    assert sample(exposition, "zelly_http_requests_total", route_family="product", tenant="other", status_class="2xx") == 1010.0


def test_only_a_busy_tenant_gets_its_own_label_and_loses_it_when_quiet() -> None:
    left: list[frozenset[str]] = []
    tenants = TenantLabels(2, window=1000, on_change=left.append)

    for number in range(1000):  # one busy tenant (30 %), 700 single-request ones
        tenants.label(7 if number % 10 < 3 else 10_000 + number)
    busy_next_window = [tenants.label(7) for _ in range(3)]
    for number in range(997):
        tenants.label(20_000 + number)  # tenant 7 goes quiet

    assert busy_next_window == ["7", "7", "7"]
    assert tenants.named() == frozenset()
    assert left == [frozenset({"7"})]
    assert tenants.label(None) == "none"


def test_route_families_are_a_fixed_vocabulary() -> None:
    assert [route_family(path) for path in ("/", "/products/a", "/api/v1/products/3", "/webhooks/shopify", "/x/y", "/cart/add")] == [
        "home", "product", "api", "webhook_shopify", "other", "cart"]


async def test_the_origin_internal_listener_serves_request_render_and_store_metrics(services: Services, public_app) -> None:
    tenant = await make_tenant(services, slug="acme")
    await make_product(services, tenant.id, handle="mug")
    internal = create_internal_app(services.settings, services=services)
    client = public_app.test_client()

    page = await client.get("/products/mug", headers={"Host": "acme.localhost"})
    missing = await client.get("/products/nothing-here", headers={"Host": "acme.localhost"})
    status, body = await _get(internal, "/metrics")

    exposition = body.decode()
    assert (page.status_code, missing.status_code, status) == (200, 404, 200)
    assert sample(exposition, "zelly_http_requests_total", service="origin", route_family="product", status_class="2xx") == 1.0
    assert sample(exposition, "zelly_http_requests_total", service="origin", route_family="product", status_class="4xx") == 1.0
    assert sample(exposition, "zelly_http_request_duration_seconds_count", route_family="product", tenant="other") == 2.0
    assert sample(exposition, "zelly_render_duration_seconds_count", page_type="product") == 1.0
    assert sample(exposition, "zelly_db_statement_duration_seconds_count", statement="select") > 0
    if services.redis is not None:
        assert sample(exposition, "zelly_redis_command_duration_seconds_count", command="get") > 0
        assert sample(exposition, "zelly_store_events_pending") == 0.0


async def test_livez_always_and_readyz_only_while_the_stores_answer(services: Services) -> None:
    internal = create_internal_app(services.settings, services=services)

    live = await _get(internal, "/livez")
    ready = await _get(internal, "/readyz")
    broken = sa_async.create_async_engine("mysql+aiomysql://root@127.0.0.1:9/nothing", connect_args={"connect_timeout": 1})
    healthy_db = services.db
    swap_in_place(services, db=broken)
    try:
        not_ready = await _get(internal, "/readyz")
        still_live = await _get(internal, "/livez")
    finally:
        swap_in_place(services, db=healthy_db)
        await broken.dispose()

    assert live == (200, b'{"status":"ok"}')
    assert ready[0] == 200 and b'"status":"ready"' in ready[1]
    assert not_ready[0] == 503 and b'"database":{"backend"' in not_ready[1] and b'"status":"down"' in not_ready[1]
    assert still_live[0] == 200


async def page_origin(scope, receive, send) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/html"), (b"cache-control", b"public, max-age=60"), (b"cache-tag", b"t1")]})
    await send({"type": "http.response.body", "body": b"<p>page</p>"})


async def test_the_edge_counts_hits_and_misses_by_page_type_on_its_internal_listener() -> None:
    edge = create_edge_app(EdgeConfig(), page_origin)
    await edge.startup()
    try:
        for path in ("/products/a", "/products/a", "/products/b", "/collections/c", "/collections/c", "/collections/c"):
            await _call(edge, path)
        statuses = []

        async def send(message):
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            elif message["type"] == "http.response.body":
                statuses.append(message["body"])

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        await edge.internal_app({"type": "http", "method": "GET", "path": "/metrics", "headers": [], "query_string": b""}, receive, send)
    finally:
        await edge.shutdown()

    exposition = statuses[1].decode()
    assert statuses[0] == 200
    assert sample(exposition, "zelly_edge_cache_lookups_total", page_type="product", outcome="miss") == 2.0
    assert sample(exposition, "zelly_edge_cache_lookups_total", page_type="product", outcome="hit") == 1.0
    assert sample(exposition, "zelly_edge_cache_lookups_total", page_type="collection", outcome="hit") == 2.0
    assert sample(exposition, "zelly_http_requests_total", service="edge", route_family="collection", status_class="2xx") == 3.0
    assert sample(exposition, "zelly_upstream_fetch_duration_seconds_count", page_type="product") == 2.0
