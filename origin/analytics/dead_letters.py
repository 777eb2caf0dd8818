"""Store-events messages ClickHouse refused as bad data, kept in ``backoffice.task_dead_letters``.

Only a bug or a hand-written stream entry produces one (the intake validates
every event), so they are rare; they are kept whole, with the error, for a
person to read and replay, instead of stalling the queue (see ``consumer``).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from origin.analytics.queue import STREAM, Delivery
from origin.tasks.tables import task_dead_letters

log = logging.getLogger(__name__)


async def record_dead_letter(services, delivery: Delivery, error: str) -> None:
    log.error("store-events: message %s refused by ClickHouse, dead-lettered: %s", delivery.message_id, error[:300])
    async with services.db.begin() as conn:
        await conn.execute(
            sa.insert(task_dead_letters).values(
                tenant_id=None,  # a message may mix stores; the rows inside name theirs
                queue=STREAM,
                task_name="store-events.insert",
                payload={"message_id": delivery.message_id, "rows": delivery.payload},
                error=error,
                attempts=delivery.delivery_count,
            )
        )
