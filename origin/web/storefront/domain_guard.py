"""Custom-domain guards on the public app, and a probe that says which store a host serves.

- **421 Misdirected Request** when the TLS SNI (sent by Caddy as ``X-Zelly-SNI``)
  names a different host than ``Host``: one store's TLS connection must never
  carry requests for another store. Caddy's ``strict_sni_host`` does the same
  check; this is the origin's own, for any proxy in front. The header is believed
  only from loopback or ``ZELLY_TRUSTED_PROXIES``, since anyone can send it.
- **410 Gone** for a custom domain removed by its store: Caddy keeps a removed
  domain's certificate in memory until it restarts, so the origin refuses the
  host itself (issue 4).
- ``GET /.well-known/zelly/domain``: JSON naming the store this host serves (or
  404): for merchants checking their DNS, for operators, and for the TLS tests.
"""

from __future__ import annotations

import functools
import ipaddress

from quart import Blueprint, Response, jsonify, request

from origin.domains.serving import current_allow_list
from origin.tenancy import queries as tenancy_queries
from origin.web.context import current_services
from origin.web.errors import json_error, wants_json
from origin.web.internal.tls_ask import keep_allow_list_running
from tls.hostnames import HostnameError, normalize_hostname, platform_subdomain_slug

blueprint = Blueprint("domain_guard", __name__)

SNI_HEADER = "X-Zelly-SNI"
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


keep_allow_list_running(blueprint)


@functools.lru_cache(maxsize=8)
def _trusted_networks(trusted_proxies: tuple[str, ...]) -> tuple:
    networks = list(LOOPBACK_NETWORKS)
    for entry in trusted_proxies:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def is_trusted_peer(remote_addr: str | None, trusted_proxies: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address((remote_addr or "").strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in _trusted_networks(trusted_proxies))


# Every public request passes here: a Host seen before costs one dict lookup (errors are not cached).
_normal_host = functools.lru_cache(maxsize=8192)(normalize_hostname)


@blueprint.before_app_request
async def guard_custom_domains() -> Response | None:
    refusal = host_refusal(current_services(), request.host, request.headers.get(SNI_HEADER), request.remote_addr)
    return _refuse(*refusal) if refusal else None


def host_refusal(services, raw_host: str, sni: str | None, remote_addr: str | None) -> tuple[int, str, str] | None:
    """(status, code, message) when this host must not be served on this connection; None otherwise.

    Also asked by the ASGI fast paths in front of Quart (origin/web/integrations/shopify_webhooks.py),
    which leave a refused request to Quart so it is answered here.
    """
    try:
        host = _normal_host(raw_host)
    except HostnameError:
        return None  # the storefront answers a malformed Host with its own 400
    if sni and is_trusted_peer(remote_addr, services.settings.trusted_proxies):
        try:
            sni_host = _normal_host(sni)
        except HostnameError:
            sni_host = None
        if sni_host != host:
            return 421, "misdirected_request", "this connection was opened for another host; reconnect to this one"
    allow_list = current_allow_list(services)
    if allow_list is not None and allow_list.was_removed(host) and not allow_list.is_allowed(host):
        return 410, "domain_removed", f"{host} is no longer served here"
    return None


@blueprint.get("/.well-known/zelly/domain")
async def which_store() -> Response:
    services = current_services()
    try:
        host = normalize_hostname(request.host)
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


def _refuse(status: int, code: str, message: str) -> Response:
    if wants_json() or request.path.startswith("/.well-known/zelly/"):
        return json_error(status, code, message)
    return Response(
        f"<!doctype html><title>{status}</title><h1>{message}</h1>\n",
        status=status,
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )
