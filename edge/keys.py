"""Request -> cache key, or the reason the request bypasses the cache.

The key is ``GET|host|/path?sorted-query|encoding-class``:

- host: the platform's one Host parser (tls.hostnames.normalize_host: lower
  case, no port, no trailing dot, IDNA A-labels, so ``Shop.Example.COM.:443``
  and ``shop.example.com`` are one store); whatever it refuses, and a request
  with two Host headers, bypasses (the origin answers it with its 400);
- path: percent-escapes of unreserved characters decoded, hex upper-cased.
  Anything a router could read two ways (``;`` parameters, encoded ``/ ? # \\``,
  encoded or literal dot segments, ``//``) bypasses, so ``/account;x.css`` or
  ``/account%2Fx`` is never stored as some other page;
- query: tracking parameters (``utm_*``, ``gclid``, ...) dropped, then only
  the parameters the path's route reads (edge/routes.py) kept, sorted; on a
  path no route claims, any other parameter bypasses;
- the Accept-Encoding class (br, gzip, identity).

What is forwarded upstream on a cacheable request is rebuilt from the key
(path, query, Host, encoding class) so the stored page is exactly the page the
key names. Forwarding and override headers from a client that is not a
trusted proxy are removed before anything reads them (issue 5, item 3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

from edge.config import EdgeConfig
from edge.routes import Route
from observability import context
from observability.context import REQUEST_ID_HEADER
from tls.hostnames import HostnameError, host_from_header, normalize_host

# Headers that let a client pick another host, scheme, path or method behind
# the cache's back; kept only from a trusted proxy.
FORWARDING_HEADERS = frozenset({
    b"x-forwarded-host", b"x-host", b"x-forwarded-scheme", b"forwarded",
    b"x-original-url", b"x-rewrite-url", b"x-http-method-override",
})
# Even from a trusted proxy these change what is served for a URL: never cached.
OVERRIDE_HEADERS = frozenset({b"x-original-url", b"x-rewrite-url", b"x-http-method-override"})
HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate", b"proxy-authorization",
    b"te", b"trailer", b"transfer-encoding", b"upgrade",
})
# Dropped from a cacheable fetch: the stored response must not depend on them.
NOT_SENT_ON_CACHEABLE_FETCH = HOP_BY_HOP | frozenset({
    b"cookie", b"if-none-match", b"if-modified-since", b"if-match", b"if-unmodified-since",
    b"if-range", b"range", b"accept-encoding", b"content-length", b"x-forwarded-for",
})

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~")
# Literal path characters kept as they are (RFC 3986 pchar without ';').
_LITERAL_OK = _UNRESERVED | frozenset(b".!$&'()*+,=:@/")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class Uncacheable(Exception):
    """The request must bypass the cache; ``reason`` goes into Cache-Status."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def cache_host(value: str | bytes) -> str:
    """The host part of a key: tls.hostnames' one Host parser, its refusal mapped to "uncacheable"."""
    try:
        return host_from_header(value) if isinstance(value, bytes) else normalize_host(value)
    except HostnameError:
        raise Uncacheable("host") from None


def normalize_path(raw: bytes) -> str:
    """The one spelling of a path, or Uncacheable for paths a router could read two ways."""
    if not raw.startswith(b"/"):
        raise Uncacheable("path")
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte == 0x25:  # '%'
            pair = raw[i + 1:i + 3]
            if len(pair) != 2 or pair[0] not in _HEX or pair[1] not in _HEX:
                raise Uncacheable("path")
            value = int(pair, 16)
            if value in _UNRESERVED:
                out.append(value)
            elif value >= 0x80:  # UTF-8 of a non-ASCII handle: keep encoded, one spelling
                out += b"%" + pair.upper()
            else:  # encoded '/', '?', '#', ';', '\\', '.', '%', controls: ambiguous
                raise Uncacheable("path")
            i += 3
            continue
        if byte in _LITERAL_OK:
            out.append(byte)
        elif byte >= 0x80:
            out += b"%%%02X" % byte
        else:  # ';', '\\', space, controls, quotes, brackets
            raise Uncacheable("path")
        i += 1
    path = out.decode("ascii")
    if "//" in path:
        raise Uncacheable("path")
    for segment in path.split("/"):
        if segment in (".", ".."):
            raise Uncacheable("path")
    return path


