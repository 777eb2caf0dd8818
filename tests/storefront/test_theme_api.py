"""Seller API for theme templates: validation, auth, isolation, and the storefront seeing the change."""

from __future__ import annotations

import asyncio

from origin.tenancy.actions import do_issue_api_token
from tests.storefront.conftest import get, parse_html, texts
from tests.storefront.shops import two_shops

CUSTOM = '{% extends "base.html" %}{% block content %}<h1 class="custom">{{ product.title|upper }}</h1>{% endblock %}'


async def api(client, method: str, path: str, token: str | None, json=None, host: str = "localhost"):
    headers = {"Host": host}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = await client.open(path, method=method, json=json, headers=headers)
    return response, await response.get_json()


async def settle() -> None:
    for _ in range(20):  # the tenancy listener applies the change message as a task
        await asyncio.sleep(0.01)


async def test_put_template_changes_only_that_shop(services, client):
    acme, nordic = await two_shops(services)
    token = (await do_issue_api_token(services, acme.tenant.id)).token
    await get(client, acme.host, "/products/linen-shirt")  # the site record is cached first

    response, body = await api(client, "PUT", "/api/v1/theme/templates/product.html", token, {"source": CUSTOM})
    listed, names = await api(client, "GET", "/api/v1/theme/templates", token)
    await settle()
    _, acme_html = await get(client, acme.host, "/products/linen-shirt")
    _, nordic_html = await get(client, nordic.host, "/products/linen-shirt")

    assert response.status_code == 200
    assert body == {"name": "product.html", "source_length": len(CUSTOM)}
    assert [item["name"] for item in names["items"]] == ["product.html"]
    assert texts(parse_html(acme_html), ".//h1[@class='custom']") == ["ACME LINEN SHIRT"]
    assert texts(parse_html(nordic_html), ".//h1") == ["Nordic Linen Shirt"]


async def test_syntax_error_is_a_422_naming_the_line(services, client):
    acme, _ = await two_shops(services)
    token = (await do_issue_api_token(services, acme.tenant.id)).token

    response, body = await api(client, "PUT", "/api/v1/theme/templates/product.html", token, {"source": "line one\n{% if %}"})
    bad_name, name_body = await api(client, "PUT", "/api/v1/theme/templates/partials/evil.py", token, {"source": "x"})
    bad_body, _ = await api(client, "PUT", "/api/v1/theme/templates/home.html", token, {"text": "x"})

    assert response.status_code == 422
    assert body["error"]["fields"] == [
        {"path": "source", "code": "invalid_template", "message": "product.html, line 2: syntax error: Expected an expression, got 'end of statement block'"}
    ]
    assert bad_name.status_code == 422
    assert name_body["error"]["fields"][0]["path"] == "name"
    assert bad_body.status_code == 422  # unknown field `text`, missing `source`


async def test_delete_restores_the_default_and_other_tenants_cannot_touch_it(services, client):
    acme, nordic = await two_shops(services)
    acme_token = (await do_issue_api_token(services, acme.tenant.id)).token
    nordic_token = (await do_issue_api_token(services, nordic.tenant.id)).token
    await api(client, "PUT", "/api/v1/theme/templates/product.html", acme_token, {"source": CUSTOM})

    foreign, _ = await api(client, "DELETE", "/api/v1/theme/templates/product.html", nordic_token)
    deleted, _ = await api(client, "DELETE", "/api/v1/theme/templates/product.html", acme_token)
    await settle()
    _, html = await get(client, acme.host, "/products/linen-shirt")

    assert foreign.status_code == 404
    assert deleted.status_code == 200
    assert texts(parse_html(html), ".//h1") == ["Acme Linen Shirt"]


async def test_auth_and_host_rules(services, client):
    acme, _ = await two_shops(services)
    token = (await do_issue_api_token(services, acme.tenant.id)).token

    anonymous, _ = await api(client, "GET", "/api/v1/theme/templates", None)
    wrong, _ = await api(client, "GET", "/api/v1/theme/templates", "zly_not-a-token")
    on_store_host, _ = await api(client, "GET", "/api/v1/theme/templates", token, host=acme.host)

    assert anonymous.status_code == 401 and wrong.status_code == 401
    assert on_store_host.status_code == 404


async def test_runtime_problems_are_visible_to_the_merchant(services, client):
    acme, _ = await two_shops(services)
    token = (await do_issue_api_token(services, acme.tenant.id)).token
    await api(client, "PUT", "/api/v1/theme/templates/product.html", token, {"source": "{{ shop.__class__.__mro__ }}"})
    await settle()

    _, html = await get(client, acme.host, "/products/linen-shirt")
    response, body = await api(client, "GET", "/api/v1/theme/problems", token)

    assert texts(parse_html(html), ".//h1") == ["Acme Linen Shirt"]
    assert response.status_code == 200
    assert len(body["items"]) == 1
    assert body["items"][0]["template"] == "product.html"
    assert body["items"][0]["message"].startswith("not allowed in a theme:")
