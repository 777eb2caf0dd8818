"""A known sequence of beacon and server events, through the app, the queue and the consumer, into exact numbers."""

import datetime as dt
from decimal import Decimal

from origin.analytics import queries
from origin.analytics.consumer import EventConsumer
from origin.analytics.emit import PurchaseLine, emit_add_to_cart, emit_purchase
from origin.analytics.intake import Shopper
from origin.analytics.queue import queue_for
from origin.analytics.ranges import Range
from origin.app import create_app
from tests.analytics.conftest import UA_DESKTOP, UA_GOOGLEBOT, UA_IPAD, UA_IPHONE, drain, final_count, make_store, raw_count
from tests.analytics.web_client import event, page_view, post_events


def today_range(tz: str = "UTC") -> Range:
    today = dt.datetime.now(dt.timezone.utc).date()
    return Range(start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=1), time_zone=tz)


async def run_known_sequence(services) -> tuple:
    """Three shoppers on acme, one on nordic, a bot, a DNT browser, a client retry and a server duplicate."""
    acme, _ = await make_store(services, "acme")
    nordic, _ = await make_store(services, "nordic", "EUR")
    client = create_app(services.settings, services=services).test_client()
    first_batch = [
        page_view("/?utm_source=newsletter&utm_medium=email&utm_campaign=nov", referrer="https://www.google.com/search?q=x", event_id="v1-pv"),
        event("product_view", "/products/shirt", product_id=11, event_id="v1-prv"),
        event("add_to_cart", "/products/shirt", product_id=11, variant_id=111, quantity=2, value="40.00", currency="USD", event_id="v1-atc"),
    ]
    assert (await post_events(client, "acme.localhost", first_batch, ip="10.0.0.1")).status_code == 202
    # the browser retried the same batch (same event ids): must count once
    assert (await post_events(client, "acme.localhost", first_batch, ip="10.0.0.1")).status_code == 202
    assert (await post_events(client, "acme.localhost", page_view("/about"), ip="10.0.0.2", user_agent=UA_IPHONE)).status_code == 202
    third = [
        page_view("/", referrer="https://l.instagram.com/"),
        event("product_view", "/products/mug", product_id=12),
        event("add_to_cart", "/products/mug", product_id=12, quantity=1, value="25.50", currency="USD"),
        event("checkout_started", "/checkout"),
    ]
    assert (await post_events(client, "ACME.localhost:8000", third, ip="10.0.0.3", user_agent=UA_IPAD)).status_code == 202
    bot = await post_events(client, "acme.localhost", page_view("/"), ip="66.249.66.1", user_agent=UA_GOOGLEBOT)
    dnt = await post_events(client, "acme.localhost", page_view("/"), ip="10.0.0.9", DNT="1")
    gpc = await post_events(client, "acme.localhost", page_view("/"), ip="10.0.0.8", **{"Sec-GPC": "1"})
    assert [(r.status_code, await r.get_json()) for r in (bot, dnt, gpc)] == [(202, {"accepted": 0})] * 3
    # purchases come from the server only (the beacon cannot send them): shopper 3's order joins their session
    shopper3 = Shopper(ip="10.0.0.3", user_agent=UA_IPAD)
    await emit_purchase(services, acme.id, order_id="1001", currency="USD",
                        lines=[PurchaseLine(12, 0, 1, Decimal("25.50"))], shopper=shopper3)
    shopper1 = Shopper(ip="10.0.0.1", user_agent=UA_DESKTOP)
    await emit_purchase(services, acme.id, order_id="1002", currency="USD", shopper=shopper1,
                        lines=[PurchaseLine(11, 111, 2, Decimal("40.00")), PurchaseLine(13, 0, 1, Decimal("9.99"))])
    # a shopper refusing tracking still buys: revenue counts, no visitor id is written
    await emit_purchase(services, acme.id, order_id="1003", currency="USD",
                        shopper=Shopper(ip="10.0.0.9", user_agent=UA_DESKTOP, refuses_tracking=True),
                        lines=[PurchaseLine(13, 0, 1, Decimal("10.00"))])
    # the same person on another store is another visitor there, and invisible here
    assert (await post_events(client, "nordic.localhost", page_view("/", host="nordic.localhost"), ip="10.0.0.1")).status_code == 202
    return acme, nordic


