"""Per-tenant theme settings (``tenants.theme_settings``), validated into a ThemeView.

Merchants store free-form JSON; only the keys below are read, each checked, and
anything malformed falls back to the default, so a typo in a colour cannot break
a page or inject CSS. Text on coloured surfaces is black or white, whichever
contrasts more (WCAG relative luminance), so a merchant colour cannot make the
buttons unreadable.
"""

from __future__ import annotations

import re
from html import escape
from dataclasses import dataclass
from typing import Any, Mapping

HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
SAFE_URL = re.compile(r"^(?:https?://[^\s\"'<>()\\]+|/[^\s\"'<>()\\]*)$")
# A CSS font-family list: names, quotes, commas, spaces. No ; { } < > \ so it cannot leave the declaration.
FONT_STACK = re.compile(r"^[A-Za-z0-9 ,\"'\-]{1,160}$")
DEFAULT_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans"'
# Appended after the merchant's (or the default) font in the page's CSS, so Japanese, Chinese,
# Korean and Arabic text (and the yen sign in a Latin-only font) find a face that has their glyphs
# instead of missing-glyph boxes. Japanese faces come first: Han characters shared with Chinese
# should take their Japanese forms on a ja shop; Arabic faces only hold Arabic script.
SCRIPT_FALLBACK_FONTS = (
    '"Hiragino Sans", "Hiragino Kaku Gothic ProN", "Yu Gothic", Meiryo, "Noto Sans CJK JP", "Noto Sans JP", '
    '"Noto Sans Arabic", "Geeza Pro", Tahoma, "Noto Sans CJK SC", "Noto Sans CJK KR", sans-serif'
)


DEFAULT_COLOURS = {
    "primary": "#1f4e79",
    "accent": "#b3261e",
    "background": "#ffffff",
    "text": "#1b1b1b",
}


@dataclass(frozen=True)
class ThemeView:
    primary: str
    on_primary: str
    accent: str
    on_accent: str
    background: str
    text: str
    logo_url: str | None
    logo_alt: str
    logo_text: str
    font: str  # validated against FONT_STACK: safe to place in CSS unescaped
    hero_title: str
    hero_text: str
    hero_cta: str
    featured_collection: str | None
    favicon_url: str | None = None  # the merchant's icon; None: the default drawn from the shop's initial
    script_fonts: str = SCRIPT_FALLBACK_FONTS


def build_theme(settings: Mapping[str, Any] | None, shop_name: str) -> ThemeView:
    settings = settings or {}
    # Colours as {"colors": {"primary": ...}}, or flat as "primary_color" (the demo seed) or "primary".
    nested = settings.get("colors") if isinstance(settings.get("colors"), Mapping) else {}
    picked = {
        name: _colour(nested.get(name, settings.get(f"{name}_color", settings.get(name))), default)
        for name, default in DEFAULT_COLOURS.items()
    }
    if contrast_ratio(picked["background"], picked["text"]) < 4.5:  # WCAG AA for body text
        picked["background"], picked["text"] = DEFAULT_COLOURS["background"], DEFAULT_COLOURS["text"]
    logo = settings.get("logo_url")
    featured = settings.get("featured_collection")
    return ThemeView(
        primary=picked["primary"],
        on_primary=readable_on(picked["primary"]),
        accent=picked["accent"],
        on_accent=readable_on(picked["accent"]),
        background=picked["background"],
        text=picked["text"],
        logo_url=logo if isinstance(logo, str) and SAFE_URL.match(logo) else None,
        logo_alt=shop_name,
        logo_text=_text(settings.get("logo_text"), shop_name, 60),
        font=font if isinstance(font := settings.get("font"), str) and FONT_STACK.match(font) else DEFAULT_FONT,
        hero_title=_text(settings.get("hero_title"), shop_name, 120),
        hero_text=_text(settings.get("hero_text"), "", 400),
        hero_cta=_text(settings.get("hero_cta"), "", 40),  # empty: the template says "Shop now" in the shop's language
        featured_collection=featured if isinstance(featured, str) and featured else None,
        favicon_url=favicon if isinstance(favicon := settings.get("favicon_url"), str) and SAFE_URL.match(favicon) else None,
    )


def _colour(value: object, default: str) -> str:
    if not isinstance(value, str) or not HEX_COLOUR.match(value):
        return default
    if len(value) == 4:
        value = "#" + "".join(ch * 2 for ch in value[1:])
    return value.lower()


def _text(value: object, default: str, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else default


def relative_luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def readable_on(colour: str) -> str:
    return "#ffffff" if contrast_ratio(colour, "#ffffff") >= contrast_ratio(colour, "#000000") else "#000000"


def default_favicon_svg(theme: ThemeView) -> str:
    """The store's icon when the merchant has set none: its initial on its primary colour.

    Served at /favicon.svg and /favicon.ico, so no browser meets a 404 (a console
    error, and a Lighthouse best-practices failure: issue 20).
    """
    initial = escape(theme.logo_text.strip()[:1].upper() or "·")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        f'<rect width="64" height="64" rx="14" fill="{theme.primary}"/>'
        f'<text x="32" y="44" font-family="{escape(theme.font + ", " + theme.script_fonts)}" font-size="36" font-weight="700" '
        f'text-anchor="middle" fill="{theme.on_primary}">{initial}</text></svg>'
    )
