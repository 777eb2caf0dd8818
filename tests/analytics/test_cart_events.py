"""The storefront's cart emits add_to_cart server-side: exact counts, once per change, per tenant."""

from __future__ import annotations

import datetime as dt

from origin.analytics import queries
from origin.analytics.queries import Range
from origin.app import create_app
from tests.analytics.conftest import UA_DESKTOP, drain
from tests.storefront.shops import two_shops


def around_today() -> Range:
    today = dt.datetime.now(dt.timezone.utc).date()
    return Range(start=today - dt.timedelta(days=1), end=today + dt.timedelta(days=1), time_zone="UTC")


async def test_adding_to_the_cart_is_counted_once_per_change(analytics) -> None:
    acme, nordic = await two_shops(analytics)
    client = create_app(analytics.settings, services=analytics).test_client()
    headers = {"Host": acme.host, "User-Agent": UA_DESKTOP, "Origin": f"http://{acme.host}", "Sec-Fetch-Site": "same-origin"}
    mug = acme.mug.variants[0]

    first = await client.post("/cart/add", form={"variant_id": str(mug.id), "quantity": "2"}, headers=headers)
    cookie = first.headers["Set-Cookie"].split(";", 1)[0]
    second = await client.post("/cart/add", form={"variant_id": str(mug.id), "quantity": "1"}, headers={**headers, "Cookie": cookie})
    refused = await client.post("/cart/add", form={"variant_id": "999999", "quantity": "1"}, headers={**headers, "Cookie": cookie})
    await drain(analytics)

    acme_summary = await queries.summary(analytics.analytics, acme.tenant.id, around_today())
    nordic_summary = await queries.summary(analytics.analytics, nordic.tenant.id, around_today())
    assert (first.status_code, second.status_code) == (303, 303)
    assert refused.status_code != 303
    assert acme_summary["add_to_carts"] == 2
    assert nordic_summary["add_to_carts"] == 0
    rows = analytics.analytics.query(
        "SELECT variant_id, quantity, toString(value), currency FROM events FINAL WHERE name = 'add_to_cart' ORDER BY quantity"
    ).result_rows
    assert rows == [(mug.id, 1, "8", "USD"), (mug.id, 2, "16", "USD")]
