"""Theme templates: a store's overrides of the default theme, under ``/api/v1/theme/``.

    GET    /api/v1/theme/templates          names and update times of the overrides
    PUT    /api/v1/theme/templates/<name>   {"source": "..."}: 422 names the line of a syntax error
    DELETE /api/v1/theme/templates/<name>   back to the default template
    GET    /api/v1/theme/problems           overrides that failed while rendering (this process)
    GET    /api/v1/theme/strings            every string of the theme, in the store's language, with its override
    PUT    /api/v1/theme/strings            {"strings": {msgid: text}}: the store's own words for theme strings
    PUT    /api/v1/theme/favicon            {"url": "..."}: the store's icon (/favicon.ico redirects to it)
    DELETE /api/v1/theme/favicon            back to the default icon (the store's initial)

A child of ``api_v1``: the same host rule, authentication and error shape as the catalog API.
"""

from __future__ import annotations

from quart import Blueprint, current_app

from origin.tenancy.themes import (
    do_delete_theme_template,
    do_put_theme_strings,
    do_put_theme_template,
    do_set_favicon,
    select_theme_template_names,
)
from origin.web.seller.api.framework.parsing import json_body
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.schemas.theme import (
    FaviconIn,
    FaviconOut,
    ThemeProblem,
    ThemeProblemList,
    ThemeStringItem,
    ThemeStringList,
    ThemeStringsIn,
    ThemeTemplateDeleted,
    ThemeTemplateIn,
    ThemeTemplateItem,
    ThemeTemplateList,
    ThemeTemplateOut,
)
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services
from origin.web.rate_limits import limit_template_write
from origin.web.storefront.site import RENDERER_KEY
from storefront import i18n

blueprint = Blueprint("theme_api", __name__, url_prefix="/theme")


@blueprint.get("/templates")
@require_api_tenant
@responds(200, ThemeTemplateList, errors=(401, 403))
async def list_templates():
    """The store's template overrides."""
    tenant_id = api_tenant().id
    async with current_services().db.connect() as conn:
        items = await select_theme_template_names(conn, tenant_id)
    return json_response(ThemeTemplateList(items=[ThemeTemplateItem(**item) for item in items]))


@blueprint.put("/templates/<path:name>")
@require_api_tenant
# 404: a name no route can hold (a newline in it: werkzeug's path converter stops there), like any unknown URL.
@responds(200, ThemeTemplateOut, errors=(400, 401, 403, 404, 409, 415, 422))
@json_body(ThemeTemplateIn)
async def put_template(name: str, data: ThemeTemplateIn):
    """Create or replace an override; one that does not compile or runs over the render budget is refused with its line."""
    await limit_template_write(api_tenant().id)  # each write test-renders: a budget of its own
    await do_put_theme_template(current_services(), api_tenant().id, name, data.source)
    _forget(name)
    return json_response(ThemeTemplateOut(name=name, source_length=len(data.source)))


@blueprint.delete("/templates/<path:name>")
@require_api_tenant
@responds(200, ThemeTemplateDeleted, errors=(401, 403, 404, 422))
async def delete_template(name: str):
    """Remove an override: the store goes back to the default template."""
    await do_delete_theme_template(current_services(), api_tenant().id, name)
    _forget(name)
    return json_response(ThemeTemplateDeleted(name=name))


def _forget(name: str) -> None:
    renderer = current_app.extensions.get(RENDERER_KEY)
    if renderer:
        renderer.forget(api_tenant().id, name)


@blueprint.get("/problems")
@require_api_tenant
@responds(200, ThemeProblemList, errors=(401, 403))
async def problems():
    """Overrides that failed while rendering in this process (shoppers got the default template)."""
    renderer = current_app.extensions.get(RENDERER_KEY)
    found = renderer.problems_for(api_tenant().id) if renderer else []
    return json_response(
        ThemeProblemList(
            items=[ThemeProblem(template=p.template, source_name=p.source_name, line=p.line, message=p.message, kind=p.kind) for p in found]
        )
    )


def string_list(locale: str, overrides: dict[str, str]) -> ThemeStringList:
    return ThemeStringList(
        locale=locale,
        items=[
            ThemeStringItem(
                id=message_id,
                default=i18n.translate(locale, {}, message_id),
                override=i18n.display_override(overrides[message_id]) if message_id in overrides else None,
            )
            for message_id in sorted(i18n.known_messages())
        ],
    )


@blueprint.get("/strings")
@require_api_tenant
@responds(200, ThemeStringList, errors=(401, 403))
async def list_strings():
    """The theme's strings in the store's language, and the store's overrides of them."""
    tenant = api_tenant()
    return json_response(string_list(tenant.locale, i18n.stored_overrides(tenant.theme_settings.get("strings"))))


@blueprint.put("/strings")
@require_api_tenant
@responds(200, ThemeStringList, errors=(400, 401, 403, 415, 422))
@json_body(ThemeStringsIn)
async def put_strings(data: ThemeStringsIn):
    """Replace the store's overrides; an unknown msgid or placeholder is refused (422 naming it)."""
    tenant = api_tenant()
    cleaned = await do_put_theme_strings(current_services(), tenant.id, data.strings)
    return json_response(string_list(tenant.locale, cleaned))


@blueprint.put("/favicon")
@require_api_tenant
@responds(200, FaviconOut, errors=(400, 401, 403, 415, 422))
@json_body(FaviconIn)
async def put_favicon(data: FaviconIn):
    """Set the store's icon."""
    return json_response(FaviconOut(url=await do_set_favicon(current_services(), api_tenant().id, data.url)))


@blueprint.delete("/favicon")
@require_api_tenant
@responds(200, FaviconOut, errors=(401, 403))
async def delete_favicon():
    """Back to the default icon, drawn from the store's initial and colour."""
    return json_response(FaviconOut(url=await do_set_favicon(current_services(), api_tenant().id, None)))
