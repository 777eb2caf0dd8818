"""Dead-letter records (backoffice.task_dead_letters): write, list, replay.

A replay re-sends the original task on its queue as attempt 1 and stamps
``replayed_at``; the row stays as history. The run the task works on (a sync,
a settings push) is queued again first (workers.job_outcomes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from taskiq import AsyncBroker, TaskiqMessage
from taskiq.kicker import AsyncKicker

from origin.db import utcnow
from origin.tasks.tables import task_dead_letters
from origin.services import Services

ERROR_TEXT_LIMIT = 4000


@dataclass(frozen=True)
class DeadLetter:
    id: int
    tenant_id: int | None
    queue: str
    task_name: str
    payload: dict[str, Any]
    error: str
    attempts: int
    created_at: dt.datetime
    replayed_at: dt.datetime | None


def _tenant_of(message: TaskiqMessage) -> int | None:
    tenant_id = message.kwargs.get("tenant_id")
    return tenant_id if isinstance(tenant_id, int) else None


async def record(services: Services, *, queue: str, message: TaskiqMessage, error: BaseException, attempts: int) -> int:
    payload = {"args": message.args, "kwargs": message.kwargs}
    text = f"{type(error).__name__}: {error}"[:ERROR_TEXT_LIMIT]
    async with services.db.begin() as conn:
        result = await conn.execute(
            task_dead_letters.insert().values(
                tenant_id=_tenant_of(message), queue=queue, task_name=message.task_name,
                payload=payload, error=text, attempts=attempts, created_at=utcnow(),
            )
        )
    return int(result.inserted_primary_key[0])


async def select_dead_letters(services: Services, *, queue: str | None = None, include_replayed: bool = False) -> list[DeadLetter]:
    query = sa.select(task_dead_letters).order_by(task_dead_letters.c.id)
    if queue is not None:
        query = query.where(task_dead_letters.c.queue == queue)
    if not include_replayed:
        query = query.where(task_dead_letters.c.replayed_at.is_(None))
    async with services.db.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [DeadLetter(**row._mapping) for row in rows]


async def select_dead_letter(services: Services, dead_letter_id: int) -> DeadLetter | None:
    async with services.db.connect() as conn:
        row = (await conn.execute(sa.select(task_dead_letters).where(task_dead_letters.c.id == dead_letter_id))).first()
    return DeadLetter(**row._mapping) if row else None


async def replay(services: Services, broker: AsyncBroker, letter: DeadLetter) -> None:
    """Queue the task's run again, send the task (attempt 1), then mark the row replayed."""
    from workers.job_outcomes import job_replayed

    await job_replayed(services, letter.task_name, letter.payload.get("kwargs", {}))
    await AsyncKicker(letter.task_name, broker, {}).kiq(*letter.payload.get("args", []), **letter.payload.get("kwargs", {}))
    async with services.db.begin() as conn:
        await conn.execute(
            task_dead_letters.update().where(task_dead_letters.c.id == letter.id).values(replayed_at=utcnow())
        )
