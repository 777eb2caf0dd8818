"""``Idempotency-Key`` on POST: a retried request replays the first answer instead of writing twice.

The protocol (per tenant: the key's primary key is ``(tenant_id, key)``):

1. *Claim* the key by inserting a row with ``status_code = 0`` in its own short
   transaction. The database's primary key decides the race: of two concurrent
   requests with one key, exactly one inserts; the other waits for the first to
   finish and then replays its answer. That is how concurrent duplicates produce
   one write.
2. Run the handler, then store its status and JSON body on the row. Answers
   below 500 are stored (a 422 for a bad body is as final as a 201); a 5xx or a
   crash releases the claim so the client can retry with the same key.
3. A later request with the key: same fingerprint (method, path, canonical JSON
   body) replays the stored status and body with ``Idempotent-Replayed: true``;
   a different fingerprint is 409 ``idempotency_key_reused``.

Trade-offs: the claim commits before the catalog write, and the answer after
it, so a process killed between the two leaves a claim with no answer. Such a
claim is taken over after ``ABANDONED_AFTER`` (far longer than any request
lives). Keys expire after ``KEY_LIFETIME`` (as Stripe's do), and are then free
for reuse; expired rows are deleted when their key is next claimed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Callable

import sqlalchemy as sa
from quart import Response, request
from sqlalchemy.exc import IntegrityError

from origin.idempotency.tables import api_idempotency_keys as keys_table
from origin.db import utcnow
from origin.services import Services
from origin.web.seller.api.framework.problems import API_ERRORS, ApiValidationError, FieldProblem, render_api_error
from origin.web.seller.api_tokens import api_tenant
from origin.web.context import current_services
from origin.web.errors import json_error

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as Stripe accepts
IN_PROGRESS = 0
KEY_LIFETIME = dt.timedelta(hours=24)
ABANDONED_AFTER = dt.timedelta(minutes=5)
WAIT_FOR_FIRST = 10.0  # seconds a duplicate waits for the first request's answer
POLL_INTERVAL = 0.05


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status_code: int
    body: str
    created_at: dt.datetime

    @property
    def is_in_progress(self) -> bool:
        return self.status_code == IN_PROGRESS


def request_fingerprint(method: str, path: str, raw_body: bytes) -> str:
    """SHA-256 of the method, path and the body as canonical JSON (key order and spacing ignored)."""
    try:
        body = json.dumps(json.loads(raw_body, parse_float=str, parse_int=str), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        body = raw_body.decode("utf-8", "replace")  # unparseable: the bytes themselves
    digest = hashlib.sha256()
    for part in (method, path, body):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def validate_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ApiValidationError(
            [FieldProblem(f"header:{HEADER}", "invalid_idempotency_key", "send 1-255 visible ASCII characters, e.g. a UUID")]
        )
    return key


async def _select(services: Services, tenant_id: int, key: str) -> StoredAnswer | None:
    query = sa.select(keys_table).where(keys_table.c.tenant_id == tenant_id, keys_table.c.key == key)
    async with services.db.connect() as conn:
        row = (await conn.execute(query)).first()
    if row is None:
        return None
    return StoredAnswer(row.request_fingerprint, row.status_code, row.response_body, row.created_at)


async def _try_claim(services: Services, tenant_id: int, key: str, fingerprint: str) -> bool:
    try:
        async with services.db.begin() as conn:
            await conn.execute(
                keys_table.insert().values(
                    tenant_id=tenant_id, key=key, request_fingerprint=fingerprint, status_code=IN_PROGRESS, response_body=""
                )
            )
    except IntegrityError:
        return False
    return True


async def _take_over(services: Services, tenant_id: int, key: str, stale: StoredAnswer, fingerprint: str) -> bool:
    """Replace an expired or abandoned row, only if nobody else replaced it first."""
    async with services.db.begin() as conn:
        result = await conn.execute(
            keys_table.update()
            .where(
                keys_table.c.tenant_id == tenant_id,
                keys_table.c.key == key,
                keys_table.c.created_at == stale.created_at,
                keys_table.c.status_code == stale.status_code,
            )
            .values(request_fingerprint=fingerprint, status_code=IN_PROGRESS, response_body="", created_at=utcnow())
        )
    return result.rowcount == 1


async def _store(services: Services, tenant_id: int, key: str, status_code: int, body: str) -> None:
    async with services.db.begin() as conn:
        await conn.execute(
            keys_table.update()
            .where(keys_table.c.tenant_id == tenant_id, keys_table.c.key == key)
            .values(status_code=status_code, response_body=body)
        )


async def _release(services: Services, tenant_id: int, key: str) -> None:
    async with services.db.begin() as conn:
        await conn.execute(
            keys_table.delete().where(
                keys_table.c.tenant_id == tenant_id, keys_table.c.key == key, keys_table.c.status_code == IN_PROGRESS
            )
        )


def _replay(answer: StoredAnswer) -> Response:
    response = Response(answer.body, status=answer.status_code, content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _key_reused() -> Response:
    return json_error(
        409,
        "idempotency_key_reused",
        f"this {HEADER} was already used with a different request; send a new key for a new request",
    )


def _still_running() -> Response:
    response = json_error(
        409, "idempotency_in_progress", f"a request with this {HEADER} is still being processed; retry in a moment"
    )
    response.headers["Retry-After"] = "1"
    return response


async def _claim_or_answer(services: Services, tenant_id: int, key: str, fingerprint: str) -> Response | None:
    """None when this request owns the key now; otherwise the response to send instead."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR_FIRST
    while True:
        if await _try_claim(services, tenant_id, key, fingerprint):
            return None
        existing = await _select(services, tenant_id, key)
        if existing is None:
            continue  # released between our insert and our read: claim again
        age = utcnow() - existing.created_at
        if age > KEY_LIFETIME or (existing.is_in_progress and age > ABANDONED_AFTER):
            if await _take_over(services, tenant_id, key, existing, fingerprint):
                return None
            continue
        if existing.fingerprint != fingerprint:
            return _key_reused()
        if not existing.is_in_progress:
            return _replay(existing)
        if asyncio.get_running_loop().time() >= deadline:
            return _still_running()
        await asyncio.sleep(POLL_INTERVAL)


def idempotent(handler: Callable) -> Callable:
    """Decorator for POST handlers, inside ``@require_api_tenant``; a request without the header runs as usual."""

    @functools.wraps(handler)
    async def wrapper(*args, **kwargs):
        raw_key = request.headers.get(HEADER)
        if raw_key is None:
            return await handler(*args, **kwargs)
        key = validate_key(raw_key)
        services = current_services()
        tenant_id = api_tenant().id
        fingerprint = request_fingerprint(request.method, request.path, await request.get_data(as_text=False))
        answer = await _claim_or_answer(services, tenant_id, key, fingerprint)
        if answer is not None:
            return answer
        try:
            try:
                response = await handler(*args, **kwargs)
            except API_ERRORS as error:  # rendered here, so a 4xx is stored and replayed too
                response = render_api_error(error)
        except BaseException:
            await asyncio.shield(_release(services, tenant_id, key))
            raise
        if response.status_code >= 500:
            await _release(services, tenant_id, key)
        else:
            await _store(services, tenant_id, key, response.status_code, await response.get_data(as_text=True))
        return response

    return wrapper