async def test_exact_numbers_after_a_known_sequence_with_duplicates(analytics):
    acme, nordic = await run_known_sequence(analytics)
    # a whole batch redelivered after a consumer died between insert and ack
    queue = queue_for(analytics)
    dying = EventConsumer(analytics.analytics, queue, name="dying")
    deliveries = await queue.read("dying", max_messages=1000, block_ms=5)
    await dying.insert(deliveries)
    queue.claim_idle_ms = 0
    await drain(analytics)
    client, window = analytics.analytics, today_range()

    summary = await queries.summary(client, acme.id, window)
    funnel = await queries.funnel(client, acme.id, window)
    products = await queries.top_products(client, acme.id, window)
    pages = await queries.top_pages(client, acme.id, window)
    sources = await queries.sources(client, acme.id, window)
    devices = await queries.devices(client, acme.id, window)
    nordic_summary = await queries.summary(client, nordic.id, window)

    assert summary == {
        "visitors": 3, "sessions": 3, "page_views": 3, "product_views": 2, "add_to_carts": 2, "checkouts": 1,
        "orders": 3, "revenue": "85.49", "average_order_value": "28.50", "bounces": 1, "bounce_rate": 0.3333,
    }
    assert [(s["step"], s["sessions"], s["conversion_from_start"], s["conversion_from_previous"]) for s in funnel] == [
        ("page_view", 3, 1.0, 1.0), ("product_view", 2, 0.6667, 0.6667), ("add_to_cart", 2, 0.6667, 1.0),
        ("checkout_started", 1, 0.3333, 0.5), ("purchase", 2, 0.6667, 2.0),
    ]
    assert [(p["product_id"], p["views"], p["add_to_carts"], p["purchases"], p["units"], p["revenue"]) for p in products] == [
        (11, 1, 1, 1, 2, "40.00"), (12, 1, 1, 1, 1, "25.50"), (13, 0, 0, 2, 2, "19.99"),
    ]
    assert pages == [
        {"path": "/", "page_views": 2, "visitors": 2}, {"path": "/about", "page_views": 1, "visitors": 1},
    ]
    assert sources == {
        "referrers": [
            {"referrer": "(direct)", "sessions": 1, "visitors": 1},
            {"referrer": "l.instagram.com", "sessions": 1, "visitors": 1},
            {"referrer": "www.google.com", "sessions": 1, "visitors": 1},
        ],
        "utm": [{"source": "newsletter", "medium": "email", "campaign": "nov", "sessions": 1}],
    }
    assert devices == [
        {"device": "desktop", "sessions": 1, "visitors": 1},
        {"device": "mobile", "sessions": 1, "visitors": 1},
        {"device": "tablet", "sessions": 1, "visitors": 1},
    ]
    assert nordic_summary["visitors"] == 1 and nordic_summary["page_views"] == 1 and nordic_summary["orders"] == 0
    assert final_count(client) == 13  # 3 + 1 + 4 beacon, 1 + 2 + 1 server lines, 1 nordic
    assert raw_count(client, f"tenant_id = {acme.id} AND name = 'purchase' AND visitor_id = 0") == 1


async def test_no_raw_ip_or_user_agent_is_stored(analytics):
    await run_known_sequence(analytics)
    await drain(analytics)
    client = analytics.analytics

    text_columns = "concat(event_id, path, referrer_host, utm_source, utm_medium, utm_campaign, device, order_id)"
    leaks = client.command(
        f"SELECT count() FROM events WHERE positionCaseInsensitive({text_columns}, '10.0.0.') > 0 "
        f"OR positionCaseInsensitive({text_columns}, 'Mozilla') > 0"
    )

    assert leaks == 0
    assert client.command("SELECT count() FROM events WHERE visitor_id = 0") == 1


async def test_timeseries_by_day_and_hour_in_the_merchants_time_zone(analytics):
    acme, _ = await run_known_sequence(analytics)
    await drain(analytics)
    today = dt.datetime.now(dt.timezone.utc).date()
    client = analytics.analytics

    daily = await queries.timeseries(client, acme.id, Range(today, today, "UTC", "day"))
    hourly = await queries.timeseries(client, acme.id, Range(today, today, "Asia/Tokyo", "hour"))

    assert daily == [{"bucket": f"{today.isoformat()}T00:00:00+00:00", "visitors": 3, "sessions": 3, "page_views": 3,
                      "orders": 3, "revenue": "85.49", "average_order_value": "28.50"}]
    assert len(hourly) == 24 and hourly[0]["bucket"] == f"{today.isoformat()}T00:00:00+09:00"
    now_hour = dt.datetime.now(dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=9)))
    expected = 3 if now_hour.date() == today else 0
    assert sum(point["page_views"] for point in hourly) == expected


async def test_server_side_add_to_cart_counts_once_per_event_id(analytics):
    acme, _ = await make_store(analytics, "acme")
    shopper = Shopper(ip="10.0.0.1", user_agent=UA_DESKTOP)
    for _ in range(2):
        await emit_add_to_cart(analytics, acme.id, product_id=5, variant_id=0, quantity=1, value=Decimal("3.00"),
                               currency="USD", event_id="cart:9:line:1", shopper=shopper)
    await drain(analytics)

    summary = await queries.summary(analytics.analytics, acme.id, today_range())

    assert (summary["add_to_carts"], summary["visitors"], summary["sessions"]) == (1, 1, 1)


async def test_emitting_never_fails_the_caller_when_the_queue_is_full(analytics):
    from origin.analytics.queue import MemoryQueue

    acme, _ = await make_store(analytics, "acme")
    analytics.attach(events_queue=MemoryQueue(max_rows=0))

    kept = await emit_add_to_cart(analytics, acme.id, product_id=5, variant_id=0, quantity=1, value=Decimal("3.00"),
                                  currency="USD", event_id="cart:1:5:1")
    bought = await emit_purchase(analytics, acme.id, order_id="7", currency="USD", lines=[PurchaseLine(5, 0, 1, Decimal("3"))])

    assert (kept, bought) == (False, False)
    assert await analytics.events_queue.backlog() == 0
