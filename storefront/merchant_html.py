"""Merchant HTML (product and collection descriptions) cleaned to an allow-list with nh3 (issue 13).

Descriptions came from the seller API or Shopify and were rendered as given,
scripts included, on store hosts that share a parent domain with the platform's
own hosts. They are cleaned when a page is built, not when they are written:
every source (the API, the Shopify sync, rows stored before this existed) meets
the same rule with no migration, and a change of the allow-list applies to
every stored description at once. nh3 (Rust's ammonia) parses like a browser,
so the markup that reaches the page is what the allow-list says, not what a
regular expression guessed; it costs tens of microseconds per description, on
pages the page cache then keeps.

Kept: text formatting, lists, tables, headings below the page's own h1, links
and images over http(s) (links also mailto:/tel:). Dropped: scripts, styles,
event handlers, ``class``/``style``/``id`` (no overlays dressed as the shop's
checkout button, no clobbering of the theme's element ids), forms, frames,
``javascript:`` and ``data:`` URLs.
"""

from __future__ import annotations

import functools

import nh3
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details", "div", "dl", "dt",
        "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"title", "lang", "dir"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


# Cleaning is a pure function of the text, and a miss of a product or collection page cleaned the same
# description again (~50 us: the largest single call in a collection miss's profile, issue 14). Kept
# for texts up to 16 KB, 1,024 of them: at most ~32 MB with their cleaned copies, usually well under 1 MB.
MEMOIZED_TEXTS = 1024
MEMOIZED_TEXT_CHARS = 16_384


def clean_merchant_html(html: str | None) -> Markup:
    """Safe to place in a page unescaped."""
    if not html:
        return Markup("")
    if len(html) <= MEMOIZED_TEXT_CHARS:
        return _clean_memoized(html)
    return _clean(html)


@functools.lru_cache(maxsize=MEMOIZED_TEXTS)
def _clean_memoized(html: str) -> Markup:
    return _clean(html)


def _clean(html: str) -> Markup:
    return Markup(
        nh3.clean(
            html,
            tags=set(ALLOWED_TAGS),
            attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
            url_schemes=set(URL_SCHEMES),
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    )
