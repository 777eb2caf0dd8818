"""Rate limits as an attacker meets them (issue 13, item 7), on both backends.

Embedded: the memory token buckets; servers: the Redis Lua script on the real
Redis (this run's db). Each test sets small budgets, spends one, and checks the
429 (``Retry-After`` and the ``RateLimit-*`` headers of
draft-ietf-httpapi-ratelimit-headers), that nothing past the limit ran, and
that another tenant, token or address is not limited by it.
"""

from __future__ import annotations

import itertools
import json
import logging

import pytest
import sqlalchemy as sa

from origin.app import create_app
from origin.cache import CircuitBreaker
from origin.ratelimit import Charge, Limit, MemoryRateLimiter, RedisRateLimiter
from origin.services import make_redis
from origin.catalog.tables import products
from tests.api.conftest import make_store
from tests.fakes.shopify.catalog import FakeCatalog, rest_product
from tests.fakes.shopify.webhooks import signature
from tests.shopify_harness import make_shop, running_fake, running_queues
from tests.conftest import count_rows, require_server
from tests.faults.harness import free_loopback_port

LIMITS = {
    "rate_limit_api_ip": "6/60",
    "rate_limit_api_token": "3/60",
    "rate_limit_api_tenant": "5/60",
    "rate_limit_events_ip": "2/60",
    "rate_limit_events_tenant": "4/60",
    "rate_limit_webhooks_ip": "2/60",
    "rate_limit_webhooks_tenant": "3/60",
    "rate_limit_theme_write_tenant": "2/60",
    "rate_limit_cart_ip": "2/60",
    "rate_limit_cart_tenant": "3/60",
    "rate_limit_domain_verify_tenant": "1/60",
}


@pytest.fixture
def settings(settings):
    return settings.replace(**LIMITS)


@pytest.fixture
def client(settings, services):
    return create_app(settings, services=services).test_client()


def from_address(address: str) -> dict:
    return {"client": (address, 40000)}


def assert_refused(response, *, limit: int, window: int = 60) -> None:
    assert response.status_code == 429
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Policy"] == f"{limit};w={window}"
    assert 1 <= int(response.headers["Retry-After"]) <= window // limit + 1
    assert 1 <= int(response.headers["RateLimit-Reset"]) <= window


async def test_an_api_token_past_its_budget_gets_429_and_another_tenant_is_not_limited(services, client) -> None:
    acme = await make_store(services, slug="acme")
    other = await make_store(services, slug="other")

    spent = [await client.get("/api/v1/products", headers=acme.auth, scope_base=from_address("198.51.100.1")) for _ in range(3)]
    refused = await client.get("/api/v1/products", headers=acme.auth, scope_base=from_address("198.51.100.2"))
    other_tenant = await client.get("/api/v1/products", headers=other.auth, scope_base=from_address("198.51.100.3"))

    assert [response.status_code for response in spent] == [200, 200, 200]
    assert [response.headers["RateLimit-Remaining"] for response in spent] == ["2", "1", "0"]
    assert "Retry-After" not in spent[0].headers
    assert_refused(refused, limit=3)
    assert (await refused.get_json())["error"]["code"] == "rate_limited"
    assert other_tenant.status_code == 200
    assert other_tenant.headers["RateLimit-Remaining"] == "2"


async def test_a_tenant_s_tokens_share_the_tenant_budget(services, client) -> None:
    from origin.tenancy import actions as tenancy

    acme = await make_store(services, slug="acme")
    second = await tenancy.do_issue_api_token(services, acme.tenant.id)
    second_auth = {"Authorization": f"Bearer {second.token}"}

    statuses = [(await client.get("/api/v1/products", headers=auth, scope_base=from_address(f"198.51.100.{n}"))).status_code
                for n, auth in enumerate([acme.auth, acme.auth, acme.auth, second_auth, second_auth, second_auth])]

    assert statuses == [200, 200, 200, 200, 200, 429]  # the first token's 3, then the tenant's 5 in all


async def test_guessing_tokens_from_one_address_is_limited_before_any_token_is_read(services, client) -> None:
    statuses = [(await client.get("/api/v1/products", headers={"Authorization": f"Bearer guess-{n}"},
                                  scope_base=from_address("203.0.113.66"))).status_code for n in range(7)]
    elsewhere = await client.get("/api/v1/products", headers={"Authorization": "Bearer guess"}, scope_base=from_address("203.0.113.67"))

    assert statuses == [401] * 6 + [429]
    assert elsewhere.status_code == 401


async def test_domain_verification_has_a_budget_of_its_own(services, client) -> None:
    acme = await make_store(services, slug="acme")

    first = await client.post("/api/v1/domains/999/verify", headers=acme.auth)
    second = await client.post("/api/v1/domains/999/verify", headers=acme.auth)
    listing = await client.get("/api/v1/domains", headers=acme.auth)

    assert first.status_code == 404  # charged before the lookup: an unknown id spends it too
    assert_refused(second, limit=1)
    assert listing.status_code == 200


