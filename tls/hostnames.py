"""Hostname rules: the platform's one Host parser, and one normal form for every name it stores, asks about or compares.

The normal form is lower-case ASCII (IDNA 2008 A-labels, i.e. punycode), with
no trailing dot and no port: what a browser puts in SNI and what Caddy passes
to the ask hook. ``Shop.Example.COM.``, ``shop.example.com:8443`` and
``shop.example.com`` are one name; ``Bücher.example`` is ``xn--bcher-kva.example``.

Three forms, each built on the one before (issue 10, item 3):

- :func:`normalize_host`: a request's ``Host`` (lenient: port, IP literals);
  the origin (once per request, in its outermost ASGI layer), the edge (which
  maps the error to "uncacheable") and the seller API host check all use it;
- :func:`normalize_hostname`: a DNS name (SNI, the ask hook, CLI input): no IP;
- :func:`validate_custom_domain`: what a merchant may add (not the platform's
  own names); :func:`platform_subdomain_slug` reads ``<slug>.<platform>``.

Errors (all are ``ValueError``s, so a caller that does not care can catch that)::

    HostnameError                   code
    ├── MalformedHostname           malformed_hostname   empty, bad characters, empty label, bad port, not UTF-8, two Host headers,
    │                                                    a URL given for a hostname (the message names the host to give)
    ├── HostnameTooLong             hostname_too_long    a label over 63 or a name over 253 octets
    ├── InvalidIDN                  invalid_idn          IDNA 2008 refuses it (e.g. bad punycode)
    ├── IPAddressNotAllowed         ip_not_allowed       an IPv4/IPv6 literal, or all-numeric last label
    ├── WildcardNotAllowed          wildcard_not_allowed ``*.example.com``
    ├── NotACustomDomain            not_a_custom_domain  a single label (``localhost``, ``com``)
    └── PlatformHostname            platform_hostname    the platform's own domain or a name under it
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urlsplit

import idna

MAX_NAME_OCTETS = 253
MAX_LABEL_OCTETS = 63
# Longest input worth looking at: a 253-octet name plus ":65535" and a dot, with slack for
# Unicode input that shrinks when encoded. Anything longer is refused before any parsing.
MAX_INPUT_CHARS = 1024

# One LDH label (letters, digits, hyphens; no hyphen at either end). Underscore is
# refused: certificate authorities do not issue for it in host names.
_LDH_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_ASCII_HOST_CHARS = re.compile(r"^[a-z0-9.-]+$")
_PORT = re.compile(r"^:[0-9]{1,5}$")


class HostnameError(ValueError):
    code = "invalid_hostname"

    def __init__(self, hostname: object, problem: str) -> None:
        self.hostname = hostname
        self.problem = problem
        super().__init__(problem)


class MalformedHostname(HostnameError):
    code = "malformed_hostname"


class HostnameTooLong(HostnameError):
    code = "hostname_too_long"


class InvalidIDN(HostnameError):
    code = "invalid_idn"


class IPAddressNotAllowed(HostnameError):
    code = "ip_not_allowed"


class WildcardNotAllowed(HostnameError):
    code = "wildcard_not_allowed"


class NotACustomDomain(HostnameError):
    code = "not_a_custom_domain"


class PlatformHostname(HostnameError):
    code = "platform_hostname"


@functools.lru_cache(maxsize=8192)
def normalize_host(raw: object) -> str:
    """The lenient form of a request's ``Host`` (or an SNI value): the one Host parser of the platform.

    Port allowed (1-65535) and dropped, case folded, one trailing dot dropped,
    Unicode labels IDNA-encoded to A-labels, IP literals accepted (``127.0.0.1``,
    ``[::1]`` in its compressed form). Raises :class:`HostnameError`. Cached:
    every public request calls it once (the outermost ASGI layer), so a Host seen
    before costs one dict lookup (errors are not cached).
    """
    if not isinstance(raw, str):
        raise MalformedHostname(raw, "a hostname must be text")
    if len(raw) > MAX_INPUT_CHARS:
        raise HostnameTooLong(raw[:80], f"a hostname is at most {MAX_NAME_OCTETS} characters")
    name = raw.strip(" \t")  # optional whitespace around a header value (RFC 9110); nothing else is stripped
    if not name:
        raise MalformedHostname(raw, "the hostname is empty")
    if "/" in name:
        raise MalformedHostname(raw, _not_a_url(name))
    if name.startswith("["):
        return _ipv6_literal(raw, name)
    name = _strip_port(raw, name)
    if "*" in name:
        raise WildcardNotAllowed(raw, "wildcard names are not supported; add each hostname on its own")
    if name.endswith("."):
        name = name[:-1]  # the absolute form "example.com." is the same name
    if not name:
        raise MalformedHostname(raw, "the hostname is empty")
    lowered = name.lower()
    if lowered.isascii():
        if not _ASCII_HOST_CHARS.match(lowered):
            raise MalformedHostname(raw, "a hostname may contain only letters, digits, hyphens and dots")
        ascii_name = lowered
        _check_ascii_labels(raw, ascii_name)
    else:
        ascii_name = _encode_idn(raw, name)
    if len(ascii_name) > MAX_NAME_OCTETS:
        raise HostnameTooLong(raw, f"a hostname is at most {MAX_NAME_OCTETS} characters once encoded")
    return ascii_name


def normalize_hostname(raw: object) -> str:
    """The strict form: a DNS name (what SNI, the ask hook and a merchant's input may name), never an IP.

    The lenient :func:`normalize_host` and then: no IP literal, no all-numeric
    last label. Raises :class:`HostnameError`.
    """
    if isinstance(raw, str) and "/" not in raw and (raw.strip().startswith("[") or raw.count(":") > 1):
        raise IPAddressNotAllowed(raw, "an IP address is not a hostname; use a domain name")
    name = normalize_host(raw.strip() if isinstance(raw, str) else raw)
    if is_ip_literal(name):
        raise IPAddressNotAllowed(raw, "an IP address is not a hostname; use a domain name")
    if name.rsplit(".", 1)[-1].isdigit():
        # Browsers read "10.1" or "127.1" as IPv4 addresses: never a name we serve.
        raise IPAddressNotAllowed(raw, "a hostname cannot end in an all-numeric label (it reads as an IP address)")
    return name


def is_ip_literal(host: str) -> bool:
    """For a normalized host: ``[::1]`` or a dotted IPv4 address."""
    return host.startswith("[") or _is_ip_literal(host)


@functools.lru_cache(maxsize=8192)
def host_from_header(value: bytes) -> str:
    """The normalized host of a raw ``Host`` header value (bytes as they came off the wire).

    UTF-8, so a Unicode Host is IDNA-encoded like any other input; bytes that are
    not UTF-8 are malformed. Raises :class:`HostnameError`. Cached like
    :func:`normalize_host`: on the hit path a known Host costs one dict lookup.
    """
    try:
        text = value.decode("ascii") if value.isascii() else value.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedHostname(value[:80], "the Host header is not UTF-8") from None
    return normalize_host(text)


def validate_custom_domain(raw: object, platform_domain: str) -> str:
    """The normal form of a merchant's custom domain; it must not be the platform's own name."""
    name = normalize_hostname(raw)
    if "." not in name:
        raise NotACustomDomain(raw, "a custom domain needs at least two labels, like shop.example.com")
    platform = platform_domain.lower().rstrip(".")
    if name == platform or name.endswith("." + platform) or name == "localhost" or name.endswith(".localhost"):
        raise PlatformHostname(raw, f"{name} belongs to the platform; add a domain you own")
    return name


def is_platform_subdomain(hostname: str, platform_domain: str) -> bool:
    """``acme.localhost`` for platform ``localhost``: exactly one label under the platform domain."""
    suffix = "." + platform_domain.lower().rstrip(".")
    return hostname.endswith(suffix) and "." not in hostname[: -len(suffix)] and len(hostname) > len(suffix)


def platform_subdomain_slug(hostname: str, platform_domain: str) -> str | None:
    if not is_platform_subdomain(hostname, platform_domain):
        return None
    return hostname[: -len(platform_domain.rstrip(".")) - 1]


def display_hostname(ascii_name: str) -> str:
    """The Unicode form for people (``bücher.example``); the ASCII form if it cannot be decoded."""
    if "xn--" not in ascii_name:
        return ascii_name
    try:
        return idna.decode(ascii_name)
    except idna.IDNAError:
        return ascii_name


def _not_a_url(name: str) -> str:
    # A merchant pasting "https://shop.example/" from the address bar is the usual case (issue 20,
    # item 5): name the host to give instead, rather than "'//shop.example/' is not a port number".
    try:
        host = urlsplit(name if "://" in name else "//" + name).hostname
    except ValueError:
        host = None
    if host and "/" not in host:
        return f"{name[:80]!r} is a URL, not a hostname; give only its hostname: {host}"
    return "a hostname cannot contain '/'; give only the hostname, like shop.example.com"


def _ipv6_literal(raw: str, name: str) -> str:
    literal, bracket, rest = name[1:].partition("]")
    if not bracket or "%" in literal or (rest and not _PORT.match(rest)) or (rest and not 0 < int(rest[1:]) <= 65535):
        raise MalformedHostname(raw, "an IPv6 address is written [address] or [address]:port")
    try:
        address = ipaddress.IPv6Address(literal)
    except ValueError:
        raise MalformedHostname(raw, f"{literal!r} is not an IPv6 address") from None
    return f"[{address.compressed}]"


def _strip_port(raw: str, name: str) -> str:
    if name.count(":") > 1:
        raise MalformedHostname(raw, "an IPv6 address in a Host is written in brackets: [address]:port")
    host, sep, port = name.partition(":")
    if not sep:
        return name
    if not _PORT.match(sep + port) or not 0 < int(port) <= 65535:
        raise MalformedHostname(raw, f"{port!r} is not a port number")
    return host


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _check_ascii_labels(raw: str, name: str) -> None:
    for label in name.split("."):
        if not label:
            raise MalformedHostname(raw, "a hostname cannot contain an empty label ('..' or a leading dot)")
        if len(label) > MAX_LABEL_OCTETS:
            raise HostnameTooLong(raw, f"each part of a hostname is at most {MAX_LABEL_OCTETS} characters")
        if not _LDH_LABEL.match(label):
            raise MalformedHostname(
                raw, f"{label!r} is not a valid label: use letters, digits and hyphens, not starting or ending with a hyphen"
            )
        if label.startswith("xn--"):
            try:
                idna.decode(label)  # a punycode label must decode to a valid IDNA 2008 name
            except idna.IDNAError as error:
                raise InvalidIDN(raw, f"{label!r} is not valid punycode: {error}") from None


def _encode_idn(raw: str, name: str) -> str:
    labels = name.split(".")
    if any(not label for label in labels):
        raise MalformedHostname(raw, "a hostname cannot contain an empty label ('..' or a leading dot)")
    try:
        # UTS #46 mapping first (case folding, full-width dots), then strict IDNA 2008.
        encoded = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as error:
        if "too long" in str(error).lower():
            raise HostnameTooLong(raw, f"a hostname is at most {MAX_NAME_OCTETS} characters once encoded") from None
        raise InvalidIDN(raw, f"{name!r} is not a valid internationalized domain name: {error}") from None
    _check_ascii_labels(raw, encoded)
    return encoded
