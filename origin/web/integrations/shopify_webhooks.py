"""POST /webhooks/shopify: signed deliveries from Shopify (no API token: the HMAC is the auth).

The seller endpoints (connection, syncs, settings) are in origin/web/seller/api/shopify.py
under /api/v1; this module is only the intake.

Intake must take thousands of deliveries a second on one core, and a Quart
request context costs more than the intake itself (verify, dedupe, enqueue:
bench/shopify_webhooks.py, docs/benchmarks.md). So a small ASGI layer in front
of Quart (``WebhookFastPath``, installed when the blueprint is registered)
answers ``POST /webhooks/shopify`` from the raw ASGI messages. Both it and the
Quart route below call ``origin.shopify.webhooks.do_accept_webhook`` and answer
with the same statuses and JSON bodies. The fast path leaves to Quart what Quart
answers differently: a host the domain guard refuses (421/410), a declared
``Content-Length`` over the app's limit (413), an app without services yet. A
body that streams in over the limit without declaring it is cut off at the
limit with the same 413.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from quart import Blueprint, Quart, jsonify, request
from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge

from origin.errors import ZellyError
from origin.shopify import webhooks
from origin.web.context import SERVICES_KEY, current_services
from origin.web.storefront.domain_guard import SNI_HEADER, host_refusal
from origin.web.errors import STATUS_BY_KIND

blueprint = Blueprint("shopify", __name__)
log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/shopify"
_SNI = SNI_HEADER.lower()


@blueprint.record_once
def install_fast_path(state) -> None:
    app: Quart = state.app
    app.asgi_app = WebhookFastPath(app, app.asgi_app)  # type: ignore[method-assign]


@blueprint.post(WEBHOOK_PATH)
async def receive_webhook():
    body = await request.get_data(as_text=False)
    intake = await webhooks.do_accept_webhook(current_services(), body, request.headers)
    response = jsonify({"status": intake.status})
    response.headers["Cache-Control"] = "no-store"
    return response


class WebhookFastPath:
    """ASGI: answer POST /webhooks/shopify before Quart builds a request; pass everything else on."""

    def __init__(self, app: Quart, inner: Callable) -> None:
        self.app = app
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] != WEBHOOK_PATH or scope["method"] != "POST":
            await self.inner(scope, receive, send)
            return
        services = self.app.extensions.get(SERVICES_KEY)
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        limit = self.app.config["MAX_CONTENT_LENGTH"]
        if services is None or self._refused(services, scope, headers) or _declared_length(headers) > limit:
            await self.inner(scope, receive, send)  # Quart answers: 500 unwired, 421/410 guard, 413
            return
        body = await _read_body(receive, limit)
        if body is _DISCONNECTED:
            return  # the client left mid-body: nothing to verify, nobody to answer
        if body is None:
            too_large = RequestEntityTooLarge()
            await self._send(send, 413, _error_body("request_entity_too_large", too_large.description))
            return
        try:
            intake = await webhooks.do_accept_webhook(services, body, headers)
        except ZellyError as error:
            details = error.as_dict()
            await self._send(send, STATUS_BY_KIND[error.kind], _error_body(details.pop("code"), details.pop("message"), **details))
            return
        except Exception:
            log.exception("webhook intake failed")
            await self._send(send, 500, _error_body("internal_server_error", InternalServerError.description))
            return
        await self._send(send, 200, {"status": intake.status})

    @staticmethod
    def _refused(services, scope: dict[str, Any], headers: dict[str, str]) -> bool:
        client = scope.get("client")
        return host_refusal(services, headers.get("host", ""), headers.get(_SNI), client[0] if client else None) is not None

    async def _send(self, send: Callable, status: int, body: dict) -> None:
        # Quart's jsonify: the app's JSON provider, compact, with the trailing newline.
        payload = (self.app.json.dumps(body, separators=(",", ":")) + "\n").encode()
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
            ],
        })
        await send({"type": "http.response.body", "body": payload})


def _declared_length(headers: dict[str, str]) -> int:
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:
        return 0  # not a number: the body is read, and bounded, as it arrives


_DISCONNECTED = b"<disconnected>"  # compared by identity, never a real body


async def _read_body(receive: Callable, limit: int) -> bytes | None:
    """The whole body; None once it exceeds ``limit`` bytes; ``_DISCONNECTED`` if the client left first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _DISCONNECTED
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _error_body(code: str, message: str, **extra: object) -> dict:
    return {"error": {"code": code, "message": message, **extra}}