async def test_the_beacon_is_limited_per_address_and_per_store_and_stores_do_not_share(services, client) -> None:
    acme = await make_store(services, slug="acme")
    await make_store(services, slug="other")

    def post(host: str, address: str):
        return client.post("/events", data=b"{nope", headers={"Host": host}, scope_base=from_address(address))

    one_address = [(await post("acme.localhost", "198.51.100.9")).status_code for _ in range(3)]
    many_addresses = [(await post("acme.localhost", f"198.51.100.{20 + n}")).status_code for n in range(3)]
    other_store = await post("other.localhost", "198.51.100.40")

    assert one_address == [422, 422, 429]  # 2 per address
    assert many_addresses == [422, 422, 429]  # 4 per store: 2 spent above, 2 more, then refused
    assert other_store.status_code == 422
    assert acme.tenant.slug == "acme"


async def test_cart_writes_get_a_plain_429_page(services, client) -> None:
    await make_store(services, slug="acme")
    form = {"variant_id": "999", "quantity": "1"}
    headers = {"Host": "acme.localhost", "Sec-Fetch-Site": "same-origin"}

    statuses = [(await client.post("/cart/add", form=form, headers=headers, scope_base=from_address("198.51.100.5"))).status_code
                for _ in range(2)]
    refused = await client.post("/cart/update", form=form, headers=headers, scope_base=from_address("198.51.100.5"))

    assert 429 not in statuses
    assert_refused(refused, limit=2)
    assert refused.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "Set-Cookie" not in refused.headers


async def test_webhooks_are_limited_per_address_before_the_body_is_read(services, client) -> None:
    headers = {"Host": "localhost", "X-Shopify-Topic": "products/create", "X-Shopify-Shop-Domain": "acme.myshopify.com",
               "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk", "X-Shopify-Webhook-Id": "w1", "Content-Type": "application/json"}

    statuses = [(await client.post("/webhooks/shopify", data=b"{}", headers=headers, scope_base=from_address("192.0.2.8"))).status_code
                for _ in range(2)]
    refused = await client.post("/webhooks/shopify", data=b"{}", headers=headers, scope_base=from_address("192.0.2.8"))
    elsewhere = await client.post("/webhooks/shopify", data=b"{}", headers=headers, scope_base=from_address("192.0.2.9"))

    assert 429 not in statuses
    assert_refused(refused, limit=2)
    assert (await refused.get_json())["error"]["code"] == "rate_limited"
    assert elsewhere.status_code == statuses[0]


async def test_signed_webhooks_are_limited_per_tenant_after_the_hmac_and_forgeries_spend_nothing(services, client) -> None:
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme")
        other, _ = await make_shop(services, fake, "other")
        sent, catalog = itertools.count(), FakeCatalog()

        async def deliver(target, *, secret=None):
            n = next(sent)
            body = json.dumps(rest_product(catalog.add_product(title=f"Mug {n}"))).encode()
            headers = {"Host": "localhost", "Content-Type": "application/json", "X-Shopify-Topic": "products/create",
                       "X-Shopify-Shop-Domain": target.domain, "X-Shopify-Webhook-Id": f"w{n}",
                       "X-Shopify-Hmac-Sha256": signature(secret or target.secret, body)}
            # A new address each time: the per-address bucket is not what this test spends.
            return await client.post("/webhooks/shopify", data=body, headers=headers, scope_base=from_address(f"192.0.2.{n + 10}"))

        forged = [(await deliver(shop, secret="whsec_guessed")).status_code for _ in range(5)]
        accepted = [(await deliver(shop)).status_code for _ in range(3)]
        refused = await deliver(shop)
        elsewhere = await deliver(other)
        await queues.drain()

    assert forged == [401] * 5  # refused at the HMAC: acme's budget is untouched by them
    assert accepted == [200] * 3
    assert_refused(refused, limit=3)
    assert (await refused.get_json())["error"]["code"] == "rate_limited"
    assert elsewhere.status_code == 200
    async with services.db.connect() as conn:  # the refused delivery was neither recorded nor processed
        assert await count_rows(conn, products, tenant_id=shop.tenant_id) == 3
        assert await count_rows(conn, products, tenant_id=other.tenant_id) == 1


