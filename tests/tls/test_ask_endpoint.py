"""GET /tls/ask as Caddy calls it: the ASGI layer (origin/web/asgi/tls_ask.py) is its one implementation.

Driven over HTTP through hypercorn, and through the test client (which calls the
app's whole ASGI stack the same way).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypercorn.asyncio import serve

from ops.serve import hypercorn_config
from quart import request_started

from origin.app import create_internal_app
from tests.tls.local_servers import free_port
from tests.tls.factories import make_tenant, running_apps

CASES = [
    ("acme.localhost", 200),
    ("ACME.localhost.", 200),
    ("nordic.localhost", 404),
    ("shop.example.test", 404),
    ("127.0.0.1", 400),
    ("[::1]", 400),
    ("a" * 64 + ".example.test", 400),
    ("bad_name.example.test", 400),
    ("", 400),
]


async def test_answers_over_http_through_hypercorn(services) -> None:
    await make_tenant(services, "acme")
    bind = f"127.0.0.1:{free_port()}"
    stop = asyncio.Event()
    server = asyncio.create_task(serve(create_internal_app(services.settings, services=services), hypercorn_config(bind), shutdown_trigger=stop.wait))
    try:
        async with httpx.AsyncClient(base_url=f"http://{bind}", timeout=5) as client:
            for _ in range(200):
                try:
                    await client.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.02)

            answers = [(await client.get("/tls/ask", params={"domain": name})).status_code for name, _ in CASES]
            missing = await client.get("/tls/ask")
            head = await client.head("/tls/ask", params={"domain": "acme.localhost"})
            post = await client.post("/tls/ask", params={"domain": "acme.localhost"})
            reason = await client.get("/tls/ask", params={"domain": "127.0.0.1"})
    finally:
        stop.set()
        await server

    assert answers == [status for _, status in CASES]
    assert missing.status_code == 400
    assert (head.status_code, head.content) == (200, b"")
    assert post.status_code == 405
    assert reason.text == "ip_not_allowed: an IP address is not a hostname; use a domain name\n"
    assert reason.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("name", "status"), CASES)
async def test_the_test_client_gets_the_same_answers(services, name: str, status: int) -> None:
    await make_tenant(services, "acme")
    async with running_apps(services) as (_, internal):

        response = await internal.get("/tls/ask", query_string={"domain": name})

    assert response.status_code == status
    assert (response.content_type, response.headers["Cache-Control"]) == ("text/plain; charset=utf-8", "no-store")


async def test_other_methods_get_quarts_405_and_no_quart_request_is_built(services) -> None:
    await make_tenant(services, "acme")
    built: list[str] = []

    async def count(sender, **extra) -> None:
        built.append("request")

    async with running_apps(services) as (_, internal):
        request_started.connect(count)
        try:
            post = await internal.post("/tls/ask", query_string={"domain": "acme.localhost"})
            options = await internal.options("/tls/ask")
            ask = await internal.get("/tls/ask", query_string={"domain": "acme.localhost"})
        finally:
            request_started.disconnect(count)

    assert (post.status_code, await post.get_json()) == (405, {
        "error": {"code": "method_not_allowed", "message": "The method is not allowed for the requested URL."}})
    assert set(post.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert (options.status_code, set(options.headers["Allow"].split(", "))) == (200, {"GET", "HEAD", "OPTIONS"})
    assert ask.status_code == 200
    assert built == []


async def test_an_app_without_services_yet_is_a_503(services) -> None:
    app = create_internal_app(services.settings)  # a served process before its start-up opened the services

    response = await app.test_client().get("/tls/ask", query_string={"domain": "acme.localhost"})

    assert (response.status_code, await response.get_data(as_text=True)) == (503, "the allow-list is not running in this process\n")
