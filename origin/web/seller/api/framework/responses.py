"""Writing responses: pydantic models serialized once, and documented for OpenAPI.

``responds(status, Model)`` records the model where quart-schema's OpenAPI
builder looks for it; the handler returns ``json_response(instance, status)``.
Building the instance validates it, so what the document promises is what goes
out. API responses are per-tenant and authenticated: never stored by a shared cache.
"""

from __future__ import annotations

from typing import Callable

from pydantic import BaseModel
from quart import Response
from quart_schema.validation import QUART_SCHEMA_RESPONSE_ATTRIBUTE

from origin.web.seller.api.schemas.common import ErrorBody

ERROR_STATUSES = {
    400: "the body is not valid JSON",
    401: "missing, malformed or revoked API token",
    403: "the store is suspended",
    404: "no such resource in this store",
    409: "conflicts with existing data, or an Idempotency-Key reused with another body",
    415: "the body is not application/json",
    422: "validation failed; `fields` lists every offending path",
    429: "a rate limit is spent (per address, token or store): wait `Retry-After` seconds; `RateLimit-*` say how much is left",
    503: "a service this needs is unavailable: analytics not running in this process, the task queue, or Shopify",
}


def json_response(body: BaseModel, status: int = 200) -> Response:
    response = Response(body.model_dump_json(), status=status, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def responds(status: int, model: type[BaseModel], *, errors: tuple[int, ...] = (401, 403, 404, 422)) -> Callable:
    """Decorator: document the success response and the error statuses the handler can return."""

    def decorator(handler: Callable) -> Callable:
        documented = dict(getattr(handler, QUART_SCHEMA_RESPONSE_ATTRIBUTE, {}))
        documented[status] = (model, None)
        for error_status in (*errors, 429):  # every API request is charged to its rate limits
            documented.setdefault(error_status, (ErrorBody, None))
        setattr(handler, QUART_SCHEMA_RESPONSE_ATTRIBUTE, documented)
        return handler

    return decorator
