"""Internal means internal (issue 13, item 3): purge, stats and the health report answer on internal listeners only.

The whole production path runs on loopback, on both backends: real Caddy
(the repository's Caddyfile, on-demand TLS from its local CA) in front of the
edge's public listener, in front of the origin's public app; beside them the
edge's internal listener and the origin's internal app. An attacker holding
the right bearer token (leaked, or the shipped example) still gets a 404 from
every public listener, and purges nothing.
"""

from __future__ import annotations

import contextlib

import httpx
import pytest

from edge.app import create_edge_app
from edge.config import EdgeConfig
from origin.app import create_app
from origin.catalog.inputs import NewVariant
from origin.settings import Settings
from tests.edge.servers import serve_on_loopback
from tests.factories import make_product
from tests.tls.factories import make_tenant
from tests.tls.local_servers import free_port
from tests.tls.test_caddy_tls import running_stack
from tls.caddy_process import options_from_settings

TOKEN = "internal-token-for-the-abuse-suite-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INTERNAL_PATHS = ("/internal/edge/stats", "/internal/edge/purge", "/internal/anything", "/%69nternal/edge/stats", "/internal/../internal/edge/stats")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(
        origin_bind=f"127.0.0.1:{free_port()}", internal_bind=f"127.0.0.1:{free_port()}",
        caddy_admin_url=f"http://127.0.0.1:{free_port()}", http_port=free_port(), https_port=free_port(), internal_token=TOKEN,
    )


@contextlib.asynccontextmanager
async def production_path(services):
    """Caddy -> edge (public) -> origin (public); the edge's internal listener beside it. Yields (stack, edge app, edge URL, internal URL)."""
    settings = services.settings
    edge = create_edge_app(EdgeConfig(internal_token=TOKEN, upstream_timeout=5.0), f"http://{settings.origin_bind}")
    async with serve_on_loopback(edge) as edge_url, serve_on_loopback(edge.internal_app) as internal_url:
        options = options_from_settings(settings, upstream_bind=edge_url.removeprefix("http://"))
        async with running_stack(services, None, options) as stack:
            yield stack, edge, edge_url, internal_url


async def test_internal_paths_are_404_through_caddy_the_edge_and_the_origin_and_answer_only_internally(services) -> None:
    tenant_id, _ = await make_tenant(services, "acme")
    await make_product(services, tenant_id, handle="hat", title="Felt Hat", variants=[NewVariant(price="10.00")], option_names=[])
    async with production_path(services) as (stack, edge, edge_url, internal_url):
        await stack.allow_list.refresh()
        page = await stack.get("acme.localhost", path="/products/hat")
        assert page.status == 200 and len(edge.store) == 1  # the page is in the edge's cache
        through_caddy = [await stack.get("acme.localhost", path=path, headers=AUTH) for path in INTERNAL_PATHS]
        async with httpx.AsyncClient(base_url=edge_url, timeout=10) as public_edge, \
                httpx.AsyncClient(base_url=f"http://{services.settings.origin_bind}", timeout=10) as public_origin, \
                httpx.AsyncClient(base_url=internal_url, timeout=10) as internal, \
                httpx.AsyncClient(base_url=f"http://{services.settings.internal_bind}", timeout=10) as origin_internal:
            edge_purge = await public_edge.post("/internal/edge/purge", headers={**AUTH, "host": "acme.localhost"}, json={"tenants": [tenant_id]})
            edge_stats = await public_edge.get("/internal/edge/stats", headers={**AUTH, "host": "acme.localhost"})
            origin_purge = await public_origin.post("/internal/edge/purge", headers={**AUTH, "host": "acme.localhost"}, json={"tenants": [tenant_id]})
            entries_after_attempts = len(edge.store)
            origin_health = await public_origin.get("/healthz", headers={"host": "acme.localhost"})
            health_through_caddy = await stack.get("acme.localhost", path="/healthz")
            internal_health = await origin_internal.get("/healthz")
            without_token = await internal.get("/internal/edge/stats")
            stats = await internal.get("/internal/edge/stats", headers=AUTH)
            purge = await internal.post("/internal/edge/purge", headers=AUTH, json={"tenants": [tenant_id]})

    assert [answer.status for answer in through_caddy] == [404] * len(INTERNAL_PATHS)
    assert {answer.body for answer in through_caddy} == {b""}  # Caddy's own 404: nothing behind it was asked
    assert (edge_purge.status_code, edge_stats.status_code, origin_purge.status_code) == (404, 404, 404)
    assert entries_after_attempts == 1  # none of the attempts purged anything
    assert origin_health.json() == {"status": "ok"} and health_through_caddy.json() == {"status": "ok"}  # liveness only
    assert set(internal_health.json()["stores"]) == {"database", "cache"}
    assert without_token.status_code == 401
    assert stats.status_code == 200 and stats.json()["totals"]["miss"] >= 1
    assert purge.status_code == 200 and purge.json()["purged"] == 1
