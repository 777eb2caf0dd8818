"""Revalidation end to end: the edge in front of the real origin app, on both backends (issue 12, item 6).

The origin's page ETag is derived from the page key (tenant, catalog version,
host, path, query, currency), so it answers the edge's If-None-Match with 304
from the key alone: no render, no page read, no SQL.
"""

from __future__ import annotations

import httpx

from edge.app import create_edge_app
from edge.config import EdgeConfig
from origin.app import create_app
from origin.catalog.actions import do_update_variant
from origin.catalog.inputs import NewVariant
from origin.web.storefront.local_cache import LocalPages
from origin.web.storefront.page_cache import PAGE_CODEC, PAGES_KEY, local_snapshots, page_cache_key
from tests.edge.servers import serve_on_loopback
from tests.factories import make_product, make_tenant
from tests.storefront.conftest import count_queries

HOST = {"host": "acme.localhost"}


async def test_a_stale_page_is_revalidated_by_the_origin_with_a_304_from_the_catalog_version_alone(services) -> None:
    tenant = await make_tenant(services, slug="acme")
    product = await make_product(services, tenant.id, handle="hat", title="Felt Hat", variants=[NewVariant(price="10.00")], option_names=[])
    origin_app = create_app(services.settings, services=services)
    edge_app = create_edge_app(EdgeConfig(), origin_app)  # no purge subscription: only revalidation can notice a change

    async with serve_on_loopback(edge_app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            first = await client.get("/products/hat", headers=HOST)
            await local_snapshots(origin_app).settle()  # the catalog snapshot the miss started, so the count is exact
            entry = edge_app.store.get("GET|acme.localhost/products/hat?|gzip")
            entry.stored_at -= 3600  # past s-maxage and every stale window
            version = await services.catalog_versions.get(tenant.id)
            key = page_cache_key(tenant.id, version, "acme.localhost", "/products/hat", [], "USD")
            origin_app.extensions[PAGES_KEY] = LocalPages()
            await services.cache.delete(key)  # a render would have to run now, and would store the page again
            with count_queries(services) as queries:

                revalidated = await client.get("/products/hat", headers=HOST)

            page_after_304 = await services.cache.get(key, PAGE_CODEC)
            edge_app.store.get("GET|acme.localhost/products/hat?|gzip").stored_at -= 3600
            await do_update_variant(services, tenant.id, product.variants[0].id, {"price": "12.00"})
            changed = await client.get("/products/hat", headers=HOST)

    assert first.status_code == 200 and "$10.00" in first.text
    assert first.headers["etag"] == f'"t{tenant.id}-v{version}-{key.rsplit(":", 1)[1]}"'
    assert revalidated.status_code == 200
    assert revalidated.headers["cache-status"] == "Zelly; fwd=stale; fwd-status=304; stored; ttl=600"
    assert revalidated.text == first.text
    assert revalidated.headers["cache-tag"] == first.headers["cache-tag"]  # kept from the stored entry
    assert queries.count == 0
    assert page_after_304 is None  # nothing was rendered or stored to answer the 304
    assert changed.headers["cache-status"] == "Zelly; fwd=stale; fwd-status=200; stored; ttl=600"
    assert "$12.00" in changed.text and changed.headers["etag"] != first.headers["etag"]


async def test_the_origin_answers_a_browser_s_if_none_match_with_304_and_another_tenant_s_etag_with_200(services) -> None:
    acme = await make_tenant(services, slug="acme")
    other = await make_tenant(services, slug="other")
    for tenant in (acme, other):
        await make_product(services, tenant.id, handle="hat", title="Felt Hat", variants=[NewVariant(price="10.00")], option_names=[])
    origin_app = create_app(services.settings, services=services)

    async with serve_on_loopback(origin_app) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            acme_page = await client.get("/products/hat", headers=HOST)
            not_modified = await client.get("/products/hat", headers={**HOST, "if-none-match": acme_page.headers["etag"]})
            other_page = await client.get("/products/hat", headers={"host": "other.localhost", "if-none-match": acme_page.headers["etag"]})

    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == acme_page.headers["etag"]
    assert not_modified.headers["cache-control"] == acme_page.headers["cache-control"]
    assert other_page.status_code == 200 and other_page.headers["etag"] != acme_page.headers["etag"]
