"""``Idempotency-Key`` on POST: replay, conflict, per-tenant scope, concurrency, expiry."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from origin.catalog.tables import collections, products
from origin.db import utcnow
from origin.idempotency.tables import api_idempotency_keys
from origin.web.seller.api.framework import idempotency
from tests.api.conftest import product_body
from tests.conftest import count_rows


async def _products(services, tenant_id: int) -> int:
    async with services.db.connect() as conn:
        return await count_rows(conn, products, tenant_id=tenant_id)


async def test_a_retry_replays_the_first_answer_without_writing_again(client, services, store) -> None:
    headers = store.headers(Idempotency_Key="create-shirt-1")

    first = await client.post("/api/v1/products", json=product_body(), headers=headers)
    retry = await client.post("/api/v1/products", json=product_body(), headers=headers)

    assert first.status_code == retry.status_code == 201
    assert await retry.get_data() == await first.get_data()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await _products(services, store.tenant.id) == 1


async def test_key_order_and_spacing_do_not_make_a_different_body(client, services, store) -> None:
    headers = {**store.headers(Idempotency_Key="k1"), "Content-Type": "application/json"}
    body = product_body()

    first = await client.post("/api/v1/products", data=json.dumps(body), headers=headers)
    retry = await client.post("/api/v1/products", data=json.dumps(dict(reversed(body.items())), indent=2), headers=headers)

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await _products(services, store.tenant.id) == 1


async def test_the_same_key_with_another_body_is_409(client, services, store) -> None:
    headers = store.headers(Idempotency_Key="k2")

    first = await client.post("/api/v1/products", json=product_body(), headers=headers)
    other = await client.post("/api/v1/products", json=product_body(title="Other", handle="other"), headers=headers)

    assert first.status_code == 201
    assert other.status_code == 409
    assert (await other.get_json())["error"]["code"] == "idempotency_key_reused"
    assert await _products(services, store.tenant.id) == 1


async def test_the_same_key_on_another_endpoint_is_409(client, services, store) -> None:
    headers = store.headers(Idempotency_Key="k3")

    await client.post("/api/v1/collections", json={"title": "Sale"}, headers=headers)
    other = await client.post("/api/v1/products", json={"title": "Sale"}, headers=headers)

    assert other.status_code == 409


async def test_keys_belong_to_one_tenant(client, services, store, other_store) -> None:
    mine = await client.post("/api/v1/products", json=product_body(), headers=store.headers(Idempotency_Key="shared"))
    theirs = await client.post("/api/v1/products", json=product_body(), headers=other_store.headers(Idempotency_Key="shared"))

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert (await theirs.get_json())["currency"] == "EUR"
    assert await _products(services, store.tenant.id) == await _products(services, other_store.tenant.id) == 1


async def test_a_refusal_is_replayed_too(client, services, store) -> None:
    headers = store.headers(Idempotency_Key="k4")
    bad = product_body(variants=[{"options": ["S"], "price": "-1"}])

    first = await client.post("/api/v1/products", json=bad, headers=headers)
    retry = await client.post("/api/v1/products", json=bad, headers=headers)

    assert first.status_code == retry.status_code == 422
    assert await retry.get_json() == await first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"


async def test_concurrent_duplicates_write_once(client, services, store) -> None:
    headers = store.headers(Idempotency_Key="burst")

    responses = await asyncio.gather(*(client.post("/api/v1/products", json=product_body(), headers=headers) for _ in range(6)))

    assert [r.status_code for r in responses] == [201] * 6
    assert len({(await r.get_json())["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 5
    assert await _products(services, store.tenant.id) == 1


async def test_a_duplicate_of_a_request_still_running_gets_409_after_waiting(client, services, store, monkeypatch) -> None:
    monkeypatch.setattr(idempotency, "WAIT_FOR_FIRST", 0.2)
    await _insert_key(services, store.tenant.id, "slow", status_code=idempotency.IN_PROGRESS, age=dt.timedelta(seconds=1))

    response = await client.post("/api/v1/collections", json={"title": "Sale"}, headers=store.headers(Idempotency_Key="slow"))

    assert response.status_code == 409
    assert (await response.get_json())["error"]["code"] == "idempotency_in_progress"
    assert response.headers["Retry-After"] == "1"


async def test_an_abandoned_claim_is_taken_over(client, services, store) -> None:
    await _insert_key(services, store.tenant.id, "crashed", status_code=idempotency.IN_PROGRESS, age=dt.timedelta(minutes=10))

    response = await client.post("/api/v1/collections", json={"title": "Sale"}, headers=store.headers(Idempotency_Key="crashed"))

    assert response.status_code == 201


async def test_an_expired_key_can_be_used_again(client, services, store) -> None:
    await _insert_key(services, store.tenant.id, "old", status_code=201, age=dt.timedelta(hours=25), fingerprint="0" * 64)

    response = await client.post("/api/v1/collections", json={"title": "Sale"}, headers=store.headers(Idempotency_Key="old"))
    retry = await client.post("/api/v1/collections", json={"title": "Sale"}, headers=store.headers(Idempotency_Key="old"))

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert retry.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ключ"])
async def test_a_malformed_key_is_422(client, services, store, key: str) -> None:
    response = await client.post("/api/v1/collections", json={"title": "Sale"}, headers={**store.auth, "Idempotency-Key": key})

    assert response.status_code == 422
    assert [f["path"] for f in (await response.get_json())["error"]["fields"]] == ["header:Idempotency-Key"]
    async with services.db.connect() as conn:
        assert await count_rows(conn, collections) == 0


async def test_a_request_without_a_key_is_not_recorded(client, services, store) -> None:
    await client.post("/api/v1/collections", json={"title": "Sale"}, headers=store.auth)

    async with services.db.connect() as conn:
        assert await count_rows(conn, api_idempotency_keys) == 0


async def test_a_large_answer_is_stored_and_replayed(client, services, store) -> None:
    headers = store.headers(Idempotency_Key="big")
    body = product_body(description_html="x" * 100_000)

    first = await client.post("/api/v1/products", json=body, headers=headers)
    retry = await client.post("/api/v1/products", json=body, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert await retry.get_data() == await first.get_data()


async def _insert_key(services, tenant_id: int, key: str, *, status_code: int, age: dt.timedelta, fingerprint: str | None = None) -> None:
    fingerprint = fingerprint or idempotency.request_fingerprint("POST", "/api/v1/collections", b'{"title": "Sale"}')
    async with services.db.begin() as conn:
        await conn.execute(
            api_idempotency_keys.insert().values(
                tenant_id=tenant_id,
                key=key,
                request_fingerprint=fingerprint,
                status_code=status_code,
                response_body="{}",
                created_at=utcnow() - age,
            )
        )
