"""Second layer of the public app: refuse a host this connection must not serve, before any fast path.

- **421 Misdirected Request** when the TLS SNI (sent by Caddy as ``X-Zelly-SNI``)
  names a different host than ``Host``: one store's TLS connection must never
  carry requests for another store. Caddy's ``strict_sni_host`` does the same
  check; this is the origin's own, for any proxy in front. The header is believed
  only from loopback or ``ZELLY_TRUSTED_PROXIES``, since anyone can send it.
- **410 Gone** for a custom domain removed by its store: Caddy keeps a removed
  domain's certificate in memory until it restarts, so the origin refuses the
  host itself (issue 4).

It runs in front of the webhook intake and the cached-page hits, so a warm page
and a cold one get the same refusal (issue 10, item 1). JSON on API paths, the
platform's HTML page elsewhere.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any, Callable

from origin.domains.serving import current_allow_list
from origin.services import Services
from origin.web.asgi.host import HOST_SCOPE_KEY
from origin.web.asgi.responses import ASGIApp, send_refusal
from origin.web.context import SERVICES_KEY
from tls.hostnames import HostnameError, host_from_header

SNI_HEADER = b"x-zelly-sni"
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


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


def host_refusal(services: Services, host: str, sni: bytes | None, remote_addr: str | None) -> tuple[int, str, str, str] | None:
    """(status, code, message, heading) when ``host`` (normal form) must not be served on this connection."""
    if sni and is_trusted_peer(remote_addr, services.settings.trusted_proxies):
        try:
            sni_host = host_from_header(sni)
        except HostnameError:
            sni_host = None
        if sni_host != host:
            return 421, "misdirected_request", "this connection was opened for another host; reconnect to this one", "Misdirected request"
    allow_list = current_allow_list(services)
    if allow_list is not None and allow_list.was_removed(host) and not allow_list.is_allowed(host):
        return 410, "domain_removed", f"{host} is no longer served here", "Gone"
    return None


class DomainGuard:
    def __init__(self, app: ASGIApp, quart_app: Any) -> None:
        self.app = app
        self.extensions = quart_app.extensions  # services appear here at start-up in a served process

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        services = self.extensions.get(SERVICES_KEY)
        if services is not None and scope["type"] == "http":
            sni = None
            for name, value in scope["headers"]:
                if name == SNI_HEADER:
                    sni = value
                    break
            client = scope.get("client")
            refusal = host_refusal(services, scope[HOST_SCOPE_KEY], sni, client[0] if client else None)
            if refusal is not None:
                await send_refusal(scope, send, *refusal)
                return
        await self.app(scope, receive, send)
