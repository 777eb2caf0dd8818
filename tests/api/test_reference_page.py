"""The API reference page on the platform host: vendored Swagger UI, local scripts only, the real document."""

from __future__ import annotations

import asyncio
import re

import pytest

from origin.app import create_app
from origin.web.seller.api.reference import ASSETS
from tests.storefront.test_browser import CHROMIUM_FLAGS, free_port, require_chromium, serving_app


async def test_the_page_is_served_on_the_platform_host_with_a_closed_policy(client) -> None:
    response = await client.get("/api/v1/docs")

    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    policy = dict(part.split(" ", 1) for part in response.headers["Content-Security-Policy"].split("; "))
    assert policy == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": "'self' https://api.localhost:8443 https://localhost:8443",
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'none'",
    }


async def test_every_script_and_stylesheet_is_local_and_served(client) -> None:
    page = await (await client.get("/api/v1/docs")).get_data(as_text=True)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    stylesheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)

    assert scripts == ["/api/v1/docs/assets/swagger-ui-bundle.js", "/api/v1/docs/assets/reference.js"]
    assert stylesheets == ["/api/v1/docs/assets/swagger-ui.css", "/api/v1/docs/assets/reference.css"]
    assert re.findall(r"<script>|https?://", page) == []  # no inline script, no absolute URL anywhere
    bundle = await client.get(scripts[0])
    assert bundle.status_code == 200
    assert bundle.content_type == "text/javascript; charset=utf-8"
    assert await bundle.get_data() == (ASSETS / "swagger-ui" / "swagger-ui-bundle.js").read_bytes()
    assert bundle.headers["Cache-Control"] == "public, max-age=3600"
    for url in stylesheets:
        assert (await client.get(url)).content_type == "text/css; charset=utf-8"
    licence = await (await client.get("/api/v1/docs/assets/LICENSE")).get_data(as_text=True)
    assert "Apache License" in licence


async def test_only_the_listed_assets_are_reachable(client) -> None:
    for name in ("VERSION", "swagger-ui-bundle.js.LICENSE.txt", "..%2Freference.py", "missing.js"):
        assert (await client.get(f"/api/v1/docs/assets/{name}")).status_code == 404, name


async def test_the_page_loads_the_real_document(client) -> None:
    page = await (await client.get("/api/v1/docs")).get_data(as_text=True)
    (document_url,) = re.findall(r'data-document="([^"]+)"', page)

    document = await (await client.get(document_url)).get_json()

    assert document_url == "/api/v1/openapi.json"
    assert document["info"]["title"] == "Zelly seller API"
    assert "/api/v1/products" in document["paths"]


async def test_a_store_host_does_not_serve_the_reference(client, store) -> None:
    response = await client.get("/api/v1/docs", headers={"Host": f"{store.tenant.slug}.localhost"})

    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_chromium_renders_every_area_and_operation_without_a_policy_violation(services) -> None:
    binary = require_chromium()
    app = create_app(services.settings, services=services)
    port = free_port()
    async with serving_app(app, port):
        process = await asyncio.create_subprocess_exec(
            binary, *CHROMIUM_FLAGS, "--enable-logging=stderr", "--log-level=0", "--virtual-time-budget=20000",
            "--dump-dom", f"http://localhost:{port}/api/v1/docs",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        dom_bytes, log_bytes = await asyncio.wait_for(process.communicate(), timeout=90)
    dom, log = dom_bytes.decode(), log_bytes.decode(errors="replace")

    assert process.returncode == 0
    console = re.findall(r":CONSOLE[^\n]*", log)  # the page's console, which reports every CSP violation
    assert [line for line in console if "Content Security Policy" in line or "Refused" in line] == []
    tags = re.findall(r'data-tag="([^"]+)"', dom)
    assert tags == ["catalog", "orders", "checkout rules", "domains", "theme", "emails", "analytics", "shopify"]
    assert 'class="opblock-summary-path"' in dom
    assert "/api/v1/products/{product_id}/variants" in dom
    assert "Add a custom domain" in dom  # an operation's summary, from the document
    assert "Zelly seller API" in dom
