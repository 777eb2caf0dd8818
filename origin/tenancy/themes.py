"""Tenant theme template overrides (``astro_primary.theme_templates``): validated writes.

A template is checked before it is stored: its name must be one a theme can
load, its source must compile in the storefront's sandboxed environment and
test-render within the render budget (storefront/budget.py), so a syntax error
or a template that would stall its process reaches the merchant as a 422
naming the line, not a shopper. The check runs in a worker thread: a hostile
template takes up to the budget's time limit to be caught. Runtime failures (a template that compiles but raises) are caught at
render time instead (storefront/rendering.py). After each write the tenant's
cached site record, which carries its templates, is dropped everywhere.

Per-string overrides of the theme's words (issue 20) live in the tenant's
``theme_settings["strings"]`` (msgid -> the merchant's text), beside the rest of
the theme's settings, and are read with the site record the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

import sqlalchemy as sa

from origin.db import utcnow
from origin.tenancy import queries
from origin.tenancy.tables import tenants, theme_templates
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.services import Services
from origin.tenancy.errors import TenancyError, ThemeErrorCode, unknown_tenant
from storefront import i18n
from storefront.rendering import ThemeRenderer
from storefront.theme import SAFE_URL

TEMPLATE_NAME = re.compile(r"^(?:partials/)?[a-z0-9_-]{1,60}\.(?:html|css)$")
MAX_TEMPLATE_CHARS = 64 * 1024
MAX_TEMPLATES = 50


def validate_template(tenant_id: int, name: str, source: object) -> str:
    if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
        raise TenancyError(
            ThemeErrorCode.INVALID_TEMPLATE_NAME,
            "template names look like product.html or partials/product_grid.html (lower-case, .html or .css)",
            field="name",
        )
    if not isinstance(source, str) or len(source) > MAX_TEMPLATE_CHARS:
        raise TenancyError(ThemeErrorCode.INVALID_TEMPLATE, f"source must be text of at most {MAX_TEMPLATE_CHARS} characters", field="source")
    problems = ThemeRenderer().check(tenant_id, {name: source})
    if problems:
        raise TenancyError(ThemeErrorCode.INVALID_TEMPLATE, problems[0].describe(), field="source")
    return source


@contextlib.asynccontextmanager
async def template_check_turn(services: Services, tenant_id: int):
    """One test render at a time per tenant in this process (theme and email templates alike).

    A hostile template burns its whole render budget (1 s) before it is refused;
    concurrent PUTs of one merchant would otherwise hold every thread at once and
    slow every other shop's renders. A second PUT while one is being checked is a
    409 the merchant retries once the first answers (the API's rate limit bounds the retries).
    """
    if tenant_id in services.template_checks:
        raise TenancyError(
            ThemeErrorCode.TEMPLATE_CHECK_RUNNING,
            "another template of this store is being checked; send the next one when that request has answered",
            kind=ErrorKind.CONFLICT,
        )
    services.template_checks.add(tenant_id)
    try:
        yield
    finally:
        services.template_checks.discard(tenant_id)


async def do_put_theme_template(services: Services, tenant_id: int, name: str, source: object) -> None:
    async with template_check_turn(services, tenant_id):
        source = await asyncio.to_thread(validate_template, tenant_id, name, source)
    async with transaction(services) as (conn, effects):
        where = sa.and_(theme_templates.c.tenant_id == tenant_id, theme_templates.c.name == name)
        existing = (await conn.execute(sa.select(sa.func.count()).select_from(theme_templates).where(where))).scalar_one()
        if existing:
            await conn.execute(theme_templates.update().where(where).values(source=source, updated_at=utcnow(), last_budget_error=None))
        else:
            count = (
                await conn.execute(sa.select(sa.func.count()).select_from(theme_templates).where(theme_templates.c.tenant_id == tenant_id))
            ).scalar_one()
            if count >= MAX_TEMPLATES:
                raise TenancyError(ThemeErrorCode.TOO_MANY_TEMPLATES, f"a theme has at most {MAX_TEMPLATES} templates", kind=ErrorKind.CONFLICT)
            await conn.execute(theme_templates.insert().values(tenant_id=tenant_id, name=name, source=source))
        effects.tenant_changed(tenant_id)


async def do_delete_theme_template(services: Services, tenant_id: int, name: str) -> None:
    async with transaction(services) as (conn, effects):
        result = await conn.execute(
            theme_templates.delete().where(theme_templates.c.tenant_id == tenant_id, theme_templates.c.name == name)
        )
        if result.rowcount == 0:
            raise TenancyError(ThemeErrorCode.UNKNOWN_TEMPLATE, f"no template {name!r} in this theme", kind=ErrorKind.NOT_FOUND)
        effects.tenant_changed(tenant_id)


async def select_theme_template_names(conn, tenant_id: int) -> list[dict]:
    rows = await conn.execute(
        sa.select(theme_templates.c.name, theme_templates.c.updated_at, theme_templates.c.last_budget_error)
        .where(theme_templates.c.tenant_id == tenant_id)
        .order_by(theme_templates.c.name)
    )
    return [
        {"name": row.name, "updated_at": row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "last_budget_error": row.last_budget_error}
        for row in rows
    ]


async def do_record_theme_budget_error(services: Services, tenant_id: int, name: str, message: str) -> None:
    """A page using ``name`` ran over its render budget and fell back: keep why, for the merchant.

    Called from the storefront's render path, at most once per process, templates
    version and page (storefront/rendering.py remembers the page). Nothing cached
    carries the field, so there is nothing to invalidate.
    """
    async with services.db.begin() as conn:
        await conn.execute(
            theme_templates.update()
            .where(theme_templates.c.tenant_id == tenant_id, theme_templates.c.name == name)
            .values(last_budget_error=message[:500], updated_at=theme_templates.c.updated_at)  # not an edit
        )


MAX_STRING_OVERRIDES = 200


def validate_string_overrides(strings: object) -> dict[str, str]:
    if not isinstance(strings, dict):
        raise TenancyError(ThemeErrorCode.INVALID_STRING, "strings must be an object of msgid -> text", field="strings")
    if len(strings) > MAX_STRING_OVERRIDES:
        raise TenancyError(ThemeErrorCode.INVALID_STRING, f"at most {MAX_STRING_OVERRIDES} overrides", field="strings")
    cleaned = {}
    for message_id, text in strings.items():
        try:
            key, value = i18n.clean_override(message_id, text)
        except i18n.BadOverride as error:
            raise TenancyError(ThemeErrorCode.INVALID_STRING, error.problem, field=f"strings.{error.message_id}") from None
        cleaned[key] = value
    return cleaned


async def do_put_theme_strings(services: Services, tenant_id: int, strings: object) -> dict[str, str]:
    """Replace the store's overrides of theme strings ({} puts every string back to the catalog's)."""
    cleaned = validate_string_overrides(strings)
    async with transaction(services) as (conn, effects):
        tenant = await queries.select_tenant(conn, tenant_id)
        if tenant is None:
            raise unknown_tenant(tenant_id)
        settings = dict(tenant.theme_settings)
        if cleaned:
            settings["strings"] = cleaned
        else:
            settings.pop("strings", None)
        await conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(theme_settings=settings))
        effects.tenant_changed(tenant_id)
    return cleaned


async def do_set_favicon(services: Services, tenant_id: int, url: object | None) -> str | None:
    """The store's icon: an https URL or a path on the store's host; None puts the default back."""
    if url is not None and (not isinstance(url, str) or len(url) > 2000 or not SAFE_URL.match(url)):
        raise TenancyError(ThemeErrorCode.INVALID_FAVICON, "the icon must be an https:// URL or a path like /media/icon.png", field="url")
    async with transaction(services) as (conn, effects):
        tenant = await queries.select_tenant(conn, tenant_id)
        if tenant is None:
            raise unknown_tenant(tenant_id)
        settings = dict(tenant.theme_settings)
        if url is None:
            settings.pop("favicon_url", None)
        else:
            settings["favicon_url"] = url
        await conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(theme_settings=settings))
        effects.tenant_changed(tenant_id)
    return url