async def test_template_writes_have_a_tenant_budget_shared_by_theme_and_email(services, client) -> None:
    # Each theme or email PUT test-renders under the render budget (up to 1 s of a thread).
    from origin.tenancy import actions as tenancy
    from origin.tenancy.tables import theme_templates

    acme = await make_store(services, slug="acme")
    other = await make_store(services, slug="other")
    second = {"Authorization": f"Bearer {(await tenancy.do_issue_api_token(services, acme.tenant.id)).token}"}

    async def put_theme(auth, n):
        return await client.put("/api/v1/theme/templates/product.html", json={"source": f"<p>{n}</p>"}, headers=auth,
                                scope_base=from_address(f"198.51.100.{n + 20}"))

    statuses = [(await put_theme(acme.auth, n)).status_code for n in range(2)]
    refused = await put_theme(acme.auth, 2)
    email = await client.put("/api/v1/email-templates/order_confirmation", headers=second,
                             json={"subject": "Hi", "text": "Hi", "html": "<p>Hi</p>"})
    elsewhere = await put_theme(other.auth, 3)

    assert statuses == [200, 200]
    assert_refused(refused, limit=2)
    assert email.status_code == 429  # the same budget: email overrides test-render too
    assert elsewhere.status_code == 200
    async with services.db.connect() as conn:
        source = (await conn.execute(sa.select(theme_templates.c.source).where(theme_templates.c.tenant_id == acme.tenant.id))).scalar_one()
    assert source == "<p>1</p>"  # the refused write changed nothing


async def test_a_refused_request_takes_no_token_from_the_other_buckets() -> None:
    limiter = MemoryRateLimiter()
    tight, loose = Limit("tight", 1, 60), Limit("loose", 10, 60)

    first = await limiter.take([Charge(tight, "ip:a"), Charge(loose, "t1")])
    refused = await limiter.take([Charge(tight, "ip:a"), Charge(loose, "t1")])
    loose_alone = await limiter.take([Charge(loose, "t1")])

    assert (first.allowed, refused.allowed, refused.limit, refused.retry_after_seconds) == (True, False, tight, 60)
    assert (loose_alone.allowed, loose_alone.remaining) == (True, 8)  # 10, minus the first request, minus this one


async def test_memory_buckets_refill_at_their_rate() -> None:
    now = [1000.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    limit = Limit("x", 2, 60)  # one token every 30 s

    spent = [(await limiter.take([Charge(limit, "ip:a")])).allowed for _ in range(3)]
    now[0] += 29
    early = await limiter.take([Charge(limit, "ip:a")])
    now[0] += 1
    refilled = await limiter.take([Charge(limit, "ip:a")])

    assert spent == [True, True, False]
    assert (early.allowed, early.retry_after_seconds) == (False, 1)
    assert refilled.allowed


async def test_redis_buckets_refill_at_their_rate_with_redis_s_clock() -> None:
    require_server("Redis", "127.0.0.1", 6379)
    from tests.conftest import REDIS_URL

    client = make_redis(REDIS_URL)
    await client.flushdb()
    limiter = RedisRateLimiter(client, CircuitBreaker())
    limit = Limit("x", 2, 60)
    try:
        spent = [(await limiter.take([Charge(limit, "ip:a")])).allowed for _ in range(3)]
        # Thirty seconds ago, as far as the bucket knows: one token has come back since.
        (seconds, micros) = await client.time()
        await client.hset("zelly:ratelimit:x:ip:a", mapping={"tokens": "0", "at": str(seconds + micros / 1e6 - 30.5)})
        refilled = await limiter.take([Charge(limit, "ip:a")])
        again = await limiter.take([Charge(limit, "ip:a")])
        ttl = await client.pttl("zelly:ratelimit:x:ip:a")
    finally:
        await client.flushdb()
        await client.aclose()

    assert spent == [True, True, False]
    assert refilled.allowed and not again.allowed
    assert 0 < ttl <= 61_000  # the bucket is forgotten once it would be full again


async def test_a_redis_that_is_down_fails_open_with_a_log_line(caplog) -> None:
    client = make_redis(f"redis://127.0.0.1:{free_loopback_port()}/0")  # nothing listens there
    limiter = RedisRateLimiter(client, CircuitBreaker())
    limit = Limit("x", 1, 60)
    caplog.set_level(logging.WARNING, logger="origin.ratelimit")
    try:
        decisions = [await limiter.take([Charge(limit, "ip:a")]) for _ in range(3)]
    finally:
        await client.aclose()

    assert [decision.allowed for decision in decisions] == [True, True, True]
    assert all(decision.headers() == [] for decision in decisions)
    assert limiter.failed_open == 3
    assert [record.getMessage()[:40] for record in caplog.records if record.name == "origin.ratelimit"] == [
        "rate limits not enforced: Redis is unava"]  # one line, not one per request


async def test_while_the_breaker_is_open_the_limiter_does_not_wait_on_redis() -> None:
    client = make_redis(f"redis://127.0.0.1:{free_loopback_port()}/0")
    breaker = CircuitBreaker(cool_down=0.0)  # a probe would be allowed at once: the limiter must not be one
    breaker.failed(TimeoutError("the cache's own command timed out"))
    limiter = RedisRateLimiter(client, breaker)
    try:
        decision = await limiter.take([Charge(Limit("x", 1, 60), "ip:a")])
    finally:
        await client.aclose()

    assert decision.allowed and limiter.failed_open == 1
    assert breaker.failures == 1  # no command was sent, so nothing more failed
