"""Themes: per-tenant settings, template overrides in the sandbox, broken and hostile templates."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from origin.tenancy.tables import theme_templates
from origin.tenancy.actions import do_update_theme_settings
from storefront.money import format_money
from storefront.rendering import ThemeRenderer
from storefront.theme import build_theme, contrast_ratio
from tests.storefront.conftest import attribute, get, parse_html, texts
from tests.storefront.shops import make_shop, two_shops

HOSTILE_TEMPLATES = {
    "dunder": "{{ shop.__class__.__mro__[1].__subclasses__() }}",
    "globals": "{{ shop.money.__func__.__globals__['os'] }}",
    "format": "{{ '{0.__class__.__base__.__subclasses__}'.format(shop) }}",
    "mutate": "{% set _ = product.tags.append('x') %}{{ product.tags }}",
    "lipsum": "{{ lipsum(100000) }}",
    "config": "{{ config.SECRET_KEY }}{{ settings.secret_key }}{{ services }}",
}


async def override(services, tenant_id: int, name: str, source: str) -> None:
    async with services.db.begin() as conn:
        await conn.execute(theme_templates.insert().values(tenant_id=tenant_id, name=name, source=source))


async def test_theme_settings_colour_logo_and_hero(services, client):
    acme = await make_shop(services, "acme", "USD", shirt_price="10", theme={
        "colors": {"primary": "#FFCC00", "accent": "red;}body{display:none"},
        "logo_url": "https://cdn.example/logo.png",
        "hero_title": "Summer sale",
        "hero_text": "Everything linen, half price.",
    })

    _, html = await get(client, acme.host, "/")
    page = parse_html(html)
    style = page.find(".//style").text

    assert ":root{--primary:#ffcc00;--on-primary:#000000;--accent:#b3261e;" in style  # bad colour falls back
    assert "body{display:none" not in style  # the hostile accent never reaches the CSS
    assert attribute(page, ".//a[@class='brand']/img", "src") == "https://cdn.example/logo.png"
    assert attribute(page, ".//a[@class='brand']/img", "alt") == "Acme Store"
    assert texts(page, ".//section[@class='hero']/h1") == ["Summer sale"]
    assert texts(page, ".//section[@class='hero']/p") == ["Everything linen, half price."]


async def test_theme_settings_change_reaches_pages_and_resolution(services, client):
    acme, _ = await two_shops(services)
    await get(client, acme.host, "/")

    await do_update_theme_settings(services, acme.tenant.id, {"hero_title": "New season"})
    await _settle()
    _, html = await get(client, acme.host, "/")

    assert texts(parse_html(html), ".//section[@class='hero']/h1") == ["New season"]


async def _settle() -> None:
    import asyncio

    for _ in range(50):  # the tenancy listener runs as a task: let it apply the message
        await asyncio.sleep(0.01)


def test_unreadable_merchant_colours_are_replaced():
    theme = build_theme({"background": "#ffffff", "text": "#fefefe", "primary": "#000080"}, "Shop")

    assert (theme.background, theme.text) == ("#ffffff", "#1b1b1b")
    assert theme.on_primary == "#ffffff"
    assert contrast_ratio(theme.primary, theme.on_primary) >= 4.5


async def test_merchant_override_is_used_for_its_shop_only(services, client):
    acme, nordic = await two_shops(services)
    await override(services, acme.tenant.id, "product.html",
                   '{% extends "base.html" %}{% block content %}<h1 class="custom">{{ product.title|upper }}</h1>'
                   '<p>{{ product.price }}</p>{% endblock %}')

    _, acme_html = await get(client, acme.host, "/products/linen-shirt")
    _, nordic_html = await get(client, nordic.host, "/products/linen-shirt")

    assert texts(parse_html(acme_html), ".//h1[@class='custom']") == ["ACME LINEN SHIRT"]
    assert texts(parse_html(acme_html), ".//main/p") == ["$1,234.50"]
    assert texts(parse_html(nordic_html), ".//h1") == ["Nordic Linen Shirt"]


async def test_broken_override_gives_shoppers_the_default_and_merchants_the_error(services, client, app, caplog):
    acme, _ = await two_shops(services)
    await override(services, acme.tenant.id, "product.html", "{% extends 'base.html' %}{% block content %}{% if %}{% endblock %}")

    with caplog.at_level(logging.WARNING, logger="storefront.rendering"):
        response, html = await get(client, acme.host, "/products/linen-shirt")
    renderer = app.app.extensions["zelly.theme_renderer"]
    problems = renderer.problems_for(acme.tenant.id)

    assert response.status_code == 200
    assert texts(parse_html(html), ".//h1") == ["Acme Linen Shirt"]
    assert [p.describe() for p in problems] == ["product.html, line 1: syntax error: Expected an expression, got 'end of statement block'"]
    assert "tenant %d theme override failed" % acme.tenant.id in caplog.text
    assert renderer.check(acme.tenant.id, {"product.html": "{% if %}"})[0].line == 1


@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
async def test_sandbox_refuses_hostile_templates(services, client, app, name):
    acme, _ = await two_shops(services)
    await override(services, acme.tenant.id, "product.html", HOSTILE_TEMPLATES[name])

    response, html = await get(client, acme.host, "/products/linen-shirt")
    problems = app.app.extensions["zelly.theme_renderer"].problems_for(acme.tenant.id)

    assert response.status_code == 200
    assert texts(parse_html(html), ".//h1") == ["Acme Linen Shirt"]  # the default template, for shoppers
    assert len(problems) == 1
    assert "subclasses" not in html and "test-secret-key" not in html and "<module" not in html


def test_sandbox_preview_names_the_refusal():
    renderer = ThemeRenderer()

    html, problem = renderer.preview("product.html", {"shop": None}, tenant_id=9, overrides={"product.html": HOSTILE_TEMPLATES["dunder"]})

    assert html is None
    assert problem.message.startswith("not allowed in a theme:")
    assert "__class__" in problem.message


def test_money_in_each_locale():
    assert format_money(Decimal("1234.5"), "USD", "en-US") == "$1,234.50"
    assert format_money(Decimal("1234.5"), "EUR", "de-DE") == "1.234,50\xa0€"
    assert format_money(Decimal("1234"), "JPY", "ja-JP") == "￥1,234"
    assert format_money(Decimal("3"), "USD", "xx-XX") == "$3.00"  # unknown locale falls back to en-US


def test_seed_style_keys_and_font_stacks():
    theme = build_theme({"primary_color": "#7a1e1e", "logo_text": "京都 Tea", "font": '"Hiragino Mincho ProN", serif'}, "Kyoto")
    hostile = build_theme({"font": "x;}body{display:none", "logo_text": "  "}, "Kyoto")

    assert theme.primary == "#7a1e1e"
    assert theme.logo_text == "京都 Tea"
    assert theme.font == '"Hiragino Mincho ProN", serif'
    assert hostile.font.startswith("system-ui")
    assert hostile.logo_text == "Kyoto"
