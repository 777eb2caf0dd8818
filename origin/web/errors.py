"""The one place domain errors become HTTP statuses and responses.

:func:`status_for` is the one map from a domain error to its status: the API's
problem bodies, the webhook intake, the analytics dashboard and the storefront's
themed pages all ask it (``STATUS_BY_KIND`` is its table). Pages differ from the
API in one place only: a browser gets 400, not 422, for input it sent wrong
(a form, an address), since 422 reads as a server fault to people and crawlers.

API paths (``/api/``, ``/events``, ``/webhooks/``, ``/tls/``, ``/internal/``)
get JSON; storefront paths get the themed HTML error page the storefront
blueprint registers (see origin/web/storefront/pages.py), or a plain fallback.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from quart import Quart, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from origin.db.faults import is_database_unavailable
from origin.errors import ErrorKind, ZellyError
from origin.web.rate_limits import RateLimited

log = logging.getLogger(__name__)

STATUS_BY_KIND = {
    ErrorKind.INVALID: 422,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.UNAVAILABLE: 503,
}

# What a page answers for an INVALID error; every other kind keeps the API's status.
PAGE_STATUS_BY_KIND = {**STATUS_BY_KIND, ErrorKind.INVALID: 400}


def status_for(error: ZellyError, *, page: bool = False) -> int:
    """The HTTP status of a domain error: the API's by default, a page's with ``page=True``."""
    return (PAGE_STATUS_BY_KIND if page else STATUS_BY_KIND)[error.kind]


JSON_PREFIXES = ("/api/", "/events", "/webhooks/", "/tls/", "/internal/", "/healthz")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES)


RETRY_AFTER_SECONDS = 5  # what a 503 tells a client (Shopify, the beacon, an API caller) to wait


def json_error(status: int, code: str, message: str, **extra: object) -> Response:
    response = jsonify({"error": {"code": code, "message": message, **extra}})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(ZellyError)
    async def domain_error(error: ZellyError) -> Response:
        status = status_for(error)
        body = error.as_dict()
        return json_error(status, body.pop("code"), body.pop("message"), **body)

    @app.errorhandler(RateLimited)
    async def rate_limited(error: RateLimited) -> Response:
        if wants_json():
            response = json_error(429, "rate_limited", error.message)
        else:  # a page (the cart): plain text, nothing to render for a client that is flooding
            response = Response(f"Too many requests; try again in {error.decision.retry_after_seconds} seconds.\n",
                                status=429, content_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})
        for name, value in error.decision.headers():
            response.headers[name] = value
        return response

    @app.errorhandler(sa.exc.SQLAlchemyError)
    async def database_error(error: sa.exc.SQLAlchemyError) -> Response:
        # A lost or refused connection is the database's moment, not a bug: 503 with Retry-After,
        # which Shopify, the beacon and API callers retry and the edge answers from a stale copy.
        if not is_database_unavailable(error):
            raise error
        log.warning("database unavailable during %s %s: %s", request.method, request.path, str(error.orig if isinstance(error, sa.exc.DBAPIError) else error).splitlines()[0][:200])
        if wants_json():
            return json_error(503, "database_unavailable", "The database is briefly unavailable; retry in a few seconds.")
        response = Response("This shop is briefly unavailable. Please try again in a few seconds.\n", status=503, content_type="text/plain; charset=utf-8")
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        response = json_error(status, code, error.description or error.name or "error")
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response
