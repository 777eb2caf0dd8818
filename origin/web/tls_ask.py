"""GET /tls/ask?domain=<name> on the internal listener: Caddy's on-demand permission hook.

200 lets Caddy obtain or load a certificate; 404 denies; 400 is garbage; 503
means the allow-list is not loaded (Caddy denies on any non-2xx). The answer
comes from the process's in-memory allow-list: no DNS, database or network
call on this path (tls/ask.py).
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from origin.domains.serving import acquire_allow_list, current_allow_list, release_allow_list
from origin.web.context import current_services

blueprint = Blueprint("tls_ask", __name__)


@blueprint.before_app_serving
async def start_allow_list() -> None:
    await acquire_allow_list(current_services())


@blueprint.after_app_serving
async def stop_allow_list() -> None:
    await release_allow_list(current_services())


@blueprint.get("/tls/ask")
async def ask() -> Response:
    allow_list = current_allow_list(current_services())
    if allow_list is None:
        return _plain(503, "the allow-list is not running in this process")
    answer = allow_list.decide(request.args.get("domain"))
    return _plain(answer.status, answer.reason)


def _plain(status: int, text: str) -> Response:
    # Plain text: Caddy reads only the status, and a person reading logs gets the reason.
    return Response(text + "\n", status=status, content_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})
