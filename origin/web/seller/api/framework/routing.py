"""Path parameter syntax shared by the API's routes: ``<id:product_id>``.

A database id is 1 to 18 digits without a leading zero. Anything else (0, -1,
``007``, 30 digits, ``abc``) does not match the route, so it is a 404 like any
unknown id: never an overflow in the database driver (SQLite refuses integers
above 2**63-1), and never werkzeug's 405 for a converter that refuses a value
after the path matched.
"""

from __future__ import annotations

from werkzeug.routing import BaseConverter

MAX_ID = 10**18 - 1


class IdConverter(BaseConverter):
    regex = r"[1-9][0-9]{0,17}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


CONVERTERS = {"id": IdConverter}
ID = "id"
