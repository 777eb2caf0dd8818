"""The seller API's analytics endpoints and the dashboard: auth, bad input, and no other store's numbers."""

import time

import pytest

from urllib.parse import urlsplit

from origin.analytics.links import LINK_SECONDS, sign_link_token
from origin.tenancy.resolution import public_base_url
from origin.app import create_app
from tests.analytics.conftest import drain
from tests.analytics.test_pipeline import run_known_sequence
from origin.tenancy.actions import do_issue_api_token

REPORTS = ("summary", "timeseries", "revenue", "pages", "products", "sources", "devices", "funnel")


async def _setup(analytics):
    acme, nordic = await run_known_sequence(analytics)
    await drain(analytics)
    acme_token = (await do_issue_api_token(analytics, acme.id, "analytics")).token
    nordic_token = (await do_issue_api_token(analytics, nordic.id, "analytics")).token
    return create_app(analytics.settings, services=analytics).test_client(), acme, acme_token, nordic_token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Host": "localhost"}


async def test_every_report_shows_only_the_callers_store(analytics):
    client, acme, acme_token, nordic_token = await _setup(analytics)

    acme_bodies = {r: await (await client.get(f"/api/v1/analytics/{r}", headers=bearer(acme_token))).get_json() for r in REPORTS}
    nordic_bodies = {r: await (await client.get(f"/api/v1/analytics/{r}", headers=bearer(nordic_token))).get_json() for r in REPORTS}

    assert acme_bodies["summary"]["summary"]["page_views"] == 3 and acme_bodies["summary"]["currency"] == "USD"
    assert nordic_bodies["summary"]["summary"] == {
        "visitors": 1, "sessions": 1, "page_views": 1, "product_views": 0, "add_to_carts": 0, "checkouts": 0,
        "orders": 0, "revenue": "0.00", "average_order_value": "0.00", "bounces": 1, "bounce_rate": 1.0,
    }
    assert nordic_bodies["summary"]["currency"] == "EUR"
    assert nordic_bodies["products"]["products"] == []
    assert nordic_bodies["pages"]["pages"] == [{"path": "/", "page_views": 1, "visitors": 1}]
    assert nordic_bodies["sources"] == {**nordic_bodies["sources"], "referrers": [{"referrer": "(direct)", "sessions": 1, "visitors": 1}], "utm": []}
    assert [s["sessions"] for s in nordic_bodies["funnel"]["funnel"]] == [1, 0, 0, 0, 0]
    assert nordic_bodies["revenue"]["revenue"] == "0.00" and acme_bodies["revenue"]["revenue"] == "85.49"
    assert acme_bodies["revenue"]["orders"] == 3
    assert sum(point["page_views"] for point in nordic_bodies["timeseries"]["series"]) == 1
    assert [d["device"] for d in acme_bodies["devices"]["devices"]] == ["desktop", "mobile", "tablet"]
    assert nordic_bodies["devices"]["devices"] == [{"device": "desktop", "sessions": 1, "visitors": 1}]


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("tz=Mars/Olympus", "invalid_time_zone", "tz"),
        ("from=2026-11-10&to=2026-11-01", "invalid_range", "from"),
        ("from=yesterday", "invalid_range", "from"),
        ("from=2024-01-01&to=2026-01-01", "invalid_range", "from"),
        ("interval=week", "literal_error", "interval"),
        ("interval=hour&from=2026-09-01&to=2026-11-01", "invalid_range", "interval"),
        ("form=2026-11-01", "extra_forbidden", "form"),
        ("limit=0", "greater_than_equal", "limit"),
        ("limit=abc", "int_parsing", "limit"),
        ("tz=UTC&tz=UTC", "repeated", "tz"),
    ],
)
async def test_bad_report_parameters_are_refused_with_a_reason(analytics, query, code, field):
    client, _, token, _ = await _setup(analytics)

    response = await client.get(f"/api/v1/analytics/pages?{query}", headers=bearer(token))

    assert response.status_code == 422
    error = (await response.get_json())["error"]
    assert error["code"] == "validation_failed"
    assert [(problem["path"], problem["code"]) for problem in error["fields"]] == [(field, code)]


