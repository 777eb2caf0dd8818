"""The ``/api/v1`` parent blueprint: host guard, error rendering, and the resource blueprints.

Register ``blueprint`` in origin/app.py ``PUBLIC_BLUEPRINTS``. Errors raised
inside API handlers are rendered here in the API's shape (problems.py);
routing errors (unknown path: 404, wrong method: 405 with ``Allow``) are
rendered by the app's handlers in origin/web/errors.py, which answer JSON for
every ``/api/`` path.
"""

from __future__ import annotations

from quart import Blueprint, request
from werkzeug.exceptions import NotFound

from origin.errors import ZellyError
from origin.web.seller.api import (
    analytics, checkout_rules, collections, domains, email, inventory, orders, products, reference, shopify, theme, variants,
)
from origin.web.seller.api.framework import openapi
from origin.web.asgi.host import request_host
from origin.web.seller.api.framework.hosts import is_api_host
from origin.web.seller.api.framework.openapi import API_PREFIX
from origin.web.seller.api.framework.problems import ApiRequestError, ApiValidationError, render_api_error
from origin.web.seller.api.framework.routing import CONVERTERS
from origin.web.context import current_services
from origin.web.rate_limits import add_rate_limit_headers, limit_api_address
from origin.web.security_headers import API_POLICY, with_security_headers

blueprint = Blueprint("api_v1", __name__, url_prefix=API_PREFIX)
# Converters must be in the app's URL map before the child blueprints add their rules.
blueprint.record_once(lambda state: state.app.url_map.converters.update(CONVERTERS))

for child in (
    openapi.blueprint,
    reference.blueprint,
    products.blueprint,
    variants.blueprint,
    collections.blueprint,
    inventory.blueprint,
    theme.blueprint,
    domains.blueprint,
    analytics.blueprint,
    shopify.blueprint,
    email.blueprint,
    orders.blueprint,
    checkout_rules.blueprint,
):
    blueprint.register_blueprint(child)


@blueprint.after_request
async def security_headers(response):
    return with_security_headers(response, API_POLICY)


@blueprint.before_request
async def only_on_the_platform_host() -> None:
    # Before authentication: a storefront host answers like any unknown path and never reads a token.
    if not is_api_host(request_host(request.scope), current_services().settings.platform_domain):
        raise NotFound()
    await limit_api_address()  # before the token is read: guessing tokens costs the guesser's budget


blueprint.after_request(add_rate_limit_headers)


@blueprint.errorhandler(ZellyError)
@blueprint.errorhandler(ApiValidationError)
@blueprint.errorhandler(ApiRequestError)
async def api_error(error: Exception):
    return render_api_error(error)
