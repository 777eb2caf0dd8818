"""Path parameter syntax shared by the API's routes."""

from __future__ import annotations

# A database id: 1..2**63-1. Anything else (0, negative, 30 digits) does not match the
# route, so it is a 404 like any unknown id, never an overflow in the database driver.
MAX_ID = 2**63 - 1
ID = f"int(min=1, max={MAX_ID})"
