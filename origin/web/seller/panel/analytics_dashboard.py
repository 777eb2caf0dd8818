"""The merchant's analytics page: server-rendered HTML with SVG charts (issue 7, item 5).

``GET /analytics/dashboard?link=<signed>`` in a browser, with a 15-minute link
from ``POST /api/v1/analytics/dashboard-links`` (bearer token) or ``zelly
analytics dashboard-link`` (origin/analytics/links.py). Range parameters
(``from``, ``to``, ``tz``, ``interval``) as in the seller API.

Only on the platform's own hosts (the seller API's, framework/hosts.py): on a
store's host the page does not exist (404), so a link never runs under an
origin a merchant's content shares. ``store=<slug>`` names the tenant; a link
signed for another tenant is refused (401).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from quart import Blueprint, Response, request

from origin.analytics import queries
from origin.analytics.catalog_names import with_product_names
from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.analytics.links import verify_link_token
from origin.analytics.ranges import Range, parse_range
from origin.errors import ErrorKind
from origin.tenancy.models import Tenant
from origin.tenancy.queries import select_tenant
from origin.web.asgi.host import request_host
from origin.web.seller.api.framework.hosts import is_api_host
from origin.web.seller.panel.analytics_charts import bar_list, line_chart
from origin.web.context import current_services
from origin.web.errors import RETRY_AFTER_SECONDS, status_for
from origin.web.security_headers import DASHBOARD_POLICY, with_security_headers

blueprint = Blueprint("analytics_dashboard", __name__)


@blueprint.after_request
async def security_headers(response: Response) -> Response:
    return with_security_headers(response, DASHBOARD_POLICY)

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "analytics"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

PARAMETERS = {"store", "link", "from", "to", "tz", "interval"}


def read_range() -> Range:
    unknown = sorted(set(request.args) - PARAMETERS)
    if unknown:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_RANGE, f"unknown parameter {unknown[0]!r}", field=unknown[0])
    args = request.args
    return parse_range(args.get("from"), args.get("to"), args.get("tz"), args.get("interval"))


@blueprint.get("/analytics/dashboard")
async def dashboard_by_link() -> Response:
    try:
        services = current_services()
        if not is_api_host(request_host(request.scope), services.settings.platform_domain):
            raise AnalyticsError(
                AnalyticsErrorCode.INVALID_LINK, "the analytics dashboard opens on the platform's own host, not a store's",
                kind=ErrorKind.NOT_FOUND,
            )
        tenant_id = verify_link_token(services.keyring, request.args.get("link", ""))
        async with services.db.connect() as conn:
            tenant = await select_tenant(conn, tenant_id)
        window = read_range()
        if tenant is None:
            raise AnalyticsError(AnalyticsErrorCode.INVALID_LINK, "this store no longer exists", kind=ErrorKind.NOT_FOUND)
        if request.args.get("store") != tenant.slug:
            raise AnalyticsError(
                AnalyticsErrorCode.INVALID_LINK, "this dashboard link is for another store; ask for a new one",
                kind=ErrorKind.UNAUTHORIZED,
            )
        return await _render(tenant, window, link=request.args["link"])
    except AnalyticsError as error:
        page = _templates.get_template("error.html").render(message=error.message)
        status = status_for(error)
        headers = {"Cache-Control": "no-store"}
        if status == 503:  # ClickHouse away (origin/analytics/engine.py): the merchant reloads later
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return Response(page, status=status, content_type="text/html; charset=utf-8", headers=headers)


async def _render(tenant: Tenant, window: Range, link: str | None = None) -> Response:
    client = current_services().analytics
    if client is None:
        raise AnalyticsError(
            AnalyticsErrorCode.ANALYTICS_UNAVAILABLE, "analytics is not enabled in this process", kind=ErrorKind.UNAVAILABLE
        )
    totals = await queries.summary(client, tenant.id, window)
    series = await queries.timeseries(client, tenant.id, window)
    funnel = await queries.funnel(client, tenant.id, window)
    products = await with_product_names(current_services(), tenant.id, await queries.top_products(client, tenant.id, window, 10))
    pages = await queries.top_pages(client, tenant.id, window, 10)
    sources = await queries.sources(client, tenant.id, window, 10)
    devices = await queries.devices(client, tenant.id, window)
    labels = [point["bucket"][:10] if window.interval == "day" else point["bucket"][5:16].replace("T", " ") for point in series]
    charts = {
        "visitors": line_chart(labels, [point["visitors"] for point in series], title="Visitors"),
        "revenue": line_chart(labels, [float(point["revenue"]) for point in series], title=f"Revenue ({tenant.currency})"),
        "funnel": bar_list(
            [(step["step"].replace("_", " "), step["sessions"], f'{step["sessions"]} · {step["conversion_from_start"]:.1%}') for step in funnel],
            title="Funnel",
        ),
        "products": bar_list(
            [(p["title"] or f'product {p["product_id"]}', p["views"], f'{p["views"]} views · {p["purchases"]} orders · {p["revenue"]}') for p in products],
            title="Top products",
        ),
        "pages": bar_list([(p["path"], p["page_views"], str(p["page_views"])) for p in pages], title="Top pages"),
        "sources": bar_list([(s["referrer"], s["sessions"], str(s["sessions"])) for s in sources["referrers"]], title="Sources"),
        "devices": bar_list([(d["device"], d["sessions"], str(d["sessions"])) for d in devices], title="Devices"),
    }
    page = _templates.get_template("dashboard.html").render(
        tenant=tenant, window=window, totals=totals, charts=charts, utm=sources["utm"], link=link
    )
    return Response(page, content_type="text/html; charset=utf-8", headers={"Cache-Control": "private, no-store"})
