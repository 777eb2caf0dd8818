"""``/api/v1/analytics/<report>``: the store's numbers (issue 7), and dashboard links.

Every report takes ``from`` / ``to`` (dates, inclusive, default the last 7
days), ``tz`` (IANA, default UTC), ``interval`` (day | hour) and, for lists,
``limit`` (1-100); unknown parameters are refused. 503 when the process runs
without analytics (chDB lives in one process on the embedded default).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from quart import Blueprint

from origin.analytics import queries
from origin.analytics.catalog_names import with_product_names
from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.analytics.links import dashboard_url, sign_link_token
from origin.analytics.ranges import Range, parse_range
from origin.errors import ErrorKind
from origin.web.seller.api.framework.parsing import json_body, query_args
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.schemas.analytics import (
    DashboardLinkIn,
    DashboardLinkOut,
    DevicesOut,
    FunnelOut,
    ListQuery,
    PagesOut,
    ProductsOut,
    RangeQuery,
    RevenueOut,
    SourcesOut,
    SummaryOut,
    TimeseriesOut,
)
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("analytics", __name__, url_prefix="/analytics")

REPORT_ERRORS = (401, 403, 422, 503)


def analytics_client():
    client = current_services().analytics
    if client is None:
        raise AnalyticsError(
            AnalyticsErrorCode.ANALYTICS_UNAVAILABLE, "analytics is not enabled in this process", kind=ErrorKind.UNAVAILABLE
        )
    return client


def window_of(query: RangeQuery) -> Range:
    return parse_range(query.from_, query.to, query.tz, query.interval)


def _reply(model: type[BaseModel], window: Range, **body: Any):
    envelope = {
        "range": {"from": window.start.isoformat(), "to": window.end.isoformat(), "tz": window.time_zone, "interval": window.interval},
        "currency": api_tenant().currency,
        **body,
    }
    return json_response(model.model_validate(envelope))


@blueprint.get("/summary")
@require_api_tenant
@responds(200, SummaryOut, errors=REPORT_ERRORS)
@query_args(RangeQuery)
async def summary(query: RangeQuery):
    """Visitors, sessions, page views, bounce rate, orders, revenue and AOV for the range."""
    window = window_of(query)
    return _reply(SummaryOut, window, summary=await queries.summary(analytics_client(), api_tenant().id, window))


@blueprint.get("/timeseries")
@require_api_tenant
@responds(200, TimeseriesOut, errors=REPORT_ERRORS)
@query_args(RangeQuery)
async def timeseries(query: RangeQuery):
    """Visitors, sessions, page views, orders and revenue per day or hour."""
    window = window_of(query)
    return _reply(TimeseriesOut, window, series=await queries.timeseries(analytics_client(), api_tenant().id, window))


@blueprint.get("/revenue")
@require_api_tenant
@responds(200, RevenueOut, errors=REPORT_ERRORS)
@query_args(RangeQuery)
async def revenue(query: RangeQuery):
    """Revenue, orders and average order value, in total and per day or hour."""
    window = window_of(query)
    client, tenant_id = analytics_client(), api_tenant().id
    totals = await queries.summary(client, tenant_id, window)
    series = await queries.timeseries(client, tenant_id, window)
    return _reply(
        RevenueOut,
        window,
        revenue=totals["revenue"],
        orders=totals["orders"],
        average_order_value=totals["average_order_value"],
        series=series,
    )


@blueprint.get("/pages")
@require_api_tenant
@responds(200, PagesOut, errors=REPORT_ERRORS)
@query_args(ListQuery)
async def pages(query: ListQuery):
    """The most viewed pages."""
    window = window_of(query)
    return _reply(PagesOut, window, pages=await queries.top_pages(analytics_client(), api_tenant().id, window, query.limit))


@blueprint.get("/products")
@require_api_tenant
@responds(200, ProductsOut, errors=REPORT_ERRORS)
@query_args(ListQuery)
async def products(query: ListQuery):
    """The most viewed products, with add-to-carts, purchases, units and revenue."""
    window = window_of(query)
    report = await queries.top_products(analytics_client(), api_tenant().id, window, query.limit)
    return _reply(ProductsOut, window, products=await with_product_names(current_services(), api_tenant().id, report))


@blueprint.get("/sources")
@require_api_tenant
@responds(200, SourcesOut, errors=REPORT_ERRORS)
@query_args(ListQuery)
async def sources(query: ListQuery):
    """Sessions by referrer host and by UTM source, medium and campaign."""
    window = window_of(query)
    return _reply(SourcesOut, window, **await queries.sources(analytics_client(), api_tenant().id, window, query.limit))


@blueprint.get("/devices")
@require_api_tenant
@responds(200, DevicesOut, errors=REPORT_ERRORS)
@query_args(RangeQuery)
async def devices(query: RangeQuery):
    """Sessions and visitors by device class."""
    window = window_of(query)
    return _reply(DevicesOut, window, devices=await queries.devices(analytics_client(), api_tenant().id, window))


@blueprint.get("/funnel")
@require_api_tenant
@responds(200, FunnelOut, errors=REPORT_ERRORS)
@query_args(RangeQuery)
async def funnel(query: RangeQuery):
    """Sessions reaching each funnel step, with conversion rates."""
    window = window_of(query)
    return _reply(FunnelOut, window, funnel=await queries.funnel(analytics_client(), api_tenant().id, window))


@blueprint.post("/dashboard-links")
@require_api_tenant
@responds(201, DashboardLinkOut, errors=(400, 401, 403, 415, 422))
@json_body(DashboardLinkIn)
async def dashboard_link(data: DashboardLinkIn):
    """A browser cannot send the bearer header: hand it a 15-minute signed link (origin/analytics/links.py)."""
    services, tenant = current_services(), api_tenant()
    token, expires = sign_link_token(services.keyring, tenant.id)
    url = dashboard_url(services.settings, tenant.slug, token)
    return json_response(DashboardLinkOut(url=url, expires_at=expires), status=201)
