"""``GET /.well-known/zelly/domain``: JSON naming the store this host serves (or 404).

For merchants checking their DNS, for operators, and for the TLS tests. The
custom-domain guards themselves (421 crossed SNI, 410 removed domain) are the
ASGI layer origin/web/asgi/domain_guard.py, in front of every fast path.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request

from origin.tenancy import queries as tenancy_queries
from origin.web.asgi.host import request_host
from origin.web.context import current_services
from origin.web.errors import json_error
from tls.hostnames import HostnameError, normalize_hostname, platform_subdomain_slug

blueprint = Blueprint("domain_probe", __name__)


@blueprint.get("/.well-known/zelly/domain")
async def which_store() -> Response:
    services = current_services()
    try:
        host = normalize_hostname(request_host(request.scope))  # a DNS name: an IP literal is a 400 here
    except HostnameError as error:
        return json_error(400, error.code, error.problem)
    async with services.db.connect() as conn:
        tenant = await tenancy_queries.select_tenant_by_active_domain(conn, host)
        kind = "custom_domain"
        if tenant is None:
            slug = platform_subdomain_slug(host, services.settings.platform_domain)
            tenant = await tenancy_queries.select_tenant_by_slug(conn, slug) if slug else None
            kind = "platform_subdomain"
    if tenant is None or not tenant.is_active:
        return json_error(404, "unknown_host", f"{host} is not a store on this platform")
    response = jsonify({"hostname": host, "kind": kind, "store": tenant.slug})
    response.headers["Cache-Control"] = "no-store"
    return response
