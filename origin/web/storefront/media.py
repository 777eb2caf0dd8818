"""GET /media/demo/<tenant>/<name>.svg: product pictures drawn from their name.

Only names the tenant's catalog uses (the seed's image URLs) are drawn, and
only on that tenant's own hosts; anything else is a small plain 404 without a
render (issue 13, item 2).

The demo catalog needs images without fetching anything from the internet:
each SVG is a deterministic function of its path (colors and shapes from a
hash), so it can be cached forever by browsers, the edge and Cloudflare.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from html import escape

from quart import Blueprint, Response, current_app, request

from origin.catalog import queries as catalog
from origin.web.asgi.host import request_host
from origin.web.context import current_services
from origin.web.storefront.site import resolver

blueprint = Blueprint("media", __name__)

NAME_PATTERN = re.compile(r"^[a-z0-9-]{1,200}$")
PALETTES = (
    ("#1f5f3f", "#e07a1f", "#f4efe6"),
    ("#22313f", "#c9a227", "#eef1f4"),
    ("#7a1e1e", "#3c6e47", "#fbf6ec"),
    ("#2d4a7a", "#e3b448", "#f3f5fa"),
    ("#5a3d5c", "#d98f6b", "#f7f0f3"),
)


def draw_svg(tenant: str, name: str) -> str:
    digest = hashlib.sha256(f"{tenant}/{name}".encode()).digest()
    dark, accent, light = PALETTES[digest[0] % len(PALETTES)]
    shape = digest[1] % 3
    x, y, size = 250 + digest[2] % 300, 250 + digest[3] % 300, 180 + digest[4] % 160
    if shape == 0:
        figure = f'<circle cx="{x}" cy="{y}" r="{size}" fill="{accent}"/>'
    elif shape == 1:
        figure = f'<rect x="{x - size}" y="{y - size}" width="{size * 2}" height="{size * 2}" rx="36" fill="{accent}"/>'
    else:
        figure = f'<polygon points="{x},{y - size} {x + size},{y + size} {x - size},{y + size}" fill="{accent}"/>'
    label = escape(name.rsplit("-", 1)[0].replace("-", " ").title()[:40])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 800" width="800" height="800" role="img" '
        f'aria-label="{label}"><rect width="800" height="800" fill="{light}"/>{figure}'
        f'<rect y="680" width="800" height="120" fill="{dark}"/>'
        f'<text x="400" y="755" font-family="system-ui,sans-serif" font-size="40" fill="{light}" '
        f'text-anchor="middle">{label}</text></svg>'
    )


MEDIA_KEY = "zelly.demo_media"
REMEMBERED_CATALOGS = 256  # (tenant, catalog version) -> its demo image URLs, per process


class DemoMedia:
    """The demo image URLs each tenant's catalog names, one query per tenant and catalog version."""

    def __init__(self) -> None:
        self._urls: OrderedDict[tuple[int, int], frozenset[str]] = OrderedDict()

    async def urls(self, services, tenant_id: int, version: int, prefix: str) -> frozenset[str]:
        key = (tenant_id, version)
        found = self._urls.get(key)
        if found is None:
            async with services.db.connect() as conn:
                found = await catalog.select_image_urls_under(conn, tenant_id, prefix)
            self._urls[key] = found
            while len(self._urls) > REMEMBERED_CATALOGS:
                self._urls.popitem(last=False)
        self._urls.move_to_end(key)
        return found


def not_found() -> Response:
    # Plain and small: a stranger's random names cost no render (issue 13, item 2). The
    # edge keeps it in memory a few seconds at most, never in Redis.
    return Response("Not found.", status=404, content_type="text/plain; charset=utf-8", headers={"Cache-Control": "public, max-age=60"})


@blueprint.get("/media/demo/<tenant>/<name>.svg")
async def demo_image(tenant: str, name: str) -> Response:
    """Only the pictures the store's catalog names (the seed's), only on that store's own hosts."""
    if not NAME_PATTERN.match(tenant) or not NAME_PATTERN.match(name):
        return not_found()
    _, site = await resolver().resolve(request_host(request.scope))
    if site is None or not site.tenant.is_active or site.tenant.slug != tenant:
        return not_found()
    services = current_services()
    version = await services.catalog_versions.get(site.tenant.id)
    media = current_app.extensions.setdefault(MEDIA_KEY, DemoMedia())
    if request.path not in await media.urls(services, site.tenant.id, version, f"/media/demo/{tenant}/"):
        return not_found()
    response = Response(draw_svg(tenant, name), content_type="image/svg+xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
