"""The seller API's analytics: ``/api/v1/analytics/<report>`` (bearer token), and the dashboard link.

Every report takes ``from`` / ``to`` (dates, inclusive, default the last 7
days), ``tz`` (IANA, default UTC), ``interval`` (day | hour) and, for lists,
``limit`` (1-100). Unknown parameters are refused, so a typo such as
``?form=`` does not silently show the default range.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request

from origin.analytics import queries
from origin.analytics.catalog_names import with_product_names
from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.analytics.links import sign_link_token
from origin.analytics.ranges import Range, parse_limit, parse_range
from origin.errors import ErrorKind
from origin.web.auth import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("analytics_api", __name__, url_prefix="/api/v1/analytics")

RANGE_PARAMETERS = {"from", "to", "tz", "interval"}
LIST_PARAMETERS = RANGE_PARAMETERS | {"limit"}


def analytics_client():
    client = current_services().analytics
    if client is None:
        raise AnalyticsError(
            AnalyticsErrorCode.ANALYTICS_UNAVAILABLE, "analytics is not enabled in this process", kind=ErrorKind.UNAVAILABLE
        )
    return client


def read_range(allowed: set[str] = RANGE_PARAMETERS) -> Range:
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise AnalyticsError(
            AnalyticsErrorCode.INVALID_RANGE,
            f"unknown parameter {unknown[0]!r}; use {', '.join(sorted(allowed))}",
            field=unknown[0],
        )
    args = request.args
    return parse_range(args.get("from"), args.get("to"), args.get("tz"), args.get("interval"))


def _reply(tenant, window: Range, **body) -> Response:
    response = jsonify(
        {
            "range": {"from": window.start.isoformat(), "to": window.end.isoformat(), "tz": window.time_zone, "interval": window.interval},
            "currency": tenant.currency,
            **body,
        }
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/summary")
@require_api_tenant
async def summary() -> Response:
    window = read_range()
    return _reply(api_tenant(), window, summary=await queries.summary(analytics_client(), api_tenant().id, window))


@blueprint.get("/timeseries")
@require_api_tenant
async def timeseries() -> Response:
    window = read_range()
    return _reply(api_tenant(), window, series=await queries.timeseries(analytics_client(), api_tenant().id, window))


@blueprint.get("/revenue")
@require_api_tenant
async def revenue() -> Response:
    window = read_range()
    client, tenant_id = analytics_client(), api_tenant().id
    totals = await queries.summary(client, tenant_id, window)
    series = await queries.timeseries(client, tenant_id, window)
    return _reply(
        api_tenant(),
        window,
        revenue=totals["revenue"],
        orders=totals["orders"],
        average_order_value=totals["average_order_value"],
        series=[{key: point[key] for key in ("bucket", "revenue", "orders", "average_order_value")} for point in series],
    )


@blueprint.get("/pages")
@require_api_tenant
async def pages() -> Response:
    window = read_range(LIST_PARAMETERS)
    limit = parse_limit(request.args.get("limit"))
    return _reply(api_tenant(), window, pages=await queries.top_pages(analytics_client(), api_tenant().id, window, limit))


@blueprint.get("/products")
@require_api_tenant
async def products() -> Response:
    window = read_range(LIST_PARAMETERS)
    limit = parse_limit(request.args.get("limit"))
    report = await queries.top_products(analytics_client(), api_tenant().id, window, limit)
    return _reply(api_tenant(), window, products=await with_product_names(current_services(), api_tenant().id, report))


@blueprint.get("/sources")
@require_api_tenant
async def sources() -> Response:
    window = read_range(LIST_PARAMETERS)
    limit = parse_limit(request.args.get("limit"))
    return _reply(api_tenant(), window, **await queries.sources(analytics_client(), api_tenant().id, window, limit))


@blueprint.get("/devices")
@require_api_tenant
async def devices() -> Response:
    window = read_range()
    return _reply(api_tenant(), window, devices=await queries.devices(analytics_client(), api_tenant().id, window))


@blueprint.get("/funnel")
@require_api_tenant
async def funnel() -> Response:
    window = read_range()
    return _reply(api_tenant(), window, funnel=await queries.funnel(analytics_client(), api_tenant().id, window))


@blueprint.post("/dashboard-links")
@require_api_tenant
async def dashboard_link() -> tuple[Response, int]:
    """A link the merchant can open in a browser for 15 minutes (see origin/analytics/links.py)."""
    settings = current_services().settings
    token, expires = sign_link_token(settings.secret_key.reveal(), api_tenant().id)
    response = jsonify({"url": f"/analytics/dashboard?link={token}", "expires_at": expires})
    response.headers["Cache-Control"] = "no-store"
    return response, 201
