"""``GET /api/v1/docs``: the API reference, the OpenAPI document rendered by Swagger UI (issue 20, item 4).

The renderer is vendored (``reference_assets/swagger-ui/``: swagger-ui-dist from
npm, unmodified, with its Apache-2.0 licence; ``make vendor-swagger-ui``
refreshes it) and served from here, never from a CDN: the page works offline,
and its Content-Security-Policy allows nothing that is not this origin. The
only other connections are "Try it out" calls to the document's own
``servers`` (platform hosts, not third parties). The page's one script of our
own, ``reference.js``, is a file too, so the policy needs no ``'unsafe-inline'``.

On the platform host only (the api_v1 host guard); public like the document.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit

from quart import Blueprint, Response, abort
from quart_schema import hide

from origin.settings import Settings
from origin.web.context import current_services
from origin.web.seller.api.framework.openapi import API_PREFIX, api_servers

blueprint = Blueprint("reference", __name__)

ASSETS = Path(__file__).resolve().parent / "reference_assets"
ASSETS_PATH = f"{API_PREFIX}/docs/assets"
# Every file the page may load, by the name it is served under: nothing else in the folder is reachable.
ASSET_FILES = {
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "reference.js": ("reference.js", "text/javascript; charset=utf-8"),
    "reference.css": ("reference.css", "text/css; charset=utf-8"),
    "LICENSE": ("swagger-ui/LICENSE", "text/plain; charset=utf-8"),
    "NOTICE": ("swagger-ui/NOTICE", "text/plain; charset=utf-8"),
}
ASSET_CACHE_CONTROL = "public, max-age=3600"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Zelly seller API reference</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="stylesheet" href="{ASSETS_PATH}/reference.css">
</head>
<body>
<main id="reference" data-document="{API_PREFIX}/openapi.json">
<noscript><p>This reference needs JavaScript. The document it renders is
<a href="{API_PREFIX}/openapi.json">{API_PREFIX}/openapi.json</a> (OpenAPI 3.1).</p></noscript>
</main>
<footer><p>Rendered by Swagger UI (<a href="{ASSETS_PATH}/LICENSE">Apache License 2.0</a>,
<a href="{ASSETS_PATH}/NOTICE">notice</a>), served from this host.</p></footer>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/reference.js"></script>
</body>
</html>
"""


def content_security_policy(settings: Settings) -> str:
    # Swagger UI sets element styles through the DOM (allowed by style-src 'self'); its
    # icons are data: SVGs. connect-src: the document and "Try it out" on the API's servers.
    server_origins = sorted({f"{parts.scheme}://{parts.netloc}" for parts in (urlsplit(server.url) for server in api_servers(settings))})
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src " + " ".join(["'self'", *server_origins]),
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


@functools.cache
def _asset_bytes(name: str) -> bytes:
    return (ASSETS / ASSET_FILES[name][0]).read_bytes()


@blueprint.get("/docs")
@hide
async def reference_page():
    response = Response(PAGE, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = content_security_policy(current_services().settings)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/docs/assets/<name>")
@hide
async def reference_asset(name: str):
    if name not in ASSET_FILES:
        abort(404)
    response = Response(_asset_bytes(name), content_type=ASSET_FILES[name][1])
    response.headers["Cache-Control"] = ASSET_CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
