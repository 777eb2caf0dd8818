"""What a dead letter and its replay mean for the job row a task works on (issue 12).

A task that carries a run (a catalog sync, a settings push or fetch) must not
leave that run ``running`` when it is given up on: workers.retry calls
:func:`job_dead_lettered` right after writing the dead letter, and the run
ends ``failed`` with the cause. Replaying the dead letter
(workers.deadletters.replay) calls :func:`job_replayed` first, which queues
the same run again, so the seller sees it move rather than a stale failure.
Tasks without a run (webhooks, email) have no entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from origin.services import Services
from origin.shopify import runs, settings_runs
from origin.shopify.models import RUN_FAILED


@dataclass(frozen=True)
class RunHooks:
    fail: Callable[[Services, int, int, str], Awaitable[None]]  # (services, tenant_id, run_id, cause)
    reopen: Callable[[Services, int, int], Awaitable[None]]  # (services, tenant_id, run_id)


async def _fail_sync(services: Services, tenant_id: int, run_id: int, cause: str) -> None:
    await runs.fail_dead_lettered_run(services, run_id, cause)


async def _fail_settings(services: Services, tenant_id: int, run_id: int, cause: str) -> None:
    await settings_runs.finish_settings_run(services, run_id, state=RUN_FAILED, error=cause)


HOOKS = {
    runs.SYNC_TASK: RunHooks(fail=_fail_sync, reopen=runs.reopen_for_replay),
    settings_runs.PUSH_TASK: RunHooks(fail=_fail_settings, reopen=settings_runs.reopen_for_replay),
    settings_runs.FETCH_TASK: RunHooks(fail=_fail_settings, reopen=settings_runs.reopen_for_replay),
}


def _run_of(kwargs: dict[str, Any]) -> tuple[int, int] | None:
    tenant_id, run_id = kwargs.get("tenant_id"), kwargs.get("run_id")
    if isinstance(tenant_id, int) and isinstance(run_id, int):
        return tenant_id, run_id
    return None  # a message from before runs were recorded


async def job_dead_lettered(services: Services, task_name: str, kwargs: dict[str, Any], cause: str) -> None:
    hooks, run = HOOKS.get(task_name), _run_of(kwargs)
    if hooks is not None and run is not None:
        await hooks.fail(services, *run, cause)


async def job_replayed(services: Services, task_name: str, kwargs: dict[str, Any]) -> None:
    hooks, run = HOOKS.get(task_name), _run_of(kwargs)
    if hooks is not None and run is not None:
        await hooks.reopen(services, *run)
