"""A tenant change is on the next page built after its purge, whether or not its tenancy message has arrived (issue 14, item 3).

A theme write commits, sends the tenancy message (pub/sub: best effort, on
another channel than the purge) and then bumps the catalog version. A process
whose resolver has not applied that message yet still holds the old site
record in its LRU while it already reads the new version, and before the site
records were stamped (origin/tenancy/resolution.py) it built the new version's
pages from the old record: the old theme, cached under the new key for the
page TTL. Here the tenancy listeners never run (the apps are driven without
their lifespan), which is that window held open: only the catalog version
tells the process that something changed. Both backends; "another process" is
a second app on its own Services over the same database (and Redis).
"""

from __future__ import annotations

import pytest

from edge.tags import purge_message, tenant_tag
from origin.app import create_app
from origin.services import Services, open_services
from origin.tenancy.actions import do_update_theme_settings
from origin.web.storefront.page_cache import local_snapshots
from origin.web.storefront.site import app_resolver
from tests.storefront.conftest import parse_html
from tests.storefront.shops import two_shops
from tests.storefront.test_lean_pages import call, without_lean_pages

NEW_PRIMARY = ":root{--primary:#ffcc00;"


def primary_style(body: bytes) -> str:
    return parse_html(body.decode()).find(".//style").text


async def purge_arrives(services: Services, tenant_id: int) -> None:
    """What the purge channel hands another process for the tenant's purge, by the handler its backend uses."""
    if services.redis is None:  # the embedded default: the change log, whose handler bumps this process's own version
        await services.catalog_versions.apply_remote_purge(purge_message(tags=[tenant_tag(tenant_id)], hosts=[]))
    else:  # Redis pub/sub: the shared version was bumped by the writer; this process forgets what it remembered
        services.catalog_versions.forget([tenant_tag(tenant_id)])


@pytest.fixture
async def shops(services):
    return await two_shops(services)


@pytest.fixture
async def other_process(services):
    async with open_services(services.settings, with_analytics=False) as opened:
        yield opened


@pytest.mark.parametrize("lean", [True, False], ids=["lean path", "quart route"])
async def test_a_theme_change_is_on_the_next_page_of_the_writing_process(services, shops, lean):
    acme, _ = shops
    app = create_app(services.settings, services=services)
    asgi = app.asgi_app if lean else without_lean_pages(app)
    await app_resolver(app).resolve(acme.host)
    _, _, before = await call(asgi, "GET", acme.host, "/collections/summer?price_min=1", {})

    await do_update_theme_settings(services, acme.tenant.id, {"colors": {"primary": "#ffcc00"}})
    status, _, after = await call(asgi, "GET", acme.host, "/collections/summer?price_min=2", {})
    _, _, again = await call(asgi, "GET", acme.host, "/collections/summer?price_min=1", {})
    await local_snapshots(app).close()

    assert NEW_PRIMARY not in primary_style(before)
    assert status == 200 and NEW_PRIMARY in primary_style(after)
    assert NEW_PRIMARY in primary_style(again)  # the page cached before the write is not served for it


async def test_a_theme_change_is_on_the_next_page_of_another_process_once_its_purge_arrived(services, shops, other_process):
    acme, nordic = shops
    app = create_app(other_process.settings, services=other_process)
    for shop in (acme, nordic):
        await app_resolver(app).resolve(shop.host)
    _, _, before = await call(app.asgi_app, "GET", acme.host, "/collections/summer?price_min=1", {})
    _, _, nordic_before = await call(app.asgi_app, "GET", nordic.host, "/collections/summer?price_min=1", {})
    _, nordic_site = app_resolver(app).cached(nordic.host)

    await do_update_theme_settings(services, acme.tenant.id, {"colors": {"primary": "#ffcc00"}})  # the writing process
    await purge_arrives(other_process, acme.tenant.id)
    status, _, after = await call(app.asgi_app, "GET", acme.host, "/collections/summer?price_min=2", {})
    _, _, nordic_after = await call(app.asgi_app, "GET", nordic.host, "/collections/summer?price_min=2", {})
    await local_snapshots(app).close()

    assert NEW_PRIMARY not in primary_style(before)
    assert status == 200 and NEW_PRIMARY in primary_style(after)
    assert primary_style(nordic_after) == primary_style(nordic_before)
    assert app_resolver(app).cached(nordic.host)[1] is nordic_site  # the other shop's record was not read again


async def test_a_catalog_write_keeps_the_site_record_and_what_is_memoized_on_it(services, shops):
    acme, _ = shops
    app = create_app(services.settings, services=services)
    resolver = app_resolver(app)
    _, site = await resolver.resolve(acme.host)
    await call(app.asgi_app, "GET", acme.host, "/collections/summer?price_min=1", {})

    from origin.catalog.actions import do_update_variant

    await do_update_variant(services, acme.tenant.id, acme.mug.variants[0].id, {"price": "9.25"})
    status, _, after = await call(app.asgi_app, "GET", acme.host, "/collections/summer?price_min=2", {})
    _, site_after, version = await resolver.resolve_current(acme.host)
    await local_snapshots(app).close()

    assert status == 200 and b"$9.25" in after
    assert site_after is site  # read again at the new version, equal, so the same object: cards and chrome stay memoized
    assert resolver.is_current(acme.host, site, version)
