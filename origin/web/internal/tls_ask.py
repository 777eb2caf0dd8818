"""GET /tls/ask?domain=<name> on the internal listener: Caddy's on-demand permission hook.

200 lets Caddy obtain or load a certificate; 404 denies; 400 is garbage; 503
means the allow-list is not loaded (Caddy denies on any non-2xx). The answer
comes from the process's in-memory allow-list: no DNS, database or network
call on this path (tls/ask.py).

The hook sits on the TLS handshake of every name Caddy has not cached, so a
scanner's flood of random SNI names lands here. It is answered by a small ASGI
layer in front of Quart (``AskFastPath``): a Quart request context costs about
ten times the decision itself (bench/tls_ask.py, docs/benchmarks.md). The Quart
route below gives the same answers to the test client and to anything that
calls the app without going through ASGI.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from quart import Blueprint, Quart, Response, request

from origin.domains.serving import acquire_allow_list, current_allow_list, release_allow_list
from origin.web.context import SERVICES_KEY, current_services
from tls.ask import Answer

blueprint = Blueprint("tls_ask", __name__)

ASK_PATH = "/tls/ask"
_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]


@blueprint.record_once
def install_fast_path(state) -> None:
    app: Quart = state.app
    app.asgi_app = AskFastPath(app, app.asgi_app)  # type: ignore[method-assign]


def keep_allow_list_running(owner: Blueprint) -> None:
    """Hold the process's allow-list while the app registering ``owner`` serves (shared, refcounted)."""

    @owner.before_app_serving
    async def start_allow_list() -> None:
        await acquire_allow_list(current_services())

    @owner.after_app_serving
    async def stop_allow_list() -> None:
        await release_allow_list(current_services())


keep_allow_list_running(blueprint)


@blueprint.get(ASK_PATH)
async def ask() -> Response:
    status, text = _answer(current_allow_list(current_services()), request.args.get("domain"))
    return Response(text, status=status, content_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})


class AskFastPath:
    """ASGI: answer GET /tls/ask before Quart builds a request; pass everything else on."""

    def __init__(self, app: Quart, inner) -> None:
        self.app = app
        self.inner = inner

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != ASK_PATH or scope["method"] not in ("GET", "HEAD"):
            await self.inner(scope, receive, send)
            return
        services = self.app.extensions.get(SERVICES_KEY)
        allow_list = current_allow_list(services) if services is not None else None
        values = parse_qs(scope["query_string"].decode("latin-1"), keep_blank_values=True).get("domain")
        status, text = _answer(allow_list, values[0] if values else None)
        body = text.encode() if scope["method"] == "GET" else b""
        headers = [*_HEADERS, (b"content-length", str(len(text.encode())).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _answer(allow_list, domain: str | None) -> tuple[int, str]:
    if allow_list is None:
        return 503, "the allow-list is not running in this process\n"
    answer: Answer = allow_list.decide(domain)
    # Plain text: Caddy reads only the status; a person reading logs gets the reason.
    return answer.status, answer.reason + "\n"
