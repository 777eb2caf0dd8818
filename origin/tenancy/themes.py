"""Tenant theme template overrides (``astro_primary.theme_templates``): validated writes.

A template is checked before it is stored: its name must be one a theme can
load, and its source must compile in the storefront's sandboxed environment,
so a syntax error reaches the merchant as a 422 naming the line, not a
shopper. Runtime failures (a template that compiles but raises) are caught at
render time instead (storefront/rendering.py). After each write the tenant's
cached site record, which carries its templates, is dropped everywhere.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from origin.db import utcnow
from origin.tenancy.tables import theme_templates
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.services import Services
from origin.tenancy.errors import TenancyError, ThemeErrorCode
from storefront.rendering import ThemeRenderer

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


async def do_put_theme_template(services: Services, tenant_id: int, name: str, source: object) -> None:
    source = validate_template(tenant_id, name, source)
    async with transaction(services) as (conn, effects):
        where = sa.and_(theme_templates.c.tenant_id == tenant_id, theme_templates.c.name == name)
        existing = (await conn.execute(sa.select(sa.func.count()).select_from(theme_templates).where(where))).scalar_one()
        if existing:
            await conn.execute(theme_templates.update().where(where).values(source=source, updated_at=utcnow()))
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
        sa.select(theme_templates.c.name, theme_templates.c.updated_at)
        .where(theme_templates.c.tenant_id == tenant_id)
        .order_by(theme_templates.c.name)
    )
    return [{"name": row.name, "updated_at": row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")} for row in rows]
