"""One Host parser (tls.hostnames.normalize_host), the same verdict everywhere (issue 10, item 3).

The same hostile hosts go, as raw header bytes, to the origin's public app
(whose outermost ASGI layer parses the Host once and stores it in the scope),
to the edge's cache-key classifier, and (as ``?domain=``) to the ask hook on the
internal app. Each must accept exactly the hosts the table accepts, with the
same normal form, and refuse the others: the origin with its 400, the edge by
bypassing the cache, the ask hook with its 400. The ask hook names
certificates, so it also refuses an accepted IP literal (the strict
``normalize_hostname`` form): the table says which accepted hosts are IPs.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote_from_bytes

import pytest

from edge.config import EdgeConfig
from edge.keys import classify
from origin.app import create_app, create_internal_app
from origin.domains.serving import current_allow_list
from origin.web.asgi.host import HOST_SCOPE_KEY
from tests.factories import make_tenant

IP = "ip"
TWO_HOST_HEADERS = (b"acme.localhost", b"nordic.localhost")

# (Host header bytes, or a tuple for several Host headers; normal form or None for "refused"; IP or not)
HOSTILE_HOSTS = [
    (b"acme.localhost", "acme.localhost", None),
    (b"ACME.localhost.", "acme.localhost", None),
    (b"Acme.LocalHost:8000", "acme.localhost", None),
    (b" acme.localhost\t", "acme.localhost", None),  # optional whitespace around a header value
    (b"Shop.Example.COM", "shop.example.com", None),
    ("bücher.example".encode(), "xn--bcher-kva.example", None),
    ("BÜCHER.example.".encode(), "xn--bcher-kva.example", None),
    ("日本語。jp".encode(), "xn--wgv71a119e.jp", None),
    (b"XN--BCHER-KVA.example", "xn--bcher-kva.example", None),
    (b"xn--invalid", "xn--invalid", None),  # valid punycode after all (it decodes to CJK letters)
    (b"a" * 63 + b".example", "a" * 63 + ".example", None),
    (b"127.0.0.1", "127.0.0.1", IP),
    (b"127.0.0.1:80", "127.0.0.1", IP),
    (b"10.1", "10.1", IP),  # reads as an IPv4 address in a browser
    (b"[::1]", "[::1]", IP),
    (b"[::1]:8443", "[::1]", IP),
    (b"[0:0:0:0:0:0:0:1]", "[::1]", IP),
    (b"a..b", None, None),
    (b"a" * 64 + b".example", None, None),
    (b".".join([b"a" * 60] * 5), None, None),  # 304 octets
    (b"a" * 5000, None, None),
    (b"_underscore.example", None, None),
    (b"sh_op.example", None, None),
    (b"-a.example", None, None),
    (b"a-.example", None, None),
    (b".a.example", None, None),
    (b"a.example..", None, None),
    (b"[::1", None, None),
    (b"::1", None, None),  # an IPv6 address in a Host needs its brackets
    (b"[::1%eth0]", None, None),
    (b"[nope]", None, None),
    (b"xn--zz.example", None, None),
    (b"xn--a.example", None, None),
    (b"a\x00b.example", None, None),
    (b"a b.example", None, None),
    (b"shop.example\r\nX-Evil: 1", None, None),
    (b"%2e", None, None),
    (b"shop%2eexample", None, None),
    (b"a/b.example", None, None),
    (b"*.example.com", None, None),
    (b"", None, None),
    (b"   ", None, None),
    (b"a.example:99999", None, None),
    (b"a.example:0", None, None),
    (b"a.example:", None, None),
    (b"host:abc", None, None),
    (b"host:80:80", None, None),
    ("bücher.example".encode("latin-1"), None, None),  # not UTF-8
    (TWO_HOST_HEADERS, None, None),
]
IDS = [repr(raw[:40]) if isinstance(raw, bytes) else "two Host headers" for raw, _, _ in HOSTILE_HOSTS]


def test_the_table_is_hostile_enough() -> None:
    assert len(HOSTILE_HOSTS) >= 30
    assert sum(1 for _, expected, _ in HOSTILE_HOSTS if expected is None) >= 30


def host_headers(raw: bytes | tuple[bytes, ...]) -> list[tuple[bytes, bytes]]:
    return [(b"host", value) for value in (raw if isinstance(raw, tuple) else (raw,))]


def scope_for(headers: list[tuple[bytes, bytes]], path: str = "/", query: bytes = b"") -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
        "headers": headers, "client": ("198.51.100.7", 40000), "server": ("127.0.0.1", 8000), "extensions": {},
    }


async def call(asgi, scope: dict) -> tuple[int, bytes]:
    sent: list[dict] = []
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if incoming:
            return incoming.pop()
        # Like a server: the client stays until the response is complete, then the
        # stream ends (Quart 0.23 waits for that disconnect before the call returns).
        await answered.wait()
        return {"type": "http.disconnect"}

    answered = asyncio.Event()

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await asgi(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


@pytest.fixture
async def apps(services):
    await make_tenant(services, slug="acme", name="Acme")
    public = create_app(services.settings, services=services)
    internal = create_internal_app(services.settings, services=services)
    async with public.test_app(), internal.test_app():
        await asyncio.sleep(0)
        yield public, internal, current_allow_list(services)


@pytest.mark.parametrize(("raw", "expected", "kind"), HOSTILE_HOSTS, ids=IDS)
async def test_origin_edge_and_ask_hook_agree(apps, raw, expected, kind) -> None:
    public, internal, allow_list = apps
    await allow_list.refresh()
    origin_scope = scope_for(host_headers(raw))
    ask_value = raw[0] if isinstance(raw, tuple) else raw  # the ask hook takes one name

    origin_status, origin_body = await call(public.asgi_app, origin_scope)
    edge = classify(scope_for(host_headers(raw)), EdgeConfig(internal_token="t" * 32))
    ask_status, _ = await call(internal.asgi_app, scope_for([(b"host", b"127.0.0.1:8002")], "/tls/ask", b"domain=" + quote_from_bytes(ask_value, safe="").encode()))

    if expected is None:
        assert origin_status == 400 and b"<h1>Bad request</h1>" in origin_body
        assert HOST_SCOPE_KEY not in origin_scope
        assert edge.bypass == "host"
        if not isinstance(raw, tuple):
            assert ask_status == 400
    else:
        assert origin_scope[HOST_SCOPE_KEY] == expected
        assert origin_status == (200 if expected == "acme.localhost" else 404)  # never a 500 from Werkzeug
        assert (edge.bypass, edge.host) == ("", expected)
        if kind == IP:
            assert ask_status == 400
        else:
            assert ask_status == (200 if expected == "acme.localhost" else 404)
            assert allow_list.decide(ask_value.decode()).hostname == expected