async def test_reports_need_a_valid_token_on_the_platform_host(analytics):
    client, _, token, _ = await _setup(analytics)

    missing = await client.get("/api/v1/analytics/summary", headers={"Host": "localhost"})
    wrong = await client.get("/api/v1/analytics/summary", headers=bearer("zly_not_a_token"))
    on_a_store = await client.get("/api/v1/analytics/summary", headers={**bearer(token), "Host": "acme.localhost"})

    assert (missing.status_code, wrong.status_code, on_a_store.status_code) == (401, 401, 404)


async def test_the_dashboard_by_signed_link(analytics):
    client, acme, acme_token, nordic_token = await _setup(analytics)

    created = await client.post("/api/v1/analytics/dashboard-links", json={}, headers=bearer(acme_token))
    url = (await created.get_json())["url"]
    link = url.removeprefix(public_base_url(analytics.settings, "localhost"))
    page = await client.get(link, headers={"Host": "localhost"})
    in_berlin = await client.get(link + "&tz=Europe/Berlin", headers={"Host": "localhost"})
    nordic_url = (await (await client.post("/api/v1/analytics/dashboard-links", json={}, headers=bearer(nordic_token))).get_json())["url"]
    nordic_link = urlsplit(nordic_url)._replace(scheme="", netloc="").geturl()
    nordic_page = await (await client.get(nordic_link, headers={"Host": "localhost"})).get_data(as_text=True)

    assert created.status_code == 201 and url.startswith(f"{public_base_url(analytics.settings, 'localhost')}/analytics/dashboard?store=acme&link={acme.id}.")
    html = await page.get_data(as_text=True)
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    assert "Acme · analytics" in html and html.count("<svg") == 7 and "85.49" in html
    assert in_berlin.status_code == 200 and 'value="Europe/Berlin"' in await in_berlin.get_data(as_text=True)
    assert "Nordic · analytics" in nordic_page and "85.49" not in nordic_page


async def test_forged_expired_and_malformed_links_are_refused(analytics):
    client, acme, _, _ = await _setup(analytics)
    keyring = analytics.keyring
    valid, _ = sign_link_token(keyring, acme.id)
    expired, _ = sign_link_token(keyring, acme.id, now=time.time() - LINK_SECONDS - 5)
    other_tenant = valid.replace(f"{acme.id}.", f"{acme.id + 1}.", 1)

    responses = [
        await client.get(f"/analytics/dashboard?store=acme&link={token}", headers={"Host": "localhost"})
        for token in (other_tenant, expired, "garbage", "")
    ]
    bad_range = await client.get(f"/analytics/dashboard?store=acme&link={valid}&tz=Nowhere", headers={"Host": "localhost"})

    assert [r.status_code for r in responses] == [401, 401, 401, 401]
    assert "expired" in await responses[1].get_data(as_text=True)
    assert bad_range.status_code == 422 and "IANA" in await bad_range.get_data(as_text=True)


async def test_top_products_carry_titles_of_the_callers_store_only(analytics):
    from decimal import Decimal

    from origin.analytics.emit import PurchaseLine, emit_purchase
    from tests.analytics.conftest import make_store
    from tests.factories import make_product

    acme, acme_token = await make_store(analytics, "acme")
    nordic, _ = await make_store(analytics, "nordic", "EUR")
    shirt = await make_product(analytics, acme.id, title="Linen shirt", handle="linen-shirt")
    foreign = await make_product(analytics, nordic.id, title="Nordic secret", handle="secret")
    await emit_purchase(analytics, acme.id, order_id="9", currency="USD",
                        lines=[PurchaseLine(shirt.id, 0, 1, Decimal("30")), PurchaseLine(foreign.id, 0, 1, Decimal("5"))])
    await drain(analytics)
    client = create_app(analytics.settings, services=analytics).test_client()

    body = await (await client.get("/api/v1/analytics/products", headers=bearer(acme_token))).get_json()

    assert [(p["product_id"], p["title"], p["handle"], p["revenue"]) for p in body["products"]] == [
        (shirt.id, "Linen shirt", "linen-shirt", "30.00"), (foreign.id, None, None, "5.00"),
    ]
