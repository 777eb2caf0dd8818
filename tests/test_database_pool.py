"""The MySQL pool's reset: no ROLLBACK round trip after a COMMIT, a real one for a connection returned mid-transaction.

MariaDB counts the ROLLBACKs each session received (``Com_rollback``). One pooled
connection is used throughout (its id is checked), so the counts are its own.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from origin import db
from origin.catalog.tables import products
from origin.settings import Settings
from tests.conftest import count_rows


@pytest.fixture
def backend() -> str:
    return "servers"


async def rollbacks_and_id(engine) -> tuple[int, int]:
    async with engine.connect() as conn:
        count = (await conn.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_rollback'"))).one()[1]
        ident = (await conn.execute(sa.text("SELECT CONNECTION_ID()"))).scalar_one()
    return int(count), ident


async def test_a_committed_connection_goes_back_to_the_pool_without_a_rollback(settings: Settings, services):
    engine = db.create_engine(settings.database_url, settings.database_schema_prefix, pool_size=1)
    try:
        before, first_id = await rollbacks_and_id(engine)  # this block's own close rolls its read back: +1
        for _ in range(3):
            async with engine.begin() as conn:
                await conn.execute(sa.text("SELECT 1"))
        after, second_id = await rollbacks_and_id(engine)
    finally:
        await engine.dispose()
    assert first_id == second_id
    # The pool's default reset would have added one ROLLBACK per committed block (3).
    assert after - before == 1


async def test_a_connection_returned_inside_a_transaction_is_rolled_back(settings: Settings, services):
    """Statements run on the driver connection directly leave a transaction the Connection does not know of."""
    engine = db.create_engine(settings.database_url, settings.database_schema_prefix, pool_size=1)
    table = f"{settings.database_schema_prefix}{products.fullname}"  # the schema, as the translate map names it
    try:
        async with engine.connect() as conn:

            def write_behind_the_connections_back(sync_conn) -> None:
                cursor = sync_conn.connection.dbapi_connection.cursor()
                cursor.execute(f"UPDATE {table} SET title = 'x' WHERE 1 = 0")  # opens a transaction (autocommit off)
                cursor.close()

            await conn.run_sync(write_behind_the_connections_back)
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw.get_transaction_status()
        assert not raw.get_transaction_status()  # the pool's reset rolled it back
        async with engine.connect() as conn:
            assert await count_rows(conn, products) == 0
    finally:
        await engine.dispose()
