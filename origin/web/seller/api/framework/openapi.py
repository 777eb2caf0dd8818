"""``GET /api/v1/openapi.json``: the API described by quart-schema from the routes themselves.

quart-schema's :class:`OpenAPIProvider` reads the models our decorators record
(parsing.json_body, parsing.query_args, responses.responds). We use the
provider without ``QuartSchema.init_app``: that would also wrap the whole app's
``make_response`` and JSON provider, which the storefront's hot path does not
need. Only rules under ``/api/v1/`` are described; the document is built once
per app, after every route is registered.
"""

from __future__ import annotations

from typing import Any, Iterable

from quart import Blueprint, Quart, current_app, jsonify
from quart_schema import Info, QuartSchema, hide
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing.converters import BaseConverter
from werkzeug.routing.rules import Rule

from origin.web.seller.api.framework.responses import ERROR_STATUSES
from origin.web.seller.api.framework.routing import MAX_ID, IdConverter

API_PREFIX = "/api/v1"
DOCUMENT_KEY = "zelly.api.openapi"

blueprint = Blueprint("openapi", __name__)


class ApiV1OpenAPIProvider(OpenAPIProvider):
    def generate_rules(self) -> Iterable[Rule]:
        for rule in super().generate_rules():
            if rule.rule.startswith(API_PREFIX + "/"):
                yield rule

    def build_path_parameter(self, name: str, converter: BaseConverter) -> dict[str, Any]:
        parameter = super().build_path_parameter(name, converter)
        if isinstance(converter, IdConverter):
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        return parameter


def _describe_errors(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) in ERROR_STATUSES:
                    response["description"] = ERROR_STATUSES[int(status)]
    return document


def build_document(app: Quart) -> dict[str, Any]:
    extension = QuartSchema(
        openapi_path=None,
        info=Info(
            title="Zelly seller catalog API",
            version="1",
            description=(
                "Products (with variants and images), collections, collection membership and order, inventory, "
                "custom domains. "
                "Authenticate with `Authorization: Bearer <API token>`. Prices are decimal strings in the store's "
                "currency (`currency`). Lists are paged with `limit` and the opaque `cursor` from `next_cursor`. "
                "Send `Idempotency-Key` on POST to make a retry safe."
            ),
        ),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
    )
    for name, value in (("QUART_SCHEMA_CONVERT_CASING", False), ("QUART_SCHEMA_CONVERSION_PREFERENCE", "pydantic")):
        app.config.setdefault(name, value)
    return _describe_errors(ApiV1OpenAPIProvider(app, extension).schema())


@blueprint.get("/openapi.json")
@hide
async def openapi_document():
    document = current_app.extensions.get(DOCUMENT_KEY)
    if document is None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]  # the provider keeps a weakref
        document = app.extensions[DOCUMENT_KEY] = build_document(app)
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
