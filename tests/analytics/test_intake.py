"""POST /events: bad input refused with a reason and nothing queued; privacy rules; the beacon script."""

import datetime as dt
from types import SimpleNamespace

import pytest

from origin.analytics import privacy
from origin.analytics.queue import queue_for
from origin.app import create_app
from origin.tenancy.tables import domains
from origin.tenancy.actions import do_suspend_tenant
from tests.analytics.conftest import UA_IPHONE, make_store
from tests.analytics.web_client import event, page_view, post_events

BAD_BATCHES = [
    ([page_view(), {"name": "page_veiw", "url": "https://acme.localhost/"}], 422, "unknown_event", "[1].name"),
    ({"name": "page_view"}, 422, "invalid_event", "url"),
    ({"name": "page_view", "url": "ftp://acme.localhost/x"}, 422, "invalid_event", "url"),
    ({"name": "page_view", "url": "https://acme.localhost/" + "a" * 2100}, 422, "invalid_event", "url"),
    ({"name": "page_view", "url": "https://acme.localhost/", "referrer": 5}, 422, "invalid_event", "referrer"),
    ({"name": "page_view", "url": "https://acme.localhost/", "event_id": "has spaces"}, 422, "invalid_event", "event_id"),
    ({"name": "page_view", "url": "https://acme.localhost/", "colour": "red"}, 422, "invalid_event", "colour"),
    (event("product_view"), 422, "invalid_event", "props.product_id"),
    (event("product_view", product_id=0), 422, "invalid_event", "props.product_id"),
    (event("add_to_cart", product_id=1, quantity=0), 422, "invalid_event", "props.quantity"),
    (event("add_to_cart", product_id=1, quantity=1, value="-1", currency="USD"), 422, "invalid_event", "props.value"),
    (event("add_to_cart", product_id=1, quantity=1, value="abc", currency="USD"), 422, "invalid_event", "props.value"),
    (event("add_to_cart", product_id=1, quantity=1, value="10.00", currency="EUR"), 422, "invalid_event", "props.currency"),
    (event("add_to_cart", product_id=1, quantity=1, value="10.00", currency="USD", coupon="X"), 422, "invalid_event", "props.coupon"),
    (event("purchase", value="10.00", currency="USD"), 422, "server_only_event", "name"),
    (event("add_to_cart", product_id="²", quantity=1), 422, "invalid_event", "props.product_id"),
    ({"name": "page_view", "url": "https://acme.localhost/", "props": []}, 422, "invalid_event", "props"),
    ([], 422, "empty_batch", None),
    (["page_view"], 422, "invalid_event", "[0]"),
    ([page_view()] * 51, 413, "too_many_events", None),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_BATCHES)
async def test_bad_events_are_refused_with_a_reason_and_nothing_is_queued(analytics, body, status, code, field):
    await make_store(analytics, "acme")
    client = create_app(analytics.settings, services=analytics).test_client()

    response = await post_events(client, "acme.localhost", body)

    error = (await response.get_json())["error"]
    assert (response.status_code, error["code"], error.get("field")) == (status, code, field)
    assert error["message"]
    assert await queue_for(analytics).backlog() == 0


async def test_a_body_over_64_kib_and_bad_json_are_refused(analytics):
    await make_store(analytics, "acme")
    client = create_app(analytics.settings, services=analytics).test_client()
    headers = {"Host": "acme.localhost", "User-Agent": UA_IPHONE}

    too_big = await client.post("/events", data=b"[" + b" " * 70_000 + b"]", headers=headers)
    not_json = await client.post("/events", data=b"{nope", headers=headers)

    assert too_big.status_code == 413
    assert (await too_big.get_json())["error"]["code"] == "body_too_large"
    assert not_json.status_code == 422
    assert (await not_json.get_json())["error"]["code"] == "invalid_json"
    assert await queue_for(analytics).backlog() == 0


