"""``POST /webhooks/shopify``: signed deliveries from Shopify (no API token: the HMAC is the auth).

The one implementation of the intake (issue 10, item 2): there is no Quart
route behind it. Intake must take thousands of deliveries a second on one
core, and a Quart request context costs more than the intake itself (verify,
dedupe, enqueue: bench/shopify_webhooks.py, docs/benchmarks.md), so this layer
answers from the raw ASGI messages, with the statuses and JSON bodies a Quart
handler would give:

- 200 ``{"status": "accepted" | "duplicate" | "ignored"}``; a domain error as
  the API maps it (401 bad signature, 422 bad webhook...); 500 on a crash;
- 413 for a declared ``Content-Length`` over the app's ``MAX_CONTENT_LENGTH``,
  and for a body that streams in over it (cut off at the limit);
- 503 while the app has no services yet;
- 405 with ``Allow`` for another method (200 to ``OPTIONS``), as Quart would.

421/410 refusals are answered by the guard in front (domain_guard.py). The
seller endpoints (connection, syncs, settings) are in
origin/web/seller/api/shopify.py under /api/v1.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from werkzeug.exceptions import InternalServerError, RequestEntityTooLarge, ServiceUnavailable

from origin.errors import ZellyError
from origin.numbers import parse_bounded_int
from origin.ratelimit import RateLimited
from origin.shopify import webhooks
from origin.web.asgi.responses import DISCONNECTED, ASGIApp, read_body, send_json, send_json_error, send_method_not_allowed
from origin.web.context import SERVICES_KEY
from origin.web.errors import RETRY_AFTER_SECONDS, STATUS_BY_KIND
from origin.web.rate_limits import limit_webhook

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/shopify"
ALLOWED_METHODS = "POST, OPTIONS"


class WebhookIntake:
    def __init__(self, app: ASGIApp, quart_app: Any) -> None:
        self.app = app
        self.quart_app = quart_app

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] != WEBHOOK_PATH:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await send_method_not_allowed(scope, send, ALLOWED_METHODS)
            return
        services = self.quart_app.extensions.get(SERVICES_KEY)
        if services is None:
            await send_json_error(send, 503, "service_unavailable", ServiceUnavailable.description,
                                  [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())])
            return
        # Per address, before the body is read or anything looked up; per tenant inside do_accept_webhook,
        # once the HMAC matched (a forged shop header must not spend a real shop's budget).
        decision = await limit_webhook(scope, services)
        if not decision.allowed:
            await _send_rate_limited(send, RateLimited(decision))
            return
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        limit = self.quart_app.config["MAX_CONTENT_LENGTH"]
        body = None if _declared_length(headers) > limit else await read_body(receive, limit)
        if body is DISCONNECTED:
            return  # the client left mid-body: nothing to verify, nobody to answer
        if body is None:
            await send_json_error(send, 413, "request_entity_too_large", RequestEntityTooLarge.description)
            return
        try:
            intake = await webhooks.do_accept_webhook(services, body, headers)
        except RateLimited as refused:
            await _send_rate_limited(send, refused)
            return
        except ZellyError as error:
            details = error.as_dict()
            status = STATUS_BY_KIND[error.kind]
            # Shopify retries a 503; Retry-After says when (a full queue, Redis away: issue 12, item 2).
            headers = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())] if status == 503 else []
            await send_json_error(send, status, details.pop("code"), details.pop("message"), headers, **details)
            return
        except Exception:
            log.exception("webhook intake failed")
            await send_json_error(send, 500, "internal_server_error", InternalServerError.description)
            return
        await send_json(send, 200, {"status": intake.status})


async def _send_rate_limited(send: Callable, refused: RateLimited) -> None:
    """429 with ``Retry-After`` (Shopify retries it) and the ``RateLimit-*`` headers."""
    await send_json_error(send, 429, "rate_limited", refused.message,
                          [(name.lower().encode(), value.encode()) for name, value in refused.decision.headers()])


def _declared_length(headers: dict[str, str]) -> int:
    # ASCII digits only: int() would take '٣' or ' 1_0 '; anything else is read, and bounded, as it arrives.
    return parse_bounded_int(headers.get("content-length", "").strip()) or 0
