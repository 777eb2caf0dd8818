"""The OpenAPI document describes every /api/v1 route, with request and response schemas."""

from __future__ import annotations

import re

import pytest

from origin.web.seller.api.framework.responses import ERROR_STATUSES

DOCUMENTED_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
# Actions on a resource that take no body; every other write documents its JSON body.
BODILESS_ACTIONS = {
    ("post", "/api/v1/domains/{domain_id}/verify"),
    ("post", "/api/v1/domains/{domain_id}/primary"),
    ("post", "/api/v1/shopify/settings/push"),
    ("post", "/api/v1/shopify/settings/fetch"),
    ("post", "/api/v1/shopify/syncs/{run_id}/cancel"),
    ("post", "/api/v1/emails/{email_id}/retry"),
    ("post", "/api/v1/orders/{order_id}/mark-paid"),
}


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


@pytest.fixture
async def document(client) -> dict:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return await response.get_json()


async def test_every_api_route_and_method_is_documented(app, document) -> None:
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.startswith(("/api/v1/openapi.json", "/api/v1/docs"))
        for method in rule.methods & DOCUMENTED_METHODS
    }

    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}

    assert len(routes) == 80  # catalog 22, theme 8, domains 6, analytics 9, shopify 10, email 7, orders 6, shipping/taxes/discounts 12
    assert documented == routes


async def test_every_operation_has_schemas_and_errors(document) -> None:
    bodiless = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            success = [status for status in operation["responses"] if int(status) < 300]
            assert len(success) == 1, (method, path)
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                assert schema["type"] == "object" and schema["properties"], (method, path, status)
                if int(status) >= 400:
                    assert schema["title"] == "ErrorBody"
                    assert response["description"] == ERROR_STATUSES[int(status)]
            if method in ("post", "put", "patch") and "requestBody" not in operation:
                bodiless.add((method, path))
            elif method in ("post", "put", "patch"):
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert body["type"] == "object" and body["additionalProperties"] is False, (method, path)
                assert "422" in operation["responses"] and "415" in operation["responses"], (method, path)
            if method in ("get", "post", "put", "patch", "delete"):
                assert "401" in operation["responses"], (method, path)

    assert bodiless == BODILESS_ACTIONS


async def test_every_reference_resolves(document) -> None:
    text = repr(document)
    references = set(re.findall(r"#/components/schemas/(\w+)", text))

    assert references <= set(document["components"]["schemas"])
    assert {"VariantIn", "ImageIn", "VariantOut", "ImageOut", "ProductSummaryOut", "ErrorDetail"} <= references
    assert {"DomainOut", "DnsInstructions", "TxtRecord", "CnameRecord", "VerificationFailure"} <= references
    assert {"SyncOut", "SettingChange"} <= references


async def test_shopify_secrets_are_write_only(document) -> None:
    put = document["paths"]["/api/v1/shopify/connection"]["put"]
    sent = put["requestBody"]["content"]["application/json"]["schema"]["properties"]
    shown = put["responses"]["200"]["content"]["application/json"]["schema"]["properties"]

    assert set(shown) == {"shop_domain", "status", "connected_at", "disconnected_at", "last_synced_at"}
    for name in ("access_token", "webhook_secret"):
        assert (sent[name]["writeOnly"], sent[name]["format"]) == (True, "password")


async def test_ids_in_paths_are_bounded_integers(document) -> None:
    operation = document["paths"]["/api/v1/products/{product_id}"]["get"]

    assert operation["parameters"] == [
        {"name": "product_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}}
    ]


async def test_bearer_auth_and_query_parameters_are_described(document) -> None:
    listing = document["paths"]["/api/v1/products"]["get"]

    assert document["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    assert document["security"] == [{"bearer": []}]
    assert {parameter["name"] for parameter in listing["parameters"]} == {"limit", "cursor", "sort", "status"}


async def test_the_document_is_public_and_cacheable(client) -> None:
    response = await client.get("/api/v1/openapi.json")

    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert (await response.get_json())["info"]["title"] == "Zelly seller API"


async def test_every_operation_has_the_tag_of_its_area(document) -> None:
    tag_of = {
        (path, method): operation["tags"] for path, operations in document["paths"].items() for method, operation in operations.items()
    }

    assert [tag["name"] for tag in document["tags"]] == [
        "catalog", "orders", "checkout rules", "domains", "theme", "emails", "analytics", "shopify"
    ]
    assert all(tag["description"] for tag in document["tags"])
    assert {tuple(tags) for tags in tag_of.values()} == {(tag["name"],) for tag in document["tags"]}
    assert tag_of[("/api/v1/products", "get")] == ["catalog"]
    assert tag_of[("/api/v1/inventory/{variant_id}", "put")] == ["catalog"]
    assert tag_of[("/api/v1/domains/{domain_id}/verify", "post")] == ["domains"]
    assert tag_of[("/api/v1/shipping", "get")] == ["checkout rules"]
    assert tag_of[("/api/v1/orders/{order_id}/refund", "post")] == ["orders"]
    assert tag_of[("/api/v1/emails/{email_id}/retry", "post")] == ["emails"]


async def test_servers_are_the_platform_hosts_at_the_public_port(document) -> None:
    # Settings() defaults: platform localhost, https on Caddy's 8443.
    assert document["servers"] == [
        {"url": "https://localhost:8443", "description": "the platform host"},
        {"url": "https://api.localhost:8443", "description": "the API's own name on the platform host"},
    ]


def test_servers_follow_the_settings() -> None:
    from origin.settings import Settings
    from origin.web.seller.api.framework.openapi import api_servers

    production = Settings(platform_domain="zelly.example", https_port=443)
    plain_http = Settings(platform_domain="zelly.example", public_scheme="http", http_port=8080)

    assert [server.url for server in api_servers(production)] == ["https://zelly.example", "https://api.zelly.example"]
    assert [server.url for server in api_servers(plain_http)] == ["http://zelly.example:8080", "http://api.zelly.example:8080"]
