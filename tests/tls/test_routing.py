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
