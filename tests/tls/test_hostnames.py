"""Hostname normalization: one normal form, and a precise error for everything else."""

from __future__ import annotations

import pytest

from tls import hostnames
from tls.hostnames import (
    HostnameTooLong,
    InvalidIDN,
    IPAddressNotAllowed,
    MalformedHostname,
    NotACustomDomain,
    PlatformHostname,
    WildcardNotAllowed,
    HostnameError,
    normalize_host,
    normalize_hostname,
    validate_custom_domain,
)


# The lenient request-Host form (what tenant resolution used to parse itself); more in tests/test_hostile_hosts.py.
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.localhost", "acme.localhost"),
        ("ACME.LocalHost:8000", "acme.localhost"),
        ("acme.localhost.", "acme.localhost"),
        ("shop.example.com.:443", "shop.example.com"),
        ("Café.Example", "xn--caf-dma.example"),
        ("xn--caf-dma.example", "xn--caf-dma.example"),
        ("[::1]:8000", "[::1]"),
    ],
)
def test_request_host_form(raw, expected):
    assert normalize_host(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", None, "a b.com", "a..b", "-a.com", "a-.com", "under_score.com", "a.com:65536", "a.com:x", "xn--zz.com", "[::1", "a" * 64 + ".com", "é" * 300]
)
def test_request_host_refusals(raw):
    with pytest.raises(HostnameError):
        normalize_host(raw)



@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("shop.example.com", "shop.example.com"),
        ("SHOP.Example.COM", "shop.example.com"),
        ("shop.example.com.", "shop.example.com"),
        ("shop.example.com:8443", "shop.example.com"),
        ("Shop.Example.com.:443", "shop.example.com"),
        ("  shop.example.com  ", "shop.example.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example.", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("日本語。jp", "xn--wgv71a119e.jp"),
        ("acme.localhost", "acme.localhost"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
    ],
)
def test_normal_form(raw: str, expected: str) -> None:
    assert normalize_hostname(raw) == expected


@pytest.mark.parametrize(
    ("raw", "error", "code"),
    [
        ("", MalformedHostname, "malformed_hostname"),
        ("   ", MalformedHostname, "malformed_hostname"),
        (".", MalformedHostname, "malformed_hostname"),
        ("shop..example.com", MalformedHostname, "malformed_hostname"),
        (".example.com", MalformedHostname, "malformed_hostname"),
        ("-shop.example.com", MalformedHostname, "malformed_hostname"),
        ("shop-.example.com", MalformedHostname, "malformed_hostname"),
        ("sh_op.example.com", MalformedHostname, "malformed_hostname"),
        ("shop example.com", MalformedHostname, "malformed_hostname"),
        ("shop.example.com:http", MalformedHostname, "malformed_hostname"),
        ("shop.example.com:0", MalformedHostname, "malformed_hostname"),
        ("shop.example.com:70000", MalformedHostname, "malformed_hostname"),
        ("a" * 64 + ".com", HostnameTooLong, "hostname_too_long"),
        (".".join(["a" * 60] * 5), HostnameTooLong, "hostname_too_long"),
        ("x" * 5000, HostnameTooLong, "hostname_too_long"),
        ("xn--zz.example", InvalidIDN, "invalid_idn"),
        ("☃\u200d.example", InvalidIDN, "invalid_idn"),
        ("127.0.0.1", IPAddressNotAllowed, "ip_not_allowed"),
        ("127.0.0.1:443", IPAddressNotAllowed, "ip_not_allowed"),
        ("10.1", IPAddressNotAllowed, "ip_not_allowed"),
        ("::1", IPAddressNotAllowed, "ip_not_allowed"),
        ("[::1]:443", IPAddressNotAllowed, "ip_not_allowed"),
        ("2001:db8::1", IPAddressNotAllowed, "ip_not_allowed"),
        ("*.example.com", WildcardNotAllowed, "wildcard_not_allowed"),
        (None, MalformedHostname, "malformed_hostname"),
        (42, MalformedHostname, "malformed_hostname"),
    ],
)
def test_refusals_name_their_reason(raw: object, error: type, code: str) -> None:
    with pytest.raises(error) as raised:
        normalize_hostname(raw)

    assert raised.value.code == code
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("localhost", NotACustomDomain),
        ("com", NotACustomDomain),
        ("zelly.test", PlatformHostname),
        ("acme.zelly.test", PlatformHostname),
        ("deep.acme.zelly.test", PlatformHostname),
        ("shop.localhost", PlatformHostname),
    ],
)
def test_custom_domain_rules(raw: str, error: type) -> None:
    with pytest.raises(error):
        validate_custom_domain(raw, "zelly.test")


def test_custom_domain_accepts_a_merchant_name() -> None:
    assert validate_custom_domain("WWW.Example.com.", "zelly.test") == "www.example.com"
    assert validate_custom_domain("notzelly.test", "zelly.test") == "notzelly.test"


def test_platform_subdomain_is_exactly_one_label_under_the_platform() -> None:
    assert hostnames.platform_subdomain_slug("acme.localhost", "localhost") == "acme"
    assert hostnames.platform_subdomain_slug("a.acme.localhost", "localhost") is None
    assert hostnames.platform_subdomain_slug("localhost", "localhost") is None
    assert hostnames.platform_subdomain_slug("acmelocalhost", "localhost") is None


def test_display_form_is_unicode() -> None:
    assert hostnames.display_hostname("xn--bcher-kva.example") == "bücher.example"
    assert hostnames.display_hostname("shop.example.com") == "shop.example.com"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("https://shop.example.com/", "'https://shop.example.com/' is a URL, not a hostname; give only its hostname: shop.example.com"),
        ("http://Shop.Example.com:8443/path?q", "'http://Shop.Example.com:8443/path?q' is a URL, not a hostname; give only its hostname: shop.example.com"),
        ("shop.example.com/", "'shop.example.com/' is a URL, not a hostname; give only its hostname: shop.example.com"),
        ("/", "a hostname cannot contain '/'; give only the hostname, like shop.example.com"),
    ],
)
def test_a_url_given_for_a_hostname_names_the_host_to_give(raw: str, message: str) -> None:
    with pytest.raises(MalformedHostname) as raised:
        validate_custom_domain(raw, "zelly.test")

    assert str(raised.value) == message
    assert "port" not in str(raised.value)
