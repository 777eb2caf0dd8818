"""Seller API for theme templates, ``/api/v1/theme/`` on the platform host.

    GET    /api/v1/theme/templates          names and update times of the overrides
    PUT    /api/v1/theme/templates/<name>   {"source": "..."}: 422 names the line of a syntax error
    DELETE /api/v1/theme/templates/<name>   back to the default template
    GET    /api/v1/theme/problems           overrides that failed while rendering (this process)

Same host rule, authentication and error shape as the catalog API (origin/web/api).
"""

from __future__ import annotations

from quart import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import NotFound

from origin.errors import ZellyError
from origin.tenancy.themes import do_delete_theme_template, do_put_theme_template, select_theme_template_names
from origin.web.api.hosts import is_api_host
from origin.web.api.problems import ApiRequestError, render_api_error
from origin.web.auth import api_tenant, require_api_tenant
from origin.web.context import current_services
from origin.web.storefront_site import RENDERER_KEY

blueprint = Blueprint("theme_api", __name__, url_prefix="/api/v1/theme")


@blueprint.before_request
async def only_on_the_platform_host() -> None:
    if not is_api_host(request.host, current_services().settings.platform_domain):
        raise NotFound()


@blueprint.errorhandler(ZellyError)
@blueprint.errorhandler(ApiRequestError)
async def api_error(error: Exception):
    return render_api_error(error)


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/templates")
@require_api_tenant
async def list_templates():
    async with current_services().db.connect() as conn:
        items = await select_theme_template_names(conn, api_tenant().id)
    return no_store(jsonify({"items": items}))


@blueprint.put("/templates/<path:name>")
@require_api_tenant
async def put_template(name: str):
    body = await request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"source"}:
        raise ApiRequestError(400, "invalid_body", 'send a JSON object {"source": "<Jinja template>"}')
    await do_put_theme_template(current_services(), api_tenant().id, name, body["source"])
    return no_store(jsonify({"name": name, "source_length": len(body["source"])}))


@blueprint.delete("/templates/<path:name>")
@require_api_tenant
async def delete_template(name: str):
    await do_delete_theme_template(current_services(), api_tenant().id, name)
    return no_store(Response("", status=204))


@blueprint.get("/problems")
@require_api_tenant
async def problems():
    renderer = current_app.extensions.get(RENDERER_KEY)
    found = renderer.problems_for(api_tenant().id) if renderer else []
    items = [{"template": p.template, "source_name": p.source_name, "line": p.line, "message": p.message} for p in found]
    return no_store(jsonify({"items": items}))
