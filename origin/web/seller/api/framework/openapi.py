"""``GET /api/v1/openapi.json``: the API described by quart-schema from the routes themselves.

Every operation carries one tag, the area its blueprint serves (``TAGS``: a
blueprint missing from it fails the build, so a new resource cannot slip in
untagged), and the document names its ``servers``: the platform host and
``api.<platform host>`` at the public scheme and port (framework/hosts.py).
The reference page that renders it is reference.py.

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
from quart_schema.openapi import OpenAPIProvider, Server, Tag
from werkzeug.routing.converters import BaseConverter
from werkzeug.routing.rules import Rule

from origin.settings import Settings
from origin.web.context import current_services
from origin.tenancy.resolution import public_base_url
from origin.web.seller.api.framework.hosts import api_hosts
from origin.web.seller.api.framework.responses import ERROR_STATUSES
from origin.web.seller.api.framework.routing import MAX_ID, IdConverter

API_PREFIX = "/api/v1"
DOCUMENT_KEY = "zelly.api.openapi"

blueprint = Blueprint("openapi", __name__)

# Tag name and description, in the order the reference shows them.
TAG_DESCRIPTIONS = {
    "catalog": "Products with their variants and images, collections and their members, inventory.",
    "orders": "Orders placed in the storefront or imported from Shopify: read, cancel, fulfil, refund, mark paid.",
    "checkout rules": "Shipping rates, tax rates and discount codes the storefront's checkout applies.",
    "domains": "Custom domains: add, verify over DNS, make primary, remove (docs/custom-domains.md).",
    "theme": "The store's theme: template overrides, their problems, and the storefront's UI strings.",
    "emails": "Transactional email: per-store templates and the outbox (sent, failed, retry).",
    "analytics": "Traffic and sales reports from the store's events, and links to the dashboard.",
    "shopify": "The Shopify connection, catalog syncs and settings push/fetch.",
}
# Each resource blueprint (its endpoint prefix under api_v1) and its tag.
TAGS = {
    "products": "catalog",
    "variants": "catalog",
    "collections": "catalog",
    "inventory": "catalog",
    "orders": "orders",
    "checkout_rules": "checkout rules",
    "domains": "domains",
    "theme_api": "theme",
    "email_api": "emails",
    "analytics": "analytics",
    "shopify_api": "shopify",
}


class ApiV1OpenAPIProvider(OpenAPIProvider):
    def generate_rules(self) -> Iterable[Rule]:
        for rule in super().generate_rules():
            if rule.rule.startswith(API_PREFIX + "/"):
                yield rule

    def build_paths(self, rule: Rule) -> tuple[dict, dict]:
        paths, components = super().build_paths(rule)
        # "api_v1.<resource blueprint>.<view>": the resource names the tag.
        resource = rule.endpoint.split(".")[1]
        if resource not in TAGS:
            raise LookupError(f"{rule.endpoint}: add its blueprint {resource!r} to openapi.TAGS")
        for operations in paths.values():
            for operation in operations.values():
                operation["tags"] = [TAGS[resource]]
        return paths, components

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


def api_servers(settings: Settings) -> list[Server]:
    """Where the API answers, as a client outside this machine reaches it (Caddy's scheme and port)."""
    platform, api = sorted(api_hosts(settings.platform_domain), key=len)
    return [
        Server(url=public_base_url(settings, platform), description="the platform host"),
        Server(url=public_base_url(settings, api), description="the API's own name on the platform host"),
    ]


def build_document(app: Quart, settings: Settings) -> dict[str, Any]:
    extension = QuartSchema(
        openapi_path=None,
        info=Info(
            title="Zelly seller API",
            version="1",
            description=(
                "The seller API of a Zelly store: its catalog, orders, checkout rules, custom domains, theme, "
                "email, analytics and Shopify connection. "
                "Authenticate with `Authorization: Bearer <API token>`. Prices are decimal strings in the store's "
                "currency (`currency`). Lists are paged with `limit` and the opaque `cursor` from `next_cursor`. "
                "Send `Idempotency-Key` on POST to make a retry safe."
            ),
        ),
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
        tags=[Tag(name=name, description=text) for name, text in TAG_DESCRIPTIONS.items()],
        servers=api_servers(settings),
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
        document = app.extensions[DOCUMENT_KEY] = build_document(app, current_services().settings)
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
