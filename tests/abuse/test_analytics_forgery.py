"""Forging a store's numbers (issue 13, item 6 and the analytics parts of item 9), as an attacker with no account.

Each test is an attack that must fail: a forged purchase, a chosen server event
id, a link opened on the wrong host or for the wrong store, bots and
Do-Not-Track through the server-side cart, another site's page URLs, and input
that used to answer 500. Every test runs on both backends (embedded SQLite +
in-memory queue, and MariaDB + Redis), with chDB embedded.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from origin.analytics import queries
from origin.analytics.emit import PurchaseLine, emit_purchase
from origin.analytics.intake import Shopper
from origin.analytics.links import sign_link_token
from origin.analytics.queue import queue_for
from origin.analytics.ranges import Range
from origin.app import create_app
from origin.tenancy.resolution import public_base_url
from tests.analytics.conftest import UA_DESKTOP, UA_GOOGLEBOT, drain, final_count, make_store
from tests.analytics.web_client import event, page_view, post_events
from tests.storefront.shops import two_shops


def today() -> Range:
    day = dt.datetime.now(dt.timezone.utc).date()
    return Range(start=day - dt.timedelta(days=1), end=day + dt.timedelta(days=1), time_zone="UTC")


async def _a_real_order(services, tenant_id: int, order_id: str = "1001", value: str = "25.50") -> None:
    await emit_purchase(services, tenant_id, order_id=order_id, currency="USD",
                        lines=[PurchaseLine(12, 0, 1, Decimal(value))], shopper=Shopper("10.0.0.3", UA_DESKTOP))


async def test_a_forged_purchase_is_refused_and_revenue_follows_the_orders_only(analytics):
    acme, _ = await make_store(analytics, "acme")
    client = create_app(analytics.settings, services=analytics).test_client()
    await _a_real_order(analytics, acme.id)

    forged = await post_events(client, "acme.localhost", [
        page_view("/"),
        event("purchase", "/checkout/thank-you", product_id=12, quantity=1, value="999999.00", currency="USD", order_id="x"),
    ])
    # Money on other events does not become revenue either: a checkout or an add to cart "worth" a fortune.
    inflated = await post_events(client, "acme.localhost", [
        event("checkout_started", "/checkout", value="999999.00", currency="USD"),
        event("add_to_cart", "/p", product_id=12, quantity=1, value="999999.00", currency="USD", order_id="y"),
    ])
    await drain(analytics)

    error = (await forged.get_json())["error"]
    assert (forged.status_code, error["code"], error["field"]) == (422, "server_only_event", "[1].name")
    assert inflated.status_code == 202 and (await inflated.get_json()) == {"accepted": 2}
    summary = await queries.summary(analytics.analytics, acme.id, today())
    assert (summary["orders"], summary["revenue"], summary["average_order_value"]) == (1, "25.50", "25.50")
    assert [(p["product_id"], p["purchases"], p["revenue"]) for p in await queries.top_products(analytics.analytics, acme.id, today())] == [
        (12, 1, "25.50")
    ]


async def test_a_beacon_cannot_overwrite_a_server_row_by_choosing_its_event_id(analytics):
    acme, _ = await make_store(analytics, "acme")
    client = create_app(analytics.settings, services=analytics).test_client()
    await _a_real_order(analytics, acme.id, "1001", "25.50")
    await drain(analytics)

    # Same day, same name is what ReplacingMergeTree collapses on: try every server id shape.
    attempts = [
        event("add_to_cart", "/p", product_id=12, quantity=1, value="0", currency="USD", event_id="cart:c1:1:1"),
        event("checkout_started", "/checkout", event_id="checkout:1"),
        page_view("/", event_id="purchase:1001:0"),
    ]
    response = await post_events(client, "acme.localhost", attempts)
    await drain(analytics)

    assert (await response.get_json()) == {"accepted": 3}
    stored = sorted(row[0] for row in analytics.analytics.query(
        "SELECT event_id FROM events FINAL WHERE tenant_id = {t:UInt64} AND name != 'purchase'", parameters={"t": acme.id}
    ).result_rows)
    assert stored == ["b:cart:c1:1:1", "b:checkout:1", "b:purchase:1001:0"]  # the beacon's namespace, apart
    purchase = analytics.analytics.query(
        "SELECT event_id, toString(value) FROM events FINAL WHERE tenant_id = {t:UInt64} AND name = 'purchase'",
        parameters={"t": acme.id},
    ).result_rows
    assert purchase == [("purchase:1001:0", "25.5")]
    assert (await queries.summary(analytics.analytics, acme.id, today()))["revenue"] == "25.50"


async def test_purchase_rows_a_beacon_wrote_before_the_rule_are_not_money(analytics):
    """Rows forged before this change (any id a browser picked) stay in the table but never count as revenue."""
    acme, _ = await make_store(analytics, "acme")
    await _a_real_order(analytics, acme.id)
    legacy = {"tenant_id": acme.id, "ts": round(time.time(), 3), "event_id": "d1c0ffee", "name": "purchase",
              "visitor_id": 7, "session_id": 7, "path": "/", "value": "5000", "currency": "USD", "order_id": "forged"}
    await queue_for(analytics).publish([legacy])
    await drain(analytics)

    summary = await queries.summary(analytics.analytics, acme.id, today())
    series = await queries.timeseries(analytics.analytics, acme.id, today())
    totals = await queries.daily_totals(analytics.analytics, acme.id, dt.datetime.now(dt.timezone.utc).date())

    assert final_count(analytics.analytics, "name = 'purchase'") == 2
    assert (summary["orders"], summary["revenue"]) == (1, "25.50")
    assert sum(point["orders"] for point in series) == 1 and sum(Decimal(point["revenue"]) for point in series) == Decimal("25.50")
    assert (totals[acme.id]["purchases"], totals[acme.id]["revenue"]) == (1, Decimal("25.50"))


async def test_the_dashboard_link_opens_only_on_the_platform_host_and_only_for_its_store(analytics):
    acme, acme_token = await make_store(analytics, "acme")
    await make_store(analytics, "nordic")
    client = create_app(analytics.settings, services=analytics).test_client()
    created = await client.post("/api/v1/analytics/dashboard-links", json={},
                                headers={"Host": "localhost", "Authorization": f"Bearer {acme_token}"})
    url = (await created.get_json())["url"]
    base = public_base_url(analytics.settings, "localhost")
    path = url.removeprefix(base)
    token, _ = sign_link_token(analytics.keyring, acme.id)

    on_platform = await client.get(path, headers={"Host": "localhost"})
    on_api_host = await client.get(path, headers={"Host": "api.localhost"})
    on_own_store = await client.get(path, headers={"Host": "acme.localhost"})
    on_other_store = await client.get(path, headers={"Host": "nordic.localhost"})
    renamed = await client.get(f"/analytics/dashboard?store=nordic&link={token}", headers={"Host": "localhost"})
    unnamed = await client.get(f"/analytics/dashboard?link={token}", headers={"Host": "localhost"})

    assert url.startswith(f"{base}/analytics/dashboard?store=acme&link=")
    assert analytics.settings.origin_bind not in url
    assert (on_platform.status_code, on_api_host.status_code) == (200, 200)
    assert (on_own_store.status_code, on_other_store.status_code) == (404, 404)
    assert "platform" in await on_other_store.get_data(as_text=True)
    assert (renamed.status_code, unnamed.status_code) == (401, 401)
    assert "another store" in await renamed.get_data(as_text=True)


async def test_bots_and_do_not_track_add_nothing_through_the_server_side_cart(analytics):
    acme, _ = await two_shops(analytics)
    client = create_app(analytics.settings, services=analytics).test_client()
    mug = acme.mug.variants[0]
    base = {"Host": acme.host, "Origin": f"http://{acme.host}", "Sec-Fetch-Site": "same-origin"}
    visitors = [
        {"User-Agent": "curl/8.5.0"},
        {"User-Agent": UA_GOOGLEBOT},
        {"User-Agent": ""},
        {"User-Agent": UA_DESKTOP, "DNT": "1"},
        {"User-Agent": UA_DESKTOP, "Sec-GPC": "1"},
        {"User-Agent": UA_DESKTOP},  # the one shopper who is counted
    ]
    statuses = []
    for index, headers in enumerate(visitors):
        added = await client.post("/cart/add", form={"variant_id": str(mug.id), "quantity": "1"},
                                  headers={**base, **headers}, scope_base={"client": (f"10.1.0.{index + 1}", 40000)})
        statuses.append(added.status_code)
    await drain(analytics)

    assert statuses == [303] * len(visitors)  # every cart works: analytics never changes what the shop does
    assert final_count(analytics.analytics, "name = 'add_to_cart'") == 1
    assert final_count(analytics.analytics, "name = 'add_to_cart' AND visitor_id = 0") == 0


async def test_a_dnt_or_bot_order_still_counts_as_revenue_but_names_nobody(analytics):
    """The other side of the same rule: an order is money the store took, whoever placed it."""
    acme, _ = await make_store(analytics, "acme")
    await emit_purchase(analytics, acme.id, order_id="1", currency="USD", lines=[PurchaseLine(1, 0, 1, Decimal("10"))],
                        shopper=Shopper("10.0.0.1", UA_DESKTOP, refuses_tracking=True))
    await emit_purchase(analytics, acme.id, order_id="2", currency="USD", lines=[PurchaseLine(1, 0, 1, Decimal("5"))],
                        shopper=Shopper("10.0.0.2", UA_GOOGLEBOT))
    await drain(analytics)

    assert (await queries.summary(analytics.analytics, acme.id, today()))["revenue"] == "15.00"
    assert final_count(analytics.analytics, "name = 'purchase' AND (visitor_id != 0 OR session_id != 0)") == 0


async def test_page_urls_on_another_site_are_dropped(analytics):
    acme, _ = await make_store(analytics, "acme")
    await make_store(analytics, "nordic")
    client = create_app(analytics.settings, services=analytics).test_client()

    foreign = await post_events(client, "acme.localhost", [
        page_view("/", host="evil.example"),
        page_view("/", host="nordic.localhost"),  # another store of the platform is another site too
        page_view("/kept"),
        event("product_view", "/p", host="acme.localhost.evil.example", product_id=3),
    ])
    await drain(analytics)

    assert foreign.status_code == 202 and (await foreign.get_json()) == {"accepted": 1}
    paths = [row[0] for row in analytics.analytics.query("SELECT path FROM events FINAL").result_rows]
    assert paths == ["/kept"]


async def test_hostile_bodies_get_a_4xx_and_queue_nothing(analytics):
    await make_store(analytics, "acme")
    client = create_app(analytics.settings, services=analytics).test_client()
    headers = {"Host": "acme.localhost", "User-Agent": UA_DESKTOP, "Content-Type": "application/json"}

    deep = await client.post("/events", data=b"[" * 60_000, headers=headers)
    superscript = await post_events(client, "acme.localhost", event("product_view", product_id="²"))
    huge_number = await post_events(client, "acme.localhost", event("product_view", product_id="9" * 40))

    assert [(r.status_code, (await r.get_json())["error"]["code"]) for r in (deep, superscript, huge_number)] == [
        (422, "invalid_json"), (422, "invalid_event"), (422, "invalid_event"),
    ]
    assert await queue_for(analytics).backlog() == 0
