"""The fake Admin API as a Quart app served by hypercorn on a loopback port chosen by the OS."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import socket
import time
from dataclasses import dataclass, field
from typing import AsyncIterator

from graphql import GraphQLError, OperationDefinitionNode, execute, parse, validate
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, request

from tests.fakes.shopify import graphql_api
from tests.fakes.shopify.catalog import FakeCatalog
from tests.fakes.shopify.webhooks import WebhookSender

DOCS = "https://shopify.dev/api/usage/rate-limits"
# shopify.dev: Standard 100 points/s, Advanced 200, Plus 1000, Enterprise 2000; the bucket holds 20 s of restore.
PLANS = {"standard": 100.0, "advanced": 200.0, "plus": 1000.0, "enterprise": 2000.0}
MAX_QUERY_COST = 1000


@dataclass
class LeakyBucket:
    size: float
    restore_rate: float
    available: float = -1.0
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.available < 0:
            self.available = self.size

    def level(self) -> float:
        now = time.monotonic()
        self.available = min(self.size, self.available + (now - self.at) * self.restore_rate)
        self.at = now
        return self.available

    def empty(self) -> None:
        """Spend the whole bucket now (another app, or an earlier burst, used it)."""
        self.available = 0.0
        self.at = time.monotonic()

    def status(self) -> dict:
        return {"maximumAvailable": self.size, "currentlyAvailable": int(self.level()), "restoreRate": self.restore_rate}


@dataclass
class FakeShop:
    domain: str
    token: str
    catalog: FakeCatalog
    bucket: LeakyBucket
    faults: list[int] = field(default_factory=list)  # HTTP statuses to answer the next requests with
    requests: list[dict] = field(default_factory=list)  # one entry per GraphQL request received
    bulk_operations: dict[str, dict] = field(default_factory=dict)
    bulk_delay_s: float = 0.05
    webhooks: WebhookSender | None = None

    @property
    def throttled(self) -> int:
        return sum(1 for entry in self.requests if entry["throttled"])

    def fail_next(self, *statuses: int) -> None:
        self.faults.extend(statuses)


class FakeShopify:
    def __init__(self) -> None:
        self.shops: dict[str, FakeShop] = {}
        self.base_url = ""
        self.app = self._build_app()
        self._tasks: set[asyncio.Task] = set()
        self._documents: dict[str, tuple] = {}

    def add_shop(self, domain: str, token: str, catalog: FakeCatalog, *, plan: str = "standard",
                 restore_rate: float | None = None, bucket_size: float | None = None) -> FakeShop:
        rate = restore_rate or PLANS[plan]
        shop = FakeShop(domain, token, catalog, LeakyBucket(size=bucket_size or rate * 20, restore_rate=rate))
        self.shops[token] = shop
        return shop

    def uninstall_app(self, domain: str) -> None:
        """The merchant uninstalls the app: Shopify revokes its access tokens (the Admin API answers 401 to them)
        before it sends ``app/uninstalled``."""
        for token in [token for token, shop in self.shops.items() if shop.domain == domain]:
            del self.shops[token]

    # ------------------------------------------------------------------ GraphQL

    def _build_app(self) -> Quart:
        app = Quart("fake-shopify")

        @app.post("/admin/api/<version>/graphql.json")
        async def admin_graphql(version: str) -> Response:
            shop = self.shops.get(request.headers.get("X-Shopify-Access-Token", ""))
            if shop is None:
                return _json({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401)
            if shop.faults:
                status = shop.faults.pop(0)
                response = _json({"errors": "Internal Server Error" if status >= 500 else "Exceeded API rate limit"}, status)
                if status == 429:
                    response.headers["Retry-After"] = "0.05"
                shop.requests.append({"at": time.monotonic(), "requested": None, "available": None, "throttled": False, "status": status})
                return response
            body = json.loads(await request.get_data(as_text=True))
            return _json(await self._execute(shop, body.get("query", ""), body.get("variables") or {}))

        @app.get("/bulk-results/<path:name>")
        async def bulk_result(name: str) -> Response:
            for shop in self.shops.values():
                for operation in shop.bulk_operations.values():
                    if operation.get("file_name") == name:
                        return Response(operation["jsonl"], content_type="application/jsonl")
            return Response("not found", status=404)

        return app

    def _parsed(self, query: str):
        """Parse and validate once per distinct document (Shopify's servers do this work, not the client's CPU)."""
        cached = self._documents.get(query)
        if cached is None:
            try:
                document = parse(query)
            except GraphQLError as error:
                return None, [{"message": error.message, "extensions": {"code": "PARSE_ERROR"}}]
            cached = self._documents[query] = (document, [{"message": p.message} for p in validate(graphql_api.schema, document)])
        return cached

    async def _execute(self, shop: FakeShop, query: str, variables: dict) -> dict:
        document, problems = self._parsed(query)
        if problems:
            return {"errors": problems}
        try:
            cost = graphql_api.requested_cost(document, variables)
        except graphql_api.QueryError as error:
            return {"errors": [{"message": str(error), "extensions": {"code": error.code}}]}
        if cost > MAX_QUERY_COST:
            return {"errors": [{
                "message": f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST, "documentation": DOCS},
            }]}
        available = shop.bucket.level()
        entry = {"at": time.monotonic(), "requested": cost, "available": available, "throttled": available < cost, "status": 200}
        shop.requests.append(entry)
        if available < cost:
            return {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "documentation": DOCS}}],
                "extensions": {"cost": {"requestedQueryCost": cost, "actualQueryCost": None, "throttleStatus": shop.bucket.status()}},
            }
        shop.bucket.available -= cost
        is_mutation = any(isinstance(d, OperationDefinitionNode) and d.operation.value == "mutation" for d in document.definitions)
        result = execute(graphql_api.schema, document, root_value=self._root(shop), variable_values=variables,
                         context_value={"products": shop.catalog.products}, field_resolver=_resolve)
        if inspect.isawaitable(result):
            result = await result
        actual = graphql_api.actual_cost(result.data, is_mutation=is_mutation)
        shop.bucket.available = min(shop.bucket.size, shop.bucket.available + cost - actual)  # refund to the actual cost
        entry["actual"] = actual
        body: dict = {"data": result.data}
        if result.errors:
            body["errors"] = [{"message": error.message} for error in result.errors]
        body["extensions"] = {"cost": {"requestedQueryCost": cost, "actualQueryCost": actual, "throttleStatus": shop.bucket.status()}}
        return body

    def _root(self, shop: FakeShop) -> dict:
        catalog = shop.catalog

        def products(info, first=None, after=None, query=None, sortKey=None):
            return graphql_api.paginate(graphql_api.search(list(catalog.products.values()), query), first, after)

        def collections(info, first=None, after=None, query=None, sortKey=None):
            return graphql_api.paginate(graphql_api.search(list(catalog.collections.values()), query), first, after)

        def collection(info, id):
            return catalog.collections.get(id)

        def node(info, id):
            return shop.bulk_operations.get(id) or catalog.products.get(id) or catalog.collections.get(id)

        def shop_field(info):
            data = dict(catalog.shop)
            data["myshopifyDomain"] = shop.domain  # like Shopify: the shop the token belongs to, whatever URL was called
            data["metafields"] = [{"key": k, "value": v, "namespace": "zelly", "id": f"gid://shopify/Metafield/{i + 1}"}
                                  for i, (k, v) in enumerate(sorted(catalog.shop["metafields"].items()))]
            return data

        def products_count(info):
            return {"count": len(catalog.products)}

        def bulk_operation_run_query(info, query):
            running = [op for op in shop.bulk_operations.values() if op["status"] in ("CREATED", "RUNNING")]
            if running:
                return {"bulkOperation": None, "userErrors": [{"field": ["query"], "message": f"A bulk query operation for this app and shop is already in progress: {running[0]['id']}."}]}
            return {"bulkOperation": self._start_bulk(shop, query), "userErrors": []}

        def metafields_set(info, metafields):
            if len(metafields) > 25:
                return {"metafields": None, "userErrors": [{"field": ["metafields"], "message": "Exceeded the maximum metafields input limit of 25.", "code": "LESS_THAN_OR_EQUAL_TO"}]}
            for item in metafields:
                catalog.shop["metafields"][item["key"]] = item["value"]
            return {"metafields": [{"key": m["key"], "value": m["value"], "namespace": m["namespace"]} for m in metafields], "userErrors": []}

        return {
            "products": products, "collections": collections, "collection": collection, "node": node, "shop": shop_field,
            "productsCount": products_count, "bulkOperationRunQuery": bulk_operation_run_query, "metafieldsSet": metafields_set,
        }

    # ------------------------------------------------------------------ bulk operations

    def _start_bulk(self, shop: FakeShop, query: str) -> dict:
        number = shop.catalog.new_id()
        operation = {"__typename": "BulkOperation", "id": f"gid://shopify/BulkOperation/{number}", "status": "RUNNING",
                     "errorCode": None, "objectCount": "0", "url": None, "partialDataUrl": None}
        shop.bulk_operations[operation["id"]] = operation
        task = asyncio.create_task(self._finish_bulk(shop, operation, query, number))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return operation

    async def _finish_bulk(self, shop: FakeShop, operation: dict, query: str, number: int) -> None:
        await asyncio.sleep(shop.bulk_delay_s)
        lines = bulk_jsonl(shop.catalog, query)
        operation["jsonl"] = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        operation["file_name"] = f"{number}.jsonl"
        operation["objectCount"] = str(len(lines))
        operation["url"] = f"{self.base_url}/bulk-results/{number}.jsonl" if lines else None
        operation["status"] = "COMPLETED"
        if shop.webhooks is not None:
            await shop.webhooks.send("bulk_operations/finish", {
                "admin_graphql_api_id": operation["id"], "completed_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z",
                "error_code": None, "status": "completed", "type": "query",
            })


def bulk_jsonl(catalog: FakeCatalog, query: str) -> list[dict]:
    """Flattened objects, each parent followed by its children (which carry __parentId)."""
    lines: list[dict] = []
    root = query.strip().lstrip("{").strip()
    by_id = lambda item: int(item["id"].rsplit("/", 1)[-1])  # noqa: E731
    if root.startswith("products"):
        for product in sorted(catalog.products.values(), key=by_id):
            lines.append({key: value for key, value in product.items() if key not in ("variants", "images")})
            lines.extend({**variant, "__parentId": product["id"]} for variant in product["variants"])
            lines.extend({**image, "__parentId": product["id"]} for image in product["images"])
    elif root.startswith("collections"):
        for collection in sorted(catalog.collections.values(), key=by_id):
            lines.append({key: value for key, value in collection.items() if key != "productIds"})
            lines.extend({"id": product_id, "__parentId": collection["id"]} for product_id in collection["productIds"])
    return lines


def _resolve(source, info, **args):
    if isinstance(source, dict):
        if info.field_name == "products" and "productIds" in source:
            catalog_products = info.context["products"]
            value = [catalog_products[gid] for gid in source["productIds"] if gid in catalog_products]
        else:
            value = source.get(info.field_name)
    else:
        value = getattr(source, info.field_name, None)
    if callable(value):
        return value(info, **args)
    field_type = graphql_api._unwrap(info.return_type)
    if getattr(field_type, "name", "").endswith("Connection") and isinstance(value, list):
        return graphql_api.paginate(value, args.get("first"), args.get("after"))
    return value


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@contextlib.asynccontextmanager
async def serve_fake(fake: FakeShopify) -> AsyncIterator[str]:
    """Serve on 127.0.0.1 with an OS-chosen port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = None
    stop = asyncio.Event()
    fake.base_url = f"http://127.0.0.1:{port}"
    server = asyncio.create_task(serve(fake.app, config, shutdown_trigger=stop.wait))
    try:
        yield fake.base_url
    finally:
        stop.set()
        for task in list(fake._tasks):
            task.cancel()
        await asyncio.gather(server, *fake._tasks, return_exceptions=True)
        with contextlib.suppress(OSError):  # hypercorn closed the descriptor it was given
            sock.close()
