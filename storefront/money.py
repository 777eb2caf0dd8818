"""Money and locale formatting for shoppers, through Babel's CLDR data.

Babel knows each currency's symbol, its position and its minor-unit digits per
locale ("$1,234.50" in en-US, "1.234,50 €" in de-DE, "￥1,235" in ja-JP), which
hand-written format strings get wrong for most of the 40 currencies we sell in.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency

FALLBACK_LOCALE = "en_US"


@functools.lru_cache(maxsize=256)
def parse_locale(tag: str) -> Locale:
    """``en-US`` or ``en_US`` -> a Babel Locale; unknown tags fall back to en_US."""
    try:
        return Locale.parse((tag or FALLBACK_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(FALLBACK_LOCALE)


def format_money(amount: Decimal | int | str | None, currency: str, locale: str) -> str:
    """An amount in the shop's currency as a shopper in the shop's locale reads it."""
    if amount is None:
        return ""
    return format_currency(Decimal(amount), currency, locale=parse_locale(locale))


def html_lang(locale: str) -> str:
    """The BCP 47 tag for ``<html lang>``: ``de-DE``."""
    return str(parse_locale(locale)).replace("_", "-")


def plain_amount(amount: Decimal, digits: int) -> str:
    """The machine form used in JSON-LD and OpenGraph (``19.00``, ``1200``)."""
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(amount).quantize(quantum))
