"""zelly mail outbox|retry as an operator runs them: a subprocess on the same stores as the test."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

from origin.db import utcnow
from origin.outbox.sending import MAX_ATTEMPTS, record_failure, claim, send_due
from origin.settings import Settings
from tests.factories import make_tenant
from tests.outbox.test_sending import queue, rows

ROOT = Path(__file__).resolve().parents[2]


async def zelly(settings: Settings, cwd: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZELLY_")}
    env.update(
        PYTHONPATH=str(ROOT), ZELLY_DATA_DIR=str(settings.data_dir), ZELLY_SECRET_KEY=settings.secret_key.reveal(),
        ZELLY_SMTP_PORT=str(settings.smtp_port), ZELLY_SMTP_STARTTLS=settings.smtp_starttls, ZELLY_MAIL_FROM=settings.mail_from,
    )
    if settings.database_url:
        env.update(ZELLY_DATABASE_URL=settings.database_url, ZELLY_DATABASE_SCHEMA_PREFIX=settings.database_schema_prefix)
    if settings.redis_url:
        env.update(ZELLY_REDIS_URL=settings.redis_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.cli", *args, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_an_operator_lists_dead_mail_and_retries_it_once(services, settings, smtp_server, tmp_path) -> None:
    tenant = await make_tenant(services)
    await queue(services, tenant.id, "order:1:confirmation", to="typo@example.com")
    await queue(services, tenant.id, "order:2:confirmation", number="#1002")
    [dead_id, sent_id] = [row["id"] for row in await rows(services)]
    at = utcnow()
    for _ in range(MAX_ATTEMPTS):  # the first row's relay failures, recorded without waiting out real back-offs
        row = await claim(services, dead_id, at)
        await record_failure(services, row, at, ConnectionRefusedError("relay refused the connection"))
        at += dt.timedelta(days=1)
    await send_due(services)  # sends the second row only

    code, listing, _ = await zelly(settings, tmp_path, "mail", "outbox", "--status", "dead")
    retried = await zelly(settings, tmp_path, "mail", "retry", str(dead_id))
    again = await zelly(settings, tmp_path, "mail", "retry", str(sent_id))
    await send_due(services)  # on Redis the CLI only enqueued: a worker (here, the sweep) sends
    delivered = smtp_server.mailbox.messages()

    assert code == 0
    assert f"{dead_id:>6}" in listing and "relay refused the connection" in listing
    assert f"{sent_id:>6}" not in listing
    assert retried[0] == 0, retried[2]
    assert (again[0], again[2].strip()) == (1, f"zelly: no dead email {sent_id}")
    assert sorted(m.envelope_to[0] for m in delivered) == ["ann@example.com", "typo@example.com"]
    assert {row["status"] for row in await rows(services)} == {"sent"}
