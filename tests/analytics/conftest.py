"""Analytics test wiring: ``chdb_client`` (tests/conftest.py) gives each test its own
ClickHouse database in the run's one chDB path; ``analytics`` attaches it to ``services``."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest

from origin.analytics import schema
from origin.analytics.consumer import EventConsumer
from origin.analytics.queue import queue_for
from origin.services import Services
from origin.tenancy.actions import do_create_tenant, do_issue_api_token
from tests.conftest import swap_in_place

UA_DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
UA_IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
UA_IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1"
UA_GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture
async def analytics(services: Services, chdb_client) -> AsyncIterator[Services]:
    """``services`` with the per-test chDB database as Services.analytics, schema migrated."""
    swap_in_place(services, analytics=chdb_client)
    await schema.migrate(chdb_client, services.settings.analytics_retention_days)
    yield services
    swap_in_place(services, analytics=None)


async def make_store(services: Services, slug: str, currency: str = "USD") -> tuple[Any, str]:
    tenant = await do_create_tenant(services, slug=slug, name=slug.title(), currency=currency)
    issued = await do_issue_api_token(services, tenant.id)
    return tenant, issued.token


async def drain(services: Services, consumer: EventConsumer | None = None) -> EventConsumer:
    """Consume until the queue is empty: what the running consumer does, without its clock."""
    consumer = consumer or EventConsumer(services.analytics, queue_for(services))
    queue = queue_for(services)
    for _ in range(1000):
        deliveries = await queue.read(consumer.name, max_messages=1000, block_ms=5)
        if not deliveries:
            return consumer
        assert await consumer.flush(deliveries)
    raise AssertionError("the queue did not drain")


def raw_count(client, where: str = "1") -> int:
    return client.command(f"SELECT count() FROM events WHERE {where}")


def final_count(client, where: str = "1") -> int:
    return client.command(f"SELECT count() FROM events FINAL WHERE {where}")


async def wait_for(predicate, timeout: float = 30.0) -> None:  # a bound for a loaded machine; polls every 20 ms
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