def normalize_query(raw: bytes, config: EdgeConfig, route: Route | None) -> str:
    """The parameters ``route`` reads, sorted; the rest dropped. No route: any parameter bypasses."""
    if not raw:
        return ""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False, separator="&")
    except (UnicodeDecodeError, ValueError):
        raise Uncacheable("query") from None
    kept = []
    seen: set[str] = set()
    for name, value in pairs:
        if config.is_tracking_param(name):
            continue
        if route is None:
            raise Uncacheable("query")  # nobody declared what this path reads
        if name not in route.query_params:
            continue  # the page does not read it: it must not make another copy
        if name in seen:
            continue  # the origin reads the first value only (args.get): a repeat is another copy of one page
        seen.add(name)
        kept.append((name, value))
    kept.sort()
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in kept)


def encoding_class(accept_encoding: bytes | None) -> str:
    if not accept_encoding:
        return "identity"
    offered = {}
    for item in accept_encoding.decode("latin-1").lower().split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        offered[coding.strip()] = q
    for coding in ("br", "gzip"):
        if offered.get(coding, 0.0) > 0:
            return coding
    return "identity"


def url_index_key(host: str, path: str, query: str) -> str:
    """What a purge by URL names: every encoding and method of one page."""
    return f"{host}{path}?{query}"


def url_index_key_for(url: str, config: EdgeConfig) -> str:
    """Normalize a purge URL (``https://Shop.example/p/x?utm_source=y``) the way requests are."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise Uncacheable("url")
    host = cache_host(parts.netloc.rpartition("@")[2])
    path = normalize_path((parts.path or "/").encode("latin-1"))
    return url_index_key(host, path, normalize_query(parts.query.encode("latin-1"), config, config.route_table.find(path)))


def invalidated_url_keys(request: "EdgeRequest", config: EdgeConfig, response_headers: list[tuple[bytes, bytes]]) -> list[str]:
    """What a non-error answer to an unsafe method invalidates (RFC 9111 4.4).

    The effective request URI, and the ``Location`` / ``Content-Location`` URIs
    when they are on the same host (a cache must not let one origin invalidate
    another's pages). Anything that could never have been stored (odd path,
    unknown query parameter, bad Host) is skipped: there is nothing to drop.
    """
    if request.trusted and b"x-forwarded-host" in request.request_headers:
        host_header = request.request_headers[b"x-forwarded-host"].split(b",")[0]
    else:
        host_header = request.request_headers.get(b"host")
    if host_header is None or b"," in host_header:
        return []
    try:
        host = cache_host(host_header)
    except Uncacheable:
        return []
    target = request.raw_target
    references = [target]
    for name, value in response_headers:
        if name.lower() in (b"location", b"content-location"):
            references.append(value.decode("latin-1"))
    keys: list[str] = []
    for reference in references:
        parts = urlsplit(urljoin(target, reference))
        if parts.netloc:
            try:
                if cache_host(parts.netloc.rpartition("@")[2]) != host:
                    continue
            except Uncacheable:
                continue
        try:
            path = normalize_path((parts.path or "/").encode("latin-1"))
            key = url_index_key(host, path, normalize_query(parts.query.encode("latin-1"), config, config.route_table.find(path)))
        except (Uncacheable, UnicodeEncodeError):
            continue
        if key not in keys:
            keys.append(key)
    return keys


@dataclass(slots=True)
class EdgeRequest:
    """One classified request: what the proxy needs to look up, fetch or forward it.

    The headers sent upstream are built only on a miss or a bypass
    (``upstream_headers``): a hit never needs them.
    """

    method: str
    is_head: bool
    host: str  # normalized, or "" when bypassing for a bad host
    key: str  # "" when bypassing
    bypass: str  # "" when cacheable
    url_key: str
    target: str  # path?query sent upstream
    encoding: str
    if_none_match: bytes | None
    request_headers: dict[bytes, bytes]  # lower-cased, repeated values joined, for Vary matching
    raw_headers: list[tuple[bytes, bytes]]
    trusted: bool
    client_address: str | None
    raw_target: str = ""  # path?query as the client sent it

    def upstream_headers(self) -> list[tuple[bytes, bytes]]:
        """Forwarding headers stripped (unless trusted), X-Forwarded-For set; for a cacheable
        fetch also without cookies, conditionals and the client's identity."""
        kept: list[tuple[bytes, bytes]] = []
        forwarded_for = b""
        for name, value in self.raw_headers:
            name = name.lower()
            if name in HOP_BY_HOP or (not self.trusted and name in FORWARDING_HEADERS) or name == REQUEST_ID_HEADER:
                continue
            if name == b"x-forwarded-for":
                if self.trusted:
                    forwarded_for = forwarded_for + b", " + value if forwarded_for else value
                continue
            if not self.bypass and name in NOT_SENT_ON_CACHEABLE_FETCH:
                continue
            kept.append((name, value))
        if self.bypass:
            # The origin still learns who the client is; a client cannot pretend to be someone else.
            if self.client_address:
                forwarded_for = (forwarded_for + b", " if forwarded_for else b"") + self.client_address.encode()
            if forwarded_for:
                kept.append((b"x-forwarded-for", forwarded_for))
        else:  # always explicit: the origin must not pick an encoding the key does not name
            kept.append((b"accept-encoding", self.encoding.encode()))
        # The id this edge accepted or made (observability.requests), never the client's own: the
        # origin trusts its peer's id, and its peer is this edge.
        request_id = context.request_id()
        if request_id is not None:
            kept.append((REQUEST_ID_HEADER, request_id.encode()))
        return kept


