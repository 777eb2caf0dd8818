"""Retries with backoff, dead letters and replay, on the in-memory broker and real Redis streams."""

from __future__ import annotations

import pytest

from origin.queueing import enqueue
from origin.shopify.webhooks import PROCESS_TASK
from tests.fakes.shopify import make_catalog
from tests.shopify_harness import FAST_RETRIES, make_shop, running_fake, running_queues
from workers import deadletters
from workers.retry import RetryPolicy, is_transient
from origin.shopify.errors import ShopifyError, ShopifyErrorCode, ShopifyUnavailable


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(base_delay_s=2, max_delay_s=30, jitter=0)

    assert [policy.delay_for(attempt) for attempt in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_transient_and_permanent_errors():
    assert is_transient(ShopifyUnavailable("HTTP 503")) is True
    assert is_transient(ConnectionResetError()) is True
    assert is_transient(ShopifyError(ShopifyErrorCode.BAD_WEBHOOK, "no id")) is False
    assert is_transient(KeyError("x")) is False


async def test_transient_failures_retry_then_dead_letter_then_replay_succeeds(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.001, "max_http_retries": 1})
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(0))
        fake_shop.fail_next(*([503] * FAST_RETRIES.max_attempts))

        await enqueue(services, "SHOPIFY_SETTINGS_PUSH", "shopify.push_settings", tenant_id=shop.tenant_id)
        await queues.drain()
        letters = await deadletters.select_dead_letters(services)

        assert [(l.queue, l.task_name, l.attempts, l.tenant_id) for l in letters] == [("SHOPIFY_SETTINGS_PUSH", "shopify.push_settings", 3, shop.tenant_id)]
        assert "HTTP 503" in letters[0].error
        assert [entry["status"] for entry in fake_shop.requests] == [503, 503, 503]
        assert fake_shop.catalog.shop["metafields"] == {}

        await deadletters.replay(services, queues.task_queue.brokers["SHOPIFY_SETTINGS_PUSH"], letters[0])
        await queues.drain()

        assert fake_shop.catalog.shop["metafields"]["name"] == "Acme"
        assert fake_shop.catalog.shop["metafields"]["currency"] == "USD"
        assert await deadletters.select_dead_letters(services) == []
        assert len(await deadletters.select_dead_letters(services, include_replayed=True)) == 1


async def test_bad_payload_is_dead_lettered_at_once(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme")

        await enqueue(services, "SHOPIFY_WEBHOOK", PROCESS_TASK, tenant_id=shop.tenant_id, webhook_id="w1", topic="products/update", body='{"id": 5}')
        await queues.drain()

        letters = await deadletters.select_dead_letters(services, queue="SHOPIFY_WEBHOOK")
        assert [(l.attempts, l.payload["kwargs"]["webhook_id"]) for l in letters] == [(1, "w1")]
        assert "updated_at" in letters[0].error or "timestamp" in letters[0].error
