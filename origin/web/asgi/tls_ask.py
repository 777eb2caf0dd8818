"""``GET /tls/ask?domain=<name>`` on the internal listener: Caddy's on-demand permission hook.

200 lets Caddy obtain or load a certificate; 404 denies; 400 is garbage; 503
means the allow-list is not loaded, or the app has no services yet (Caddy
denies on any non-2xx). The answer comes from the process's in-memory
allow-list: no DNS, database or network call on this path (tls/ask.py).

The hook sits on the TLS handshake of every name Caddy has not cached, so a
scanner's flood of random SNI names lands here. A Quart request context costs
about ten times the decision itself (bench/tls_ask.py, docs/benchmarks.md), so
this layer is the one implementation (issue 10, item 2): there is no Quart
route behind it. Another method gets Quart's 405 JSON with ``Allow`` (200 to
``OPTIONS``). Plain-text bodies: Caddy reads only the status; a person reading
logs gets the reason.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qs

from origin.domains.serving import current_allow_list
from origin.web.asgi.responses import NO_STORE, TEXT, ASGIApp, send_body, send_method_not_allowed
from origin.web.context import SERVICES_KEY
from tls.ask import AllowList

ASK_PATH = "/tls/ask"
ALLOWED_METHODS = "OPTIONS, GET, HEAD"


class AskHook:
    def __init__(self, app: ASGIApp, quart_app: Any) -> None:
        self.app = app
        self.quart_app = quart_app

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] != ASK_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await send_method_not_allowed(scope, send, ALLOWED_METHODS)
            return
        services = self.quart_app.extensions.get(SERVICES_KEY)
        allow_list = current_allow_list(services) if services is not None else None
        values = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True).get("domain")
        status, text = answer(allow_list, values[0] if values else None)
        await send_body(send, status, text.encode(), TEXT, [NO_STORE], is_head=scope["method"] == "HEAD")


def answer(allow_list: AllowList | None, domain: str | None) -> tuple[int, str]:
    if allow_list is None:
        return 503, "the allow-list is not running in this process\n"
    decided = allow_list.decide(domain)
    return decided.status, decided.reason + "\n"
