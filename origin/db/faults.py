"""Which database errors mean "the database is unreachable right now", not "this query is wrong".

A connection KILLed by the server or lost on the network, a server that does
not accept connections, a pool with no connection free in time, SQLite busy
past its timeout: the request could succeed a few seconds later, so the web
layer answers 503 with ``Retry-After`` (origin/web/errors.py) instead of 500,
and the pool has already dropped the broken connection (SQLAlchemy invalidates
it on a disconnect; the pool pings a connection idle past 100 ms and replaces the dead ones, origin/db/engine.py), so nothing needs
a restart (issue 12, item 11). Nothing half-written stays: the transaction the
statement belonged to is rolled back with the lost connection.
"""

from __future__ import annotations

import sqlalchemy as sa

# MySQL/MariaDB client and server codes of a lost or refused connection: 1040 too many
# connections, 1053 server shutdown, 1927 connection killed, 2002/2003 cannot connect,
# 2006 gone away, 2013 lost during query, 2014/2045/2055/4031 dropped by the server.
UNREACHABLE_CODES = frozenset({1040, 1053, 1927, 2002, 2003, 2006, 2013, 2014, 2045, 2055, 4031})


def is_database_unavailable(error: BaseException) -> bool:
    if isinstance(error, sa.exc.TimeoutError):  # the pool: no connection free within its timeout
        return True
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    args = getattr(error.orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in UNREACHABLE_CODES
    return isinstance(error, sa.exc.OperationalError) and "database is locked" in str(error.orig)