_HOST_CACHE: dict[bytes, str] = {}
_ENCODING_CACHE: dict[bytes | None, str] = {}
_MEMO_LIMIT = 4096  # distinct Host / Accept-Encoding spellings remembered; cleared when full
_PLAIN_PATH = re.compile(rb"^(/[A-Za-z0-9\-_~!$&'()*+,=:@]+(?:\.[A-Za-z0-9\-_~!$&'()*+,=:@]+)*)*/?$")


def _memo(cache: dict, key, compute):
    try:
        return cache[key]
    except KeyError:
        pass
    value = compute(key)
    if len(cache) >= _MEMO_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def classify(scope: dict, config: EdgeConfig) -> EdgeRequest:
    client = scope.get("client")
    client_address = client[0] if client else None
    trusted = config.is_trusted_proxy(client_address)
    seen: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        name = name.lower()
        seen[name] = value if name not in seen else seen[name] + b", " + value

    method = scope["method"]
    raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
    raw_query = scope.get("query_string", b"")
    raw_target = raw_path.decode("latin-1") + ("?" + raw_query.decode("latin-1") if raw_query else "")
    request = EdgeRequest(
        method=method, is_head=method == "HEAD", host="", key="", bypass="", url_key="", raw_target=raw_target,
        target=raw_target,
        encoding="identity", if_none_match=seen.get(b"if-none-match"), request_headers=seen,
        raw_headers=scope["headers"], trusted=trusted, client_address=client_address,
    )
    try:
        if method != "GET" and method != "HEAD":
            raise Uncacheable("method")
        if b"authorization" in seen:
            raise Uncacheable("authorization")
        if trusted and OVERRIDE_HEADERS.intersection(seen):
            raise Uncacheable("override")
        if b"range" in seen:
            raise Uncacheable("range")
        cookie = seen.get(b"cookie")
        if cookie is not None and _has_bypass_cookie(cookie, config.bypass_cookies):
            raise Uncacheable("cookie")
        if trusted and b"x-forwarded-host" in seen:
            host_header = seen[b"x-forwarded-host"].split(b",")[0]  # a proxy chain: the client's own Host is first
        else:
            host_header = seen.get(b"host")
            if host_header is None or b"," in host_header:  # none, or two Host headers (joined above)
                raise Uncacheable("host")
        host = _memo(_HOST_CACHE, host_header, cache_host)
        # Most paths are plain: only the odd ones pay for the byte-by-byte normalization.
        path = raw_path.decode("ascii") if _PLAIN_PATH.match(raw_path) and b"//" not in raw_path else normalize_path(raw_path)
        query = normalize_query(raw_query, config, config.route_table.find(path)) if raw_query else ""
    except Uncacheable as bypass:
        request.bypass = bypass.reason
        return request

    encoding = _memo(_ENCODING_CACHE, seen.get(b"accept-encoding"), encoding_class)
    request.host = host
    request.encoding = encoding
    request.target = path + ("?" + query if query else "")
    request.url_key = url_key = f"{host}{path}?{query}"
    request.key = f"GET|{url_key}|{encoding}"
    return request


def _has_bypass_cookie(cookie: bytes | None, names: tuple[str, ...]) -> bool:
    if not cookie or not names:
        return False
    for item in cookie.decode("latin-1").split(";"):
        name = item.partition("=")[0].strip().lower()
        if name in names:
            return True
    return False
