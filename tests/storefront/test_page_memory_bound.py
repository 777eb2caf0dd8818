"""ZELLY_ORIGIN_PAGE_CACHE_BYTES bounds what an origin keeps of its rendered pages (issue 19, item 10).

The soak's origins grew ~0.4 MiB a minute: tracemalloc put ~90 % of it in the
page tier's encoded bodies (a new search query is a new page), a bounded LRU of
32 MiB that its load would take over an hour to fill. The bound is a setting now,
so a soak can make it small enough to fill during its warm-up; these tests hold
the tier and the product-page memo to it after many distinct pages.
"""

from __future__ import annotations

import pytest

from origin.app import create_app
from origin.web.storefront.page_cache import local_pages, local_snapshots
from origin.web.storefront.pages import product_pages
from origin.web.storefront.site import app_resolver
from tests.storefront.shops import two_shops
from tests.storefront.test_lean_pages import call

BOUND = 256 * 1024  # a page up to 16 KiB is kept (LocalPages refuses one above a sixteenth)


@pytest.fixture
def settings(settings):
    return settings.replace(origin_page_cache_bytes=BOUND)


@pytest.fixture
async def small_app(services):
    acme, nordic = await two_shops(services)
    app = create_app(services.settings, services=services)
    async with app.test_app():
        await app_resolver(app).resolve(acme.host)
        await call(app.asgi_app, "GET", acme.host, "/collections/all", {})
        await local_snapshots(app).settle()
        yield app, acme


async def test_the_page_tier_stays_within_its_bound_after_many_distinct_pages(small_app):
    app, acme = small_app
    pages = local_pages(app)

    answers = [await call(app.asgi_app, "GET", acme.host, f"/search?q=mug{number}", {}) for number in range(80)]
    held_after_80 = (pages._bytes, len(pages._pages))
    answers += [await call(app.asgi_app, "GET", acme.host, f"/search?q=shirt{number}", {}) for number in range(80)]

    assert [status for status, _, _ in answers] == [200] * 160
    assert pages.max_bytes == BOUND
    assert 0 < pages._bytes <= BOUND and pages._bytes == sum(pages._sizes.values())
    # Full after the first 80 already: the next 80 replaced entries instead of adding to them.
    assert held_after_80[0] > BOUND // 2 and len(pages._pages) <= held_after_80[1] + 5 and len(pages._pages) < 80


async def test_the_product_page_memo_gets_half_the_bound(small_app):
    app, acme = small_app

    status, _, _ = await call(app.asgi_app, "GET", acme.host, "/products/mug", {})

    assert status == 200
    assert product_pages(app).max_bytes == BOUND // 2
    assert product_pages(app)._bytes <= BOUND // 2
