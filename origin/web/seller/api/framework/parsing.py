"""Reading what a client sent: the JSON body and the query string, validated by pydantic models.

The body is parsed here rather than by quart-schema's ``validate_request`` so
each failure gets its own status: 415 for a body that is not JSON, 400 for JSON
that does not parse, 422 (with every offending field path) for JSON of the
wrong shape. Numbers are parsed as ``Decimal`` so ``19.99`` stays exactly
19.99, and ``NaN``/``Infinity`` (not JSON) are refused.

The decorators record their model where quart-schema's OpenAPI builder looks
for it, so the document always describes what the handler really accepts.
"""

from __future__ import annotations

import contextlib
import functools
from decimal import Decimal
from typing import Any, Callable, Iterator

from pydantic import BaseModel, ValidationError
from quart import g, request
from quart_schema.validation import QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, QUART_SCHEMA_REQUEST_ATTRIBUTE, DataSource

from origin.errors import ZellyError
from origin.json_input import JsonInputError, parse_json_document
from origin.web.seller.api.framework.problems import ApiRequestError, ApiValidationError, FieldProblem, pydantic_problems
from origin.web.seller.api.schemas.common import CURRENCY_DIGITS


MAX_API_BODY_BYTES = 2 * 1024 * 1024  # the app's MAX_CONTENT_LENGTH (origin/app.py): Quart refuses more with a 413 first


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes) -> Any:
    try:
        return parse_json_document(raw, max_bytes=MAX_API_BODY_BYTES, parse_float=Decimal, parse_constant=_refuse_constant)
    except JsonInputError as error:
        raise ApiRequestError(400, "malformed_json", error.message) from None


def is_json_mimetype(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


async def read_json_body() -> Any:
    if not is_json_mimetype(request.mimetype):
        raise ApiRequestError(
            415, "unsupported_media_type", "send the body as JSON with 'Content-Type: application/json'"
        )
    return parse_json(await request.get_data(as_text=False))


def validate_model(model: type[BaseModel], data: Any, prefix: str = "") -> BaseModel:
    # Prices are checked against the authenticated store's currency (JPY has no minor units).
    tenant = g.get("api_tenant")
    context = {CURRENCY_DIGITS: tenant.currency_digits} if tenant is not None else {}
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise ApiValidationError(pydantic_problems(error, prefix)) from None


def json_body(model: type[BaseModel]) -> Callable:
    """Decorator: pass the validated body to the handler as ``data``."""

    def decorator(handler: Callable) -> Callable:
        setattr(handler, QUART_SCHEMA_REQUEST_ATTRIBUTE, (model, DataSource.JSON))

        @functools.wraps(handler)
        async def wrapper(*args, **kwargs):
            data = validate_model(model, await read_json_body())
            return await handler(*args, data=data, **kwargs)

        return wrapper

    return decorator


def query_args(model: type[BaseModel]) -> Callable:
    """Decorator: pass the validated query string to the handler as ``query``.

    A parameter sent twice is refused rather than silently taking one of the values.
    """

    def decorator(handler: Callable) -> Callable:
        setattr(handler, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, model)

        @functools.wraps(handler)
        async def wrapper(*args, **kwargs):
            repeated = [key for key in request.args if len(request.args.getlist(key)) > 1]
            if repeated:
                raise ApiValidationError(FieldProblem(key, "repeated", "send this parameter once") for key in repeated)
            query = validate_model(model, request.args.to_dict())
            return await handler(*args, query=query, **kwargs)

        return wrapper

    return decorator


def sent_changes(changes: BaseModel, nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """PATCH semantics: the keys the client sent, nothing else; null only where null clears a value."""
    sent = changes.model_dump(exclude_unset=True)
    nulls = [name for name, value in sent.items() if value is None and name not in nullable]
    if nulls:
        raise ApiValidationError(
            FieldProblem(name, "null_not_allowed", "must not be null; leave the key out to keep the current value")
            for name in nulls
        )
    return sent


@contextlib.contextmanager
def fields_renamed(renames: dict[str, str]) -> Iterator[None]:
    """Report a domain error's field under the name the client sent.

    Single-item actions name their fields from their own point of view
    (``variant.price``, ``image.url``); the API's body *is* that item, so the
    client sent ``price``. ``renames`` maps a prefix or a whole name to the API's.
    """
    try:
        yield
    except ZellyError as error:
        for old, new in renames.items():
            if error.field == old or (error.field or "").startswith(old + "."):
                error.field = (new + error.field[len(old):]).lstrip(".") or None
                break
        raise
