"""The redirect decision (pure): non-primary domains and the platform subdomain go to the primary."""

from __future__ import annotations

import pytest

from origin.domains.routing import canonical_host, redirect_url, tenant_hosts

HOSTS = tenant_hosts("acme", "localhost", [("example.com", True), ("www.example.com", False), ("old-shop.net", False)])


@pytest.mark.parametrize(
    ("request_host", "target"),
    [
        ("example.com", None),
        ("www.example.com", "example.com"),
        ("old-shop.net", "example.com"),
        ("acme.localhost", "example.com"),
        ("nordic.localhost", None),  # not this tenant's: never redirect someone else's host
        ("unrelated.example", None),
    ],
)
def test_canonical_host(request_host: str, target: str | None) -> None:
    assert canonical_host(HOSTS, request_host) == target


def test_without_a_primary_every_host_serves() -> None:
    hosts = tenant_hosts("acme", "localhost", [("example.com", False)])

    assert canonical_host(hosts, "acme.localhost") is None
    assert canonical_host(hosts, "example.com") is None


@pytest.mark.parametrize(
    ("args", "kwargs", "url"),
    [
        (("example.com", "/products/x", "color=red&size=2"), {}, "https://example.com/products/x?color=red&size=2"),
        (("example.com", "/", b""), {"port": 443}, "https://example.com/"),
        (("example.com", "/a", ""), {"port": 8443}, "https://example.com:8443/a"),
        (("example.com", "/a", ""), {"scheme": "http", "port": 80}, "http://example.com/a"),
        (("example.com", "//evil.example/x", ""), {}, "https://example.com/evil.example/x"),
        (("example.com", "/caf%C3%A9", "q=%20"), {}, "https://example.com/caf%C3%A9?q=%20"),
        (("example.com", "/café bar", "q=a b"), {}, "https://example.com/caf%C3%A9%20bar?q=a%20b"),
    ],
)
def test_redirect_url_keeps_path_and_query(args, kwargs, url) -> None:
    assert redirect_url(*args, **kwargs) == url


async def test_storefront_redirects_to_the_primary_keeping_path_and_query(services, dns_server) -> None:
    from origin.domains import actions
    from tests.tls.factories import make_tenant, pointed_at_platform, running_apps

    tenant_id, _ = await make_tenant(services, "acme")
    apex = await actions.do_add_domain(services, tenant_id, "example.test")
    www = await actions.do_add_domain(services, tenant_id, "www.example.test")
    dns_server.serve(pointed_at_platform({"example.test": apex.verification_token, "www.example.test": www.verification_token}))
    await actions.do_verify_domain(services, tenant_id, apex.id)
    await actions.do_verify_domain(services, tenant_id, www.id)
    await actions.do_set_primary_domain(services, tenant_id, www.id)
    async with running_apps(services) as (public, _):

        from_apex = await public.get("/search?q=red+shoes&page=2", headers={"Host": "example.test"})
        from_platform = await public.get("/collections/all", headers={"Host": "acme.localhost"})
        at_primary = await public.get("/", headers={"Host": "www.example.test"})
        api_on_store_host = await public.get("/api/v1/domains", headers={"Host": "acme.localhost"})
        api_on_platform = await public.get("/api/v1/domains", headers={"Host": "localhost"})

    assert from_apex.status_code == 308
    assert from_platform.status_code == 308
    assert from_apex.headers["Location"] == "https://www.example.test:8443/search?q=red+shoes&page=2"
    assert from_platform.headers["Location"] == "https://www.example.test:8443/collections/all"
    assert at_primary.status_code == 200
    assert api_on_store_host.status_code == 404  # the seller API lives on the platform host only
    assert api_on_platform.status_code == 401  # and never redirects


def test_the_hook_decides_from_the_resolved_site() -> None:
    from origin.domains.routing import redirect_for_site
    from origin.tenancy.models import Tenant
    from origin.tenancy.resolution import TenantSite

    tenant = Tenant(id=1, slug="acme", name="Acme", currency="USD", locale="en-US", status="active", contact_email=None)
    with_primary = TenantSite(tenant, "www.example.test", "https://www.example.test")
    without = TenantSite(tenant, "acme.localhost", "https://acme.localhost:8443")

    assert redirect_for_site("example.test", with_primary, "localhost") == "https://www.example.test"
    assert redirect_for_site("acme.localhost", with_primary, "localhost") == "https://www.example.test"
    assert redirect_for_site("www.example.test", with_primary, "localhost") is None
    assert redirect_for_site("example.test", without, "localhost") is None
    assert redirect_for_site("acme.localhost", without, "localhost") is None
    assert redirect_for_site("example.test", None, "localhost") is None
