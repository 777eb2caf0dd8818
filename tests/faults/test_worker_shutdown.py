"""SIGTERM stops a taskiq worker within its bound even with a task stuck in flight (issue 12, item 10).

The worker runs exactly as ops/deploy/systemd/zelly-worker@.service starts it
(its flags are read from the unit), on this suite's own redis-server, with an
email send in flight against an SMTP server that accepts and never greets (the
send would wait its 30 s timeout). Without ``--wait-tasks-timeout`` taskiq waits
for every running task, so SIGTERM took the SMTP timeout plus the closes.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from origin.invalidation import transaction
from origin.outbox.actions import queue_email
from origin.outbox.tables import email_outbox
from origin.outbox.templates import EmailTemplate
from origin.services import open_services
from origin.settings import Settings
from origin.tables import metadata
from tests.conftest import MYSQL_URL, empty_all_tables
from tests.factories import make_tenant
from tests.faults.harness import RedisServer
from tests.outbox.contexts import order_context
from workers import queues
from workers.dispatch import open_task_queue

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "ops/deploy/systemd/zelly-worker@.service"
STOP_BOUND_SECONDS = 6.0  # the unit's --wait-tasks-timeout and --shutdown-timeout, and process exit


def unit_worker_arguments() -> list[str]:
    """``taskiq worker …`` as the unit's ExecStart has it, for the email outbox queue."""
    line = next(line for line in UNIT.read_text().splitlines() if line.startswith("ExecStart="))
    words = shlex.split(line.removeprefix("ExecStart="))
    assert Path(words[0]).name == "taskiq", words
    return [sys.executable, "-m", "taskiq", *(word.replace("%i", "email_outbox") for word in words[1:])]


def worker_env(settings: Settings, smtp_port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZELLY_")}
    env.update(
        PYTHONPATH=str(ROOT), ZELLY_DATA_DIR=str(settings.data_dir), ZELLY_SECRET_KEY=settings.secret_key.reveal(),
        ZELLY_REDIS_URL=settings.redis_url, ZELLY_SMTP_HOST="127.0.0.1", ZELLY_SMTP_PORT=str(smtp_port),
    )
    if not settings.uses_embedded_database:
        env.update(ZELLY_DATABASE_URL=MYSQL_URL, ZELLY_DATABASE_SCHEMA_PREFIX=settings.database_schema_prefix)
    return env


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def until(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_sigterm_stops_a_worker_with_a_task_stuck_in_flight_within_the_bound(base_settings: Settings, redis_server: RedisServer, tmp_path: Path):
    settings = base_settings.replace(redis_url=redis_server.url)
    silent_smtp = socket.socket()  # listens (the kernel completes connections) and never greets
    silent_smtp.bind(("127.0.0.1", 0))
    silent_smtp.listen(16)
    log_path = tmp_path / "worker.log"
    async with open_services(settings, with_analytics=False) as services:
        if settings.uses_embedded_database:
            async with services.db.begin() as conn:
                await conn.run_sync(metadata.create_all)
        else:
            await empty_all_tables(services.db)
        tenant = await make_tenant(services, slug="acme", name="Acme")
        with open(log_path, "wb") as log:
            worker = subprocess.Popen(
                unit_worker_arguments(), cwd=ROOT, env=worker_env(settings, silent_smtp.getsockname()[1]),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        try:
            async with open_task_queue(settings, services, queue_names=(queues.EMAIL_OUTBOX,)):
                async with transaction(services) as (conn, effects):
                    await queue_email(conn, effects, tenant_id=tenant.id, to="ann@example.com", template=EmailTemplate.ORDER_CONFIRMATION,
                                      context=order_context(number="#1001"), dedupe_key="order:1:confirmation")

            async def claimed() -> bool:  # the worker took the row and is now waiting on the silent server
                async with services.db.connect() as conn:
                    return (await conn.execute(sa.select(email_outbox.c.claim_token))).scalar_one() is not None

            await until(claimed, 60, "the worker to start sending")
            started = time.monotonic()
            os.killpg(worker.pid, signal.SIGTERM)
            exit_code = await asyncio.to_thread(worker.wait, 30)
            while group_alive(worker.pid) and time.monotonic() - started < 30:
                await asyncio.sleep(0.05)
            stopped_after = time.monotonic() - started
        finally:
            if group_alive(worker.pid):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            silent_smtp.close()
        async with services.db.connect() as conn:
            row = (await conn.execute(sa.select(email_outbox.c.status, email_outbox.c.sent_at))).one()

    output = log_path.read_text()
    assert exit_code == 0, output[-3000:]
    assert stopped_after < STOP_BOUND_SECONDS, output[-3000:]
    assert "Waiting for 1 running tasks to complete" in output
    assert row.sent_at is None and row.status != "sent"  # not lost either: its lease expires and the sweep sends it
