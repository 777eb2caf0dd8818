"""The theme's words in the shop's language: gettext catalogs, merchant overrides, text direction.

The default theme's strings (templates and the few the storefront handlers
write, like sort labels and error messages) are msgids in
``storefront/locales/messages.pot``; each language has a ``.po`` and its
compiled ``.mo`` beside it (``make translations`` extracts, updates and
compiles; tests/storefront/test_translations.py checks that they agree). The
tenant's locale picks the catalog (``de-DE`` -> ``de``, an unknown language
-> the English msgids). A merchant may replace any msgid for their store
(``theme_settings["strings"]``, set through ``PUT /api/v1/theme/strings``):
the override wins over every catalog.

Templates use ``{{ _("Add to cart") }}`` (Jinja's i18n extension, new-style:
the result is escaped and formatted with ``%(name)s`` arguments). The
callables read the shop from the template context, so one environment serves
every tenant and language.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Mapping

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import pass_context
from markupsafe import Markup, escape

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
TEMPLATE_CATALOG = LOCALES_DIR / f"{DOMAIN}.pot"
# Languages with a catalog; the first is the source language (the msgids themselves).
LANGUAGES = ("en", "de", "fr", "es", "ja", "ar")

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# A lone % in merchant text ("20% off") is literal; only %(name)s of the msgid is a placeholder.
LONE_PERCENT = re.compile(r"%(?!\(\w+\)s)")
MAX_OVERRIDE_CHARS = 400


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is translated later, with the shop at hand."""
    return message


@functools.lru_cache(maxsize=64)
def catalog_for(locale_tag: str) -> NullTranslations:
    """The compiled catalog for ``de-DE`` (falls back to ``de``), or the msgids themselves."""
    try:
        locale = Locale.parse((locale_tag or "en").replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return NullTranslations()
    return Translations.load(str(LOCALES_DIR), [locale], DOMAIN)


def text_direction(locale_tag: str) -> str:
    """``rtl`` for Arabic, Hebrew, Persian…, else ``ltr`` (from CLDR, not a hand list)."""
    try:
        return Locale.parse((locale_tag or "en").replace("-", "_")).text_direction
    except (UnknownLocaleError, ValueError, TypeError):
        return "ltr"


def translate(locale_tag: str, overrides: Mapping[str, str], message: str) -> str:
    override = overrides.get(message)
    if override is not None:
        return override
    return catalog_for(locale_tag).gettext(message)


def translate_plural(locale_tag: str, overrides: Mapping[str, str], singular: str, plural: str, count: int) -> str:
    # An override is keyed by the msgid the count picks in English (singular for 1, plural otherwise).
    override = overrides.get(singular if count == 1 else plural)
    if override is not None:
        return override
    return catalog_for(locale_tag).ngettext(singular, plural, count)


# Jinja marks what these return as safe (the catalogs are ours); a merchant's override is plain
# text, so it is escaped here, the one place that knows which of the two a string is.


@pass_context
def _context_gettext(context: Any, message: str) -> str:
    shop = context.get("shop")
    if shop is None or not hasattr(shop, "gettext"):
        return message
    text = shop.gettext(message)
    return escape(text) if message in shop.string_overrides else text


@pass_context
def _context_ngettext(context: Any, singular: str, plural: str, count: int) -> str:
    shop = context.get("shop")
    if shop is None or not hasattr(shop, "ngettext"):
        return singular if count == 1 else plural
    text = shop.ngettext(singular, plural, count)
    return escape(text) if (singular if count == 1 else plural) in shop.string_overrides else text


@pass_context
def _underscore(context: Any, message: str, **variables: Any) -> str:
    """``_()`` in one call: what the extension's alias does through two context calls.

    Same result as Jinja's newstyle ``_`` over :func:`_context_gettext` (translated,
    marked safe under autoescape, then ``% variables``), at about a third of the cost;
    a listing page calls it ~35 times (issue 14, item 2).
    """
    shop = context.get("shop")
    if shop is None or not hasattr(shop, "gettext"):
        text = message
    else:
        text = shop.gettext(message)
        if message in shop.string_overrides:
            text = escape(text)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def install(environment: Any) -> None:
    """Jinja's i18n extension with callables that follow the rendered shop's language."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(_context_gettext, _context_ngettext, newstyle=True)
    environment.globals["_"] = _underscore


# --------------------------------------------------------------------------- merchant overrides


@functools.lru_cache(maxsize=1)
def known_messages() -> dict[str, str | None]:
    """Every msgid of the theme -> its plural msgid (None for a plain message)."""
    with TEMPLATE_CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    known: dict[str, str | None] = {}
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            known[message.id[0]] = message.id[1]
            known[message.id[1]] = None
        else:
            known[message.id] = None
    return known


class BadOverride(ValueError):
    def __init__(self, message_id: str, problem: str) -> None:
        super().__init__(f"{message_id!r}: {problem}")
        self.message_id = message_id
        self.problem = problem


def clean_override(message_id: object, text: object) -> tuple[str, str]:
    """One merchant override checked for storage: a known msgid, short plain text, the same placeholders.

    A lone ``%`` is stored doubled so that formatting the text (Jinja's new-style
    gettext always formats) can never fail at render time.
    """
    if not isinstance(message_id, str) or message_id not in known_messages():
        raise BadOverride(str(message_id)[:80], "not a string of this theme (GET /api/v1/theme/strings lists them)")
    if not isinstance(text, str) or not text.strip():
        raise BadOverride(message_id, "the replacement must be non-empty text")
    if len(text) > MAX_OVERRIDE_CHARS:
        raise BadOverride(message_id, f"the replacement is longer than {MAX_OVERRIDE_CHARS} characters")
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in text):
        raise BadOverride(message_id, "the replacement contains control characters")
    wanted = set(PLACEHOLDER.findall(message_id))
    used = set(PLACEHOLDER.findall(text))
    if used - wanted:
        names = ", ".join(f"%({name})s" for name in sorted(used - wanted))
        raise BadOverride(message_id, f"unknown placeholder {names}; this string has {', '.join(f'%({n})s' for n in sorted(wanted)) or 'none'}")
    return message_id, LONE_PERCENT.sub("%%", text.replace("%%", "%"))


def stored_overrides(value: object) -> dict[str, str]:
    """The overrides as read back from theme settings: anything malformed is left out."""
    if not isinstance(value, Mapping):
        return {}
    known = known_messages()
    return {key: text for key, text in value.items() if isinstance(key, str) and key in known and isinstance(text, str)}


def display_override(text: str) -> str:
    """The override as the merchant wrote it (lone percent signs single again)."""
    return text.replace("%%", "%")
