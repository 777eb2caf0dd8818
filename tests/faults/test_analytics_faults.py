"""ClickHouse unreachable: the shop is unaffected, reports say 503, events wait in their queue (issue 12, item 11).

chDB is embedded and cannot be "down", so the fault is a ClickHouse server
URL that does not answer as one: a loopback port nobody listens on (refused)
or a loopback server that accepts and resets every connection. That is what
clickhouse-connect sees of a ClickHouse that is stopped or crashing. (No
ClickHouse server that clickhouse-connect supports can be installed on this
machine kind: Debian's is 18.16, so recovery against a live server is shown
by the client connecting again, below, and by tests/analytics/test_consumer.py
for the events, where chDB's table is detached and attached again.)
Each runs on both relational backends.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from origin.analytics.consumer import EventConsumer
from origin.analytics.errors import AnalyticsError
from origin.analytics.queue import queue_for
from origin.app import create_internal_app
from origin.services import LazyClickHouseClient, open_services
from origin.settings import ConfigurationError, Settings
from origin.tenancy.actions import do_issue_api_token
from tests.analytics.web_client import page_view, post_events
from tests.factories import make_product, make_tenant
from tests.faults.conftest import serving
from tests.faults.harness import free_loopback_port


class ResettingServer:
    """Accepts every connection and resets it at once (RST, SO_LINGER 0): a ClickHouse crashing on each request."""

    def __init__(self) -> None:
        self.accepted = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._reset, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _reset(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def bearer(token: str) -> dict[str, str]:
    return {"Host": "localhost", "Authorization": f"Bearer {token}"}


async def test_a_refused_clickhouse_leaves_the_shop_serving_reports_503_and_events_waiting(base_settings: Settings):
    settings = base_settings.replace(analytics_url=f"http://127.0.0.1:{free_loopback_port()}/")

    # Before: open_services raised ConfigurationError here, and no origin started while ClickHouse was away.
    async with serving(settings, with_analytics=True) as (services, client):
        tenant = await make_tenant(services, slug="acme", name="Acme")
        await make_product(services, tenant.id, title="Linen Shirt", handle="linen-shirt")
        token = (await do_issue_api_token(services, tenant.id)).token

        page = await client.get("/products/linen-shirt", headers={"Host": "acme.localhost"})
        summary = await client.get("/api/v1/analytics/summary", headers=bearer(token))
        link = (await (await client.post("/api/v1/analytics/dashboard-links", json={}, headers=bearer(token))).get_json())["url"]
        dashboard = await client.get(link[link.index("/analytics/"):], headers={"Host": "localhost"})
        beacon = await post_events(client, "acme.localhost", [page_view("/products/linen-shirt")])
        queue = queue_for(services)
        consumer = EventConsumer(services.analytics, queue, backoff_initial=0.01, backoff_max=0.05)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, stop.set)
        settled = await consumer.flush(await queue.read(consumer.name, max_messages=10, block_ms=100), stop)
        backlog = await queue.backlog()
        health = await create_internal_app(settings, services=services).test_client().get("/healthz")

    assert page.status_code == 200
    assert summary.status_code == 503 and summary.headers["Retry-After"] == "5"
    assert (await summary.get_json())["error"]["code"] == "analytics_unavailable"
    assert dashboard.status_code == 503 and dashboard.headers["Retry-After"] == "5"
    assert beacon.status_code == 202
    # The consumer tried, kept the batch unacknowledged, dead-lettered nothing: the event waits.
    assert settled is False and consumer.stats.failures >= 1 and consumer.stats.dead_letters == 0
    assert backlog == 1
    assert health.status_code == 503 and (await health.get_json())["stores"]["analytics"]["status"] == "down"


async def test_a_resetting_clickhouse_is_a_503_and_the_client_connects_again_after_its_pause(base_settings: Settings):
    resetting = ResettingServer()
    port = await resetting.start()
    settings = base_settings.replace(analytics_url=f"http://127.0.0.1:{port}/")
    try:
        async with serving(settings, with_analytics=True) as (services, client):
            tenant = await make_tenant(services, slug="acme", name="Acme")
            token = (await do_issue_api_token(services, tenant.id)).token
            lazy = services.analytics
            at_start = lazy.connect_attempts

            lazy.retry_seconds = 3600  # within the pause: answered at once, no connection attempted
            held = [(await client.get("/api/v1/analytics/summary", headers=bearer(token))).status_code for _ in range(3)]
            attempts_held = lazy.connect_attempts
            lazy.retry_seconds = 0  # past the pause: every use connects again
            retried = [(await client.get("/api/v1/analytics/summary", headers=bearer(token))).status_code for _ in range(2)]
            attempts_retried = lazy.connect_attempts
    finally:
        await resetting.close()

    assert isinstance(lazy, LazyClickHouseClient) and not lazy.is_connected
    assert at_start == 1 and resetting.accepted >= 1
    assert held == [503, 503, 503] and attempts_held == 1
    assert retried == [503, 503] and attempts_retried == 3


async def test_zelly_migrate_still_stops_on_an_unreachable_clickhouse(base_settings: Settings):
    settings = base_settings.replace(analytics_url=f"http://127.0.0.1:{free_loopback_port()}/")

    with pytest.raises(ConfigurationError) as raised:
        async with open_services(settings, require_analytics=True):
            pass

    assert raised.value.variable == "ZELLY_ANALYTICS_URL"


async def test_a_query_clickhouse_refuses_is_not_mistaken_for_an_outage(chdb_client):
    from origin.analytics import engine

    with pytest.raises(Exception) as raised:
        await engine.query_rows(chdb_client, "SELECT * FROM no_such_table")

    assert not isinstance(raised.value, AnalyticsError)