async def test_unknown_hosts_suspended_stores_and_inactive_domains_get_404(analytics):
    acme, _ = await make_store(analytics, "acme")
    async with analytics.db.begin() as conn:
        await conn.execute(domains.insert().values(tenant_id=acme.id, hostname="shop.acme.test", status="pending", verification_token="t1"))
        await conn.execute(domains.insert().values(tenant_id=acme.id, hostname="www.acme.test", status="active", verification_token="t2"))
    gone, _ = await make_store(analytics, "gone")
    await do_suspend_tenant(analytics, gone.id)
    client = create_app(analytics.settings, services=analytics).test_client()

    unknown = await post_events(client, "nobody.localhost", page_view())
    suspended = await post_events(client, "gone.localhost", page_view(host="gone.localhost"))
    pending_domain = await post_events(client, "shop.acme.test", page_view(host="shop.acme.test"))
    active_domain = await post_events(client, "www.acme.test", page_view(host="www.acme.test"))

    assert unknown.status_code == 404 and (await unknown.get_json())["error"]["code"] == "unknown_store"
    assert pending_domain.status_code == 404 and suspended.status_code == 404
    assert active_domain.status_code == 202 and await active_domain.get_json() == {"accepted": 1}
    queued = await queue_for(analytics).read("probe", max_messages=10, block_ms=5)
    assert [row["tenant_id"] for delivery in queued for row in delivery.rows] == [acme.id]


async def test_visitor_hash_uses_a_shared_daily_salt_that_rotates(analytics):
    salts = privacy.DailySalts(analytics.cache)
    day = dt.date(2026, 11, 25)

    today = await salts.for_day(day)
    again = await privacy.DailySalts(analytics.cache).for_day(day)  # another origin process
    tomorrow = await salts.for_day(day + dt.timedelta(days=1))

    assert today == again and today != tomorrow and len(today) == 32
    assert await analytics.cache.get(privacy.salt_key(day), privacy.SALT_CODEC) == today.hex()
    same = privacy.visitor_id(today, 1, "10.0.0.1", UA_IPHONE)
    assert same == privacy.visitor_id(today, 1, "10.0.0.1", UA_IPHONE)
    assert same != privacy.visitor_id(tomorrow, 1, "10.0.0.1", UA_IPHONE)
    assert same != privacy.visitor_id(today, 2, "10.0.0.1", UA_IPHONE)


def test_bots_devices_and_forwarded_addresses():
    assert privacy.is_bot("") and privacy.is_bot("curl/8.4.0") and privacy.is_bot("Mozilla/5.0 HeadlessChrome/120")
    assert not privacy.is_bot(UA_IPHONE)
    assert privacy.device_class(UA_IPHONE) == "mobile"
    assert privacy.device_class("Mozilla/5.0 (Linux; Android 14; SM-X710) Safari/537.36") == "tablet"
    assert privacy.client_ip("10.1.1.1", "198.51.100.4, 10.1.1.2", ("10.0.0.0/8",)) == "198.51.100.4"
    assert privacy.client_ip("203.0.113.9", "198.51.100.4", ("10.0.0.0/8",)) == "203.0.113.9"


async def test_the_beacon_script_and_partial(analytics):
    from storefront.environment import make_default_environment, make_tenant_environment

    await make_store(analytics, "acme")
    client = create_app(analytics.settings, services=analytics).test_client()

    script = await client.get("/assets/zelly-analytics.js", headers={"Host": "acme.localhost"})

    body = await script.get_data(as_text=True)
    assert script.status_code == 200 and "javascript" in script.content_type
    assert 'var ENDPOINT = "/events"' in body and "document.cookie" not in body and "localStorage" not in body
    partial = make_default_environment(strict=True).get_template("partials/analytics.html")
    on_product_page = partial.render(product=SimpleNamespace(id=11))
    on_thank_you_page = make_tenant_environment({}).get_template("partials/analytics.html").render(
        analytics_events=[{"name": "purchase", "event_id": "purchase:9:0", "props": {"note": "it's </script>"}}]
    )
    elsewhere = partial.render()
    assert '<script defer src="/assets/zelly-analytics.js" data-events=\'[]\'></script>' in elsewhere
    assert """data-events='[{"name": "product_view", "props": {"product_id": 11}}]'""" in on_product_page
    assert '"event_id": "purchase:9:0"' in on_thank_you_page
    assert "it\\u0027s \\u003c/script\\u003e" in on_thank_you_page  # cannot leave the attribute or the tag


async def test_a_full_embedded_queue_answers_503_and_keeps_nothing(analytics):
    from origin.analytics.queue import MemoryQueue

    await make_store(analytics, "acme")
    analytics.attach(events_queue=MemoryQueue(max_rows=3))
    client = create_app(analytics.settings, services=analytics).test_client()

    first = await post_events(client, "acme.localhost", [page_view("/a"), page_view("/b")])
    overflow = await post_events(client, "acme.localhost", [page_view("/c"), page_view("/d")])

    assert first.status_code == 202
    assert overflow.status_code == 503 and (await overflow.get_json())["error"]["code"] == "intake_busy"
    assert await analytics.events_queue.backlog() == 1
