"""The bulk-operation path for large catalogs (shopify.dev "Perform bulk operations").

1. ``bulkOperationRunQuery`` starts an asynchronous export; its id is kept on
   the run row so a restarted worker polls the same operation instead of
   starting another.
2. The run waits for COMPLETED: it polls the operation and also wakes early
   when the ``bulk_operations/finish`` webhook arrives (processing publishes
   it on BULK_FINISHED_CHANNEL).
3. The result is JSONL, one object per line, nested connections flattened:
   a variant or image line carries ``__parentId`` = its product's GID and
   follows its parent. Lines are grouped per product and applied in chunks of
   CHUNK_PRODUCTS products, each chunk one transaction that also stores
   ``bulk-products|<operation id>|<lines consumed>`` as the resume point.
4. Collections follow the same way, then products not seen are pruned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import AsyncIterator, Iterable

from origin.services import Services
from origin.shopify import documents
from origin.shopify.client import AdminClient
from origin.shopify.errors import ShopifyError, ShopifyErrorCode, ShopifyUnavailable
from origin.shopify.mapping import collection_from_node, loads, product_from_node
from origin.shopify.models import SyncRun
from origin.shopify.processing import BULK_FINISHED_CHANNEL
from origin.shopify.runs import get_run, touch_run, update_run
from origin.shopify.sync_pages import SyncStopped, apply_collections, apply_products, prune_unseen

log = logging.getLogger(__name__)

CHUNK_PRODUCTS = 250
POLL_INTERVAL_S = 2.0
PHASES = (("bulk-products", documents.BULK_PRODUCTS), ("bulk-collections", documents.BULK_COLLECTIONS))


def group_jsonl(lines: Iterable[str]) -> Iterable[tuple[int, dict, dict[str, list[dict]]]]:
    """(lines consumed so far, parent object, children by kind) per top-level object.

    Children are keyed by the GID kind (ProductVariant, ProductImage, Product for a
    collection's members). A child whose parent is not the current object is an
    error: Shopify writes each parent before its children.
    """
    parent: dict | None = None
    children: dict[str, list[dict]] = {}
    consumed = 0
    for line in lines:
        consumed += 1
        if not line.strip():
            continue
        item = loads(line)
        parent_id = item.pop("__parentId", None)
        if parent_id is None:
            if parent is not None:
                yield consumed - 1, parent, children
            parent, children = item, {}
            continue
        if parent is None or parent_id != parent["id"]:
            raise ShopifyError(ShopifyErrorCode.API_ERROR, f"bulk JSONL line {consumed} names parent {parent_id} out of order")
        kind = str(item.get("id", "")).split("/")[3] if str(item.get("id", "")).startswith("gid://") else "Unknown"
        children.setdefault(kind, []).append(item)
    if parent is not None:
        yield consumed, parent, children


def product_from_bulk(parent: dict, children: dict[str, list[dict]]):
    images = children.get("ProductImage", []) + children.get("MediaImage", [])
    return product_from_node(parent, variants=children.get("ProductVariant", []), images=images)


def collection_from_bulk(parent: dict, children: dict[str, list[dict]]):
    return collection_from_node(parent, [item["id"] for item in children.get("Product", [])])


async def run_bulk_sync(services: Services, client: AdminClient, run: SyncRun, *, poll_interval_s: float = POLL_INTERVAL_S) -> None:
    names = [name for name, _ in PHASES]
    current, operation_id, consumed = _parse(run.cursor or f"{names[0]}||0")
    first = names.index(current) if current in names else len(names)
    for index in range(first, len(PHASES)):
        phase, query = PHASES[index]
        if index > first:
            operation_id, consumed = "", "0"
        if not operation_id:
            operation_id = await _start(client, query)
            await update_run(services, run.id, bulk_operation_id=operation_id, cursor=f"{phase}|{operation_id}|0")
        url = await _wait_for_completion(services, client, run.tenant_id, run.id, operation_id, poll_interval_s)
        run = await get_run(services, run.tenant_id, run.id)
        await _apply_file(services, run, phase, operation_id, url, int(consumed or 0))
        next_phase = names[index + 1] if index + 1 < len(names) else "prune"
        await update_run(services, run.id, cursor=f"{next_phase}||0")
    await prune_unseen(services, await get_run(services, run.tenant_id, run.id))


def _parse(cursor: str) -> tuple[str, str, str]:
    parts = (cursor.split("|") + ["", "", ""])[:3]
    return parts[0], parts[1], parts[2]


async def _start(client: AdminClient, query: str) -> str:
    data = await client.execute(documents.BULK_RUN, {"query": query}, cost=documents.BULK_RUN_COST)
    result = data["bulkOperationRunQuery"]
    if result.get("userErrors"):
        raise ShopifyError(ShopifyErrorCode.API_ERROR, "bulk operation refused: " + "; ".join(e["message"] for e in result["userErrors"]))
    return result["bulkOperation"]["id"]


async def _wait_for_completion(
    services: Services, client: AdminClient, tenant_id: int, run_id: int, operation_id: str, poll_interval_s: float,
) -> str | None:
    async with services.broadcast.subscribe(BULK_FINISHED_CHANNEL) as messages:
        while True:
            data = await client.execute(documents.BULK_STATUS, {"id": operation_id}, cost=documents.BULK_STATUS_COST)
            operation = data.get("node") or {}
            status = operation.get("status")
            if status == "COMPLETED":
                return operation.get("url")  # None: the query matched nothing
            if status in ("FAILED", "CANCELED", "EXPIRED"):
                raise ShopifyError(ShopifyErrorCode.API_ERROR, f"bulk operation {operation_id} ended {status} ({operation.get('errorCode')})")
            if not await touch_run(services, run_id):
                raise SyncStopped(run_id)  # cancelled (or failed from outside) while Shopify works
            await _wake_or_timeout(messages, tenant_id, operation_id, poll_interval_s)


async def _wake_or_timeout(messages: AsyncIterator, tenant_id: int, operation_id: str, timeout_s: float) -> None:
    async def next_for_us() -> None:
        async for raw in messages:
            with contextlib.suppress(ValueError, TypeError):
                message = json.loads(raw)
                if message.get("tenant_id") == tenant_id and message.get("id") == operation_id:
                    return

    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(next_for_us(), timeout_s)


async def _apply_file(services: Services, run: SyncRun, phase: str, operation_id: str, url: str | None, skip_lines: int) -> None:
    if not url:
        return
    lines = await _download(services, url)
    is_products = phase == "bulk-products"
    batch: list = []
    last_consumed = skip_lines
    for consumed, parent, children in group_jsonl(lines):
        if consumed <= skip_lines:
            continue
        batch.append(product_from_bulk(parent, children) if is_products else collection_from_bulk(parent, children))
        last_consumed = consumed
        if len(batch) >= CHUNK_PRODUCTS:
            await _apply_chunk(services, run, is_products, batch, f"{phase}|{operation_id}|{last_consumed}")
            batch = []
    if batch:
        await _apply_chunk(services, run, is_products, batch, f"{phase}|{operation_id}|{last_consumed}")


async def _apply_chunk(services: Services, run: SyncRun, is_products: bool, batch: list, cursor: str) -> None:
    if is_products:
        await apply_products(services, run, batch, cursor, remember_seen=True)
    else:
        await apply_collections(services, run, batch, cursor)


async def _download(services: Services, url: str) -> list[str]:
    """The JSONL result (held in memory as lines; a 10,000-product export is a few MB)."""
    import httpx

    try:
        response = await services.http.get(url, timeout=httpx.Timeout(120.0, connect=5.0))
    except httpx.TransportError as error:
        raise ShopifyUnavailable(f"bulk result download failed: {error}") from None
    if response.status_code != 200:
        if response.status_code == 429 or response.status_code >= 500:
            raise ShopifyUnavailable(f"bulk result download answered HTTP {response.status_code}")
        raise ShopifyError(ShopifyErrorCode.API_ERROR, f"bulk result download answered HTTP {response.status_code}")
    return response.text.splitlines()
