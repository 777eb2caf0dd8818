"""Host -> tenant: platform subdomains, custom domains, the caches, invalidation (the Host parser: tests/tls/test_hostnames.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json


from origin.tenancy.tables import domains
from origin.invalidation import TENANCY_CHANNEL
from origin.tenancy.actions import do_suspend_tenant
from origin.tenancy.resolution import (
    TenantResolver,
    listening,
)
from tls.hostnames import normalize_host
from tests.factories import make_tenant
from tests.storefront.conftest import count_queries, get, parse_html, texts
from tests.storefront.shops import two_shops


async def add_domain(services, tenant_id: int, hostname: str, *, status: str = "active", is_primary: bool = False) -> None:
    async with services.db.begin() as conn:
        await conn.execute(domains.insert().values(
            tenant_id=tenant_id, hostname=hostname, status=status, is_primary=is_primary, verification_token="t" * 32,
        ))


async def test_platform_subdomain_and_active_custom_domain(services):
    acme = await make_tenant(services, slug="acme", name="Acme")
    other = await make_tenant(services, slug="other", name="Other")
    await add_domain(services, acme.id, "shop.acme.example", is_primary=True)
    await add_domain(services, other.id, "pending.other.example", status="pending")
    resolver = TenantResolver(services)

    _, by_slug = await resolver.resolve("acme.localhost")
    _, by_domain = await resolver.resolve(normalize_host("SHOP.acme.example:443"))
    _, pending = await resolver.resolve("pending.other.example")
    _, apex = await resolver.resolve("localhost")
    _, nested = await resolver.resolve("x.acme.localhost")

    assert by_slug.tenant.id == acme.id and by_domain.tenant.id == acme.id
    assert by_slug.canonical_host == "shop.acme.example"  # the primary domain, from the database
    assert by_slug.base_url == "https://shop.acme.example:8443"
    assert pending is None and apex is None and nested is None


async def test_canonical_host_without_a_custom_domain_is_the_platform_subdomain(services):
    settings = services.settings.replace(public_scheme="https", https_port=443, platform_domain="zelly.shop")
    services = dataclasses.replace(services, settings=settings)
    tenant = await make_tenant(services, slug="kyoto", name="Kyoto")

    _, site = await TenantResolver(services).resolve("kyoto.zelly.shop")

    assert site.tenant.id == tenant.id
    assert site.base_url == "https://kyoto.zelly.shop"


async def test_lru_then_shared_cache_then_database(services):
    await make_tenant(services, slug="acme", name="Acme")
    first_process, second_process = TenantResolver(services), TenantResolver(services)

    with count_queries(services) as cold:
        await first_process.resolve("acme.localhost")
    with count_queries(services) as lru:
        await first_process.resolve(normalize_host("acme.localhost:8000"))
    with count_queries(services) as shared:
        _, site = await second_process.resolve("acme.localhost")

    # Tenant by slug, then, after its catalog version was read, the tenant by id (the rows the stamp vouches for) and
    # its primary domain (no template loader given): origin/tenancy/resolution.py.
    assert cold.count == 3
    assert lru.count == 0
    assert shared.count == 0
    assert site.tenant.slug == "acme"


async def test_negative_answers_are_cached(services):
    resolver = TenantResolver(services)

    with count_queries(services) as cold:
        await resolver.resolve("ghost.localhost")
    with count_queries(services) as again:
        _, site = await TenantResolver(services).resolve("ghost.localhost")

    assert cold.count == 1
    assert again.count == 0
    assert site is None


async def test_tenancy_message_drops_cached_answers(services):
    tenant = await make_tenant(services, slug="acme", name="Acme")
    resolver = TenantResolver(services)
    _, before = await resolver.resolve("acme.localhost")

    async with listening(resolver):
        await do_suspend_tenant(services, tenant.id)  # publishes on TENANCY_CHANNEL after commit
        for _ in range(100):
            if "acme.localhost" not in resolver._lru:
                break
            await asyncio.sleep(0.01)
        _, after = await resolver.resolve("acme.localhost")

    assert before.tenant.is_active
    assert not after.tenant.is_active


async def test_malformed_tenancy_messages_are_ignored(services):
    await make_tenant(services, slug="acme", name="Acme")
    resolver = TenantResolver(services)
    await resolver.resolve("acme.localhost")

    async with listening(resolver):
        await services.broadcast.publish(TENANCY_CHANNEL, "not json")
        await services.broadcast.publish(TENANCY_CHANNEL, json.dumps({"tenant_id": 999}))
        await asyncio.sleep(0.05)

    assert "acme.localhost" in resolver._lru


async def test_host_redirect_is_decided_before_the_suspended_store_503(services, client):
    acme, _ = await two_shops(services)
    await add_domain(services, acme.tenant.id, "acme.example")
    await add_domain(services, acme.tenant.id, "www.acme.example", is_primary=True)
    redirected, _ = await get(client, "acme.example", "/products/mug?variant=3")
    normal, html = await get(client, "www.acme.example", "/products/mug")
    await do_suspend_tenant(services, acme.tenant.id)
    await asyncio.sleep(0.05)  # the tenancy message reaches the resolver

    suspended_apex, _ = await get(client, "acme.example", "/products/mug")
    suspended_primary, _ = await get(client, "www.acme.example", "/products/mug")

    assert redirected.status_code == 308  # keeps the method (issue 4)
    assert redirected.headers["Location"].endswith("://www.acme.example/products/mug?variant=3") or (
        "//www.acme.example:" in redirected.headers["Location"]
        and redirected.headers["Location"].endswith("/products/mug?variant=3")
    )
    assert normal.status_code == 200
    assert texts(parse_html(html), ".//h1") == ["Acme Mug"]
    assert suspended_apex.status_code == 308  # the redirect comes first, as for unknown-host 404s
    assert suspended_primary.status_code == 503
