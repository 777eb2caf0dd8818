"""GET /tls/ask as Caddy calls it: over HTTP, through hypercorn (the ASGI fast path) and the test client (Quart)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypercorn.asyncio import serve

from ops.serve import hypercorn_config
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
async def test_the_quart_route_gives_the_same_answers(services, name: str, status: int) -> None:
    await make_tenant(services, "acme")
    async with running_apps(services) as (_, internal):

        response = await internal.get("/tls/ask", query_string={"domain": name})

    assert response.status_code == status
