"""``{% sitechrome %}…{% endsitechrome %}``: a part of a page rendered once per shop, then reused.

The page chrome (the theme's styles, the header, the footer) depends only on the
shop being rendered, yet every page miss rendered it again: ~140 µs of a ~1 ms
collection miss (issue 14, item 2). A block in this tag is rendered the first
time a shop's page needs it and its markup kept for that shop and that place in
that template, so the next miss of any page of the shop concatenates it.

Why the key is right: the web layer builds one ``ShopView`` per site record
(origin/web/storefront/site.py ``shop_view``), and the site record is replaced
whenever the tenant, its theme settings, strings or template overrides change;
a tenant's overrides also get their own Environment (storefront/rendering.py),
so a new theme never meets old chrome. The memo holds the shop itself (not only
its ``id()``), so an address reused by a later object cannot match. What goes
inside the tag must depend on nothing but ``shop`` (and ``_()``, which follows
the shop): anything per request (the search box's query, the page's title)
stays outside it. Renders without a ``shop`` skip the memo.

``{% sitechrome key, … %}`` keys a block by more than the shop: values the
block also depends on (the collection, the sort options with the selected one,
the in-stock filter), compared by value. The collection page's heading and
filter form are such a block, about half of what a collection miss rendered
around its memoized cards (issue 14, item 2); the per-request values inside it
(the price filters as typed) are closed out of the block the way the search
box's query is in base.html. Keyed fragments are bounded apart from the shop
chrome (``MAX_KEYED_FRAGMENTS`` per Environment, least recently used out
first), since a shop has as many of them as collections × sorts × filters; a
key that cannot be hashed (a merchant's template passing a dict) renders every
time.

Tenant templates render in threads (the render budget), so the memo is locked.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

from jinja2 import nodes
from jinja2.ext import Extension

MAX_MEMOIZED_SHOPS = 4_096  # per Environment; a few KB of chrome each
MAX_KEYED_FRAGMENTS = 8_192  # per Environment; a collection's heading and filter form is ~1-2 KB


class SiteChromeExtension(Extension):
    tags = {"sitechrome"}

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self._memo: OrderedDict[int, tuple[Any, dict[str, str]]] = OrderedDict()
        self._keyed: OrderedDict[tuple[int, str, tuple], tuple[Any, str]] = OrderedDict()
        self._lock = threading.Lock()

    def parse(self, parser: Any) -> nodes.Node:
        lineno = next(parser.stream).lineno
        keys: list[nodes.Expr] = []
        while parser.stream.current.type != "block_end":
            if keys:
                parser.stream.expect("comma")
            keys.append(parser.parse_expression())
        body = parser.parse_statements(("name:endsitechrome",), drop_needle=True)
        # The block's place in its template: its line and its order among the template's blocks (two
        # blocks may open on one line, as the ones around a per-request value do).
        index = parser.sitechrome_blocks = getattr(parser, "sitechrome_blocks", 0) + 1
        place = nodes.Const(f"{parser.name}:{lineno}:{index}")
        shop = nodes.Name("shop", "load")
        key = nodes.Tuple(keys, "load") if keys else nodes.Const(None)
        return nodes.CallBlock(self.call_method("_chrome", [shop, place, key]), [], [], body).set_lineno(lineno)

    def _chrome(self, shop: Any, place: str, key: tuple | None, caller: Callable[[], str]) -> str:
        if not hasattr(shop, "gettext"):  # no shop (an undefined, a preview without one): nothing to key by
            return caller()
        if key is not None:
            return self._fragment(shop, place, key, caller)
        with self._lock:
            entry = self._memo.get(id(shop))
            if entry is not None and entry[0] is shop:
                self._memo.move_to_end(id(shop))
                markup = entry[1].get(place)
                if markup is not None:
                    return markup
        markup = caller()  # outside the lock: a tenant's render may take its whole budget
        with self._lock:
            entry = self._memo.get(id(shop))
            if entry is None or entry[0] is not shop:
                entry = self._memo[id(shop)] = (shop, {})
                if len(self._memo) > MAX_MEMOIZED_SHOPS:
                    self._memo.popitem(last=False)
            entry[1][place] = markup
        return markup

    def _fragment(self, shop: Any, place: str, key: tuple, caller: Callable[[], str]) -> str:
        memo_key = (id(shop), place, key)
        try:
            hash(memo_key)
        except TypeError:
            return caller()
        with self._lock:
            entry = self._keyed.get(memo_key)
            if entry is not None and entry[0] is shop:
                self._keyed.move_to_end(memo_key)
                return entry[1]
        markup = caller()
        with self._lock:
            self._keyed[memo_key] = (shop, markup)
            if len(self._keyed) > MAX_KEYED_FRAGMENTS:
                self._keyed.popitem(last=False)
        return markup
