"""The origin's name for the one bounded ASCII number parser (issue 13): implemented in tls/numbers.py.

There rather than here because edge/ and tls/ may not import origin (pyproject's
import-linter contracts) and must parse the same way.
"""

from __future__ import annotations

from tls.numbers import MAX_ID, parse_bounded_int

__all__ = ["MAX_ID", "parse_bounded_int"]
