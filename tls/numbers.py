"""Whole numbers from untrusted text: ASCII digits only, with bounds (issue 13).

``str.isdigit`` is true for ``'²'`` and ``'٣'``, and ``int()`` then raises on
the first and quietly accepts the second; ``int()`` of a long digit string
gives a value past every column's range (``10**30`` in a cursor reached the
database as an overflow). Every number read from a URL, a form, a header or a
cursor goes through :func:`parse_bounded_int`, so each caller names its bounds
and turns ``None`` into its own 4xx error.

It lives in ``tls``, the lowest of Zelly's packages (edge imports tls, origin
imports both; pyproject's import-linter contracts), so the edge (Cloudflare's
``Retry-After``) and tls (DNS resolver ports) parse with the same function as
the origin. ``origin.numbers`` re-exports it for the origin's callers.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # BIGINT (MariaDB) and INTEGER (SQLite) are signed 64-bit: the largest id either stores


def parse_bounded_int(raw: object, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """The number ``raw`` spells in ASCII digits if it is within [low, high], else None.

    Accepts a ``str`` of digits (no sign, no spaces, no underscores) or an ``int``
    (not ``bool``), as JSON may give either.
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= len(str(high)):
        value = int(raw)
    else:
        return None
    return value if low <= value <= high else None
