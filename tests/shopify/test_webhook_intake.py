"""POST /webhooks/shopify: the raw-ASGI intake (origin/web/asgi/webhook_intake.py) is its one implementation.

Every case is sent over real ASGI messages through the app's whole stack, as
hypercorn would, and checked for status, the headers that matter and the JSON
body. Quart's ``request_started`` signal shows that no case builds a Quart
request: there is no route behind the layer.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from quart import request_started

from origin.app import create_app
from tests.fakes.shopify.catalog import FakeCatalog, rest_product
from tests.fakes.shopify.webhooks import signature
from tests.shopify_harness import make_shop, running_fake, running_queues, webhook_sender


@pytest.fixture
async def env(services):
    async with running_fake(services) as fake, running_queues(services) as queues:
        shop, _ = await make_shop(services, fake, "acme")
        other, _ = await make_shop(services, fake, "other")
        app = create_app(services.settings, services=services)
        quart_requests: list[str] = []

        async def count(sender, **extra) -> None:
            quart_requests.append("request")

        request_started.connect(count, app)
        yield {"app": app, "shop": shop, "other": other, "queues": queues, "quart_requests": quart_requests,
               "sender": webhook_sender(None, shop)}
        request_started.disconnect(count, app)


async def call(asgi, headers: dict[str, str], chunks: list[bytes], *, method: str = "POST", path: str = "/webhooks/shopify",
               disconnect: bool = False):
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"localhost"), *((name.lower().encode(), value.encode()) for name, value in headers.items())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "extensions": {},
    }
    incoming = [{"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1 or disconnect}
                for index, chunk in enumerate(chunks or [b""])]
    if disconnect:
        incoming.append({"type": "http.disconnect"})
    sent: list[dict] = []

    async def receive() -> dict:
        if incoming:
            return incoming.pop(0)
        # Like a server: the client stays until the response is complete, then the
        # stream ends (Quart 0.23 waits for that disconnect before the call returns).
        await answered.wait()
        return {"type": "http.disconnect"}

    answered = asyncio.Event()

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered.set()

    await asgi(scope, receive, send)
    if not sent:
        return None
    start = sent[0]
    response_headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    body = b"".join(message.get("body", b"") for message in sent[1:])
    return start["status"], response_headers, body


def answer(status, headers, body):
    return status, headers.get("content-type"), headers.get("cache-control"), json.loads(body)


def delivery(sender, webhook_id: str, topic: str = "products/create", **changes):
    body = sender.encode(rest_product(FakeCatalog().add_product(title="Mug")))
    headers = sender.headers(topic, body, webhook_id=webhook_id)
    headers.update(changes)
    return headers, body


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("accepted", (200, {"status": "accepted"})),
        ("duplicate", (200, {"status": "duplicate"})),
        ("ignored_topic", (200, {"status": "ignored"})),
        ("bad_signature", (401, "bad_signature")),
        ("missing_signature", (401, "bad_signature")),
        ("body_altered", (401, "bad_signature")),
        ("unknown_shop", (401, "bad_signature")),
        ("other_tenants_secret", (401, "bad_signature")),
        ("missing_webhook_id", (422, "bad_webhook")),
    ],
)
async def test_the_intake_answers_every_delivery_itself(env, case, expected):
    app, sender = env["app"], env["sender"]
    headers, body = delivery(sender, f"intake-{case}")
    if case == "duplicate":
        await call(app.asgi_app, headers, [body])
    elif case == "ignored_topic":
        headers["X-Shopify-Topic"] = "carts/create"
    elif case == "bad_signature":
        headers["X-Shopify-Hmac-Sha256"] = signature("wrong-secret", body)
    elif case == "missing_signature":
        del headers["X-Shopify-Hmac-Sha256"]
    elif case == "body_altered":
        body = body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]
    elif case == "unknown_shop":
        headers["X-Shopify-Shop-Domain"] = "nobody.myshopify.com"
    elif case == "other_tenants_secret":
        headers["X-Shopify-Hmac-Sha256"] = signature(env["other"].secret, body)
    elif case == "missing_webhook_id":
        headers["X-Shopify-Webhook-Id"] = ""

    status, content_type, cache_control, payload = answer(*await call(app.asgi_app, headers, [body[:7], body[7:]]))  # two messages
    await env["queues"].drain()  # let the accepted deliveries finish before the stores close

    assert (status, content_type, cache_control) == (expected[0], "application/json", "no-store")
    assert payload == expected[1] if status == 200 else payload["error"]["code"] == expected[1]
    if status != 200:
        assert set(payload["error"]) >= {"code", "message"}  # the API's error shape
    assert env["quart_requests"] == []


async def test_a_body_over_the_limit_is_413_and_nothing_is_recorded(env):
    app, sender = env["app"], env["sender"]
    app.config["MAX_CONTENT_LENGTH"] = 64
    headers, body = delivery(sender, "big")
    assert len(body) > 64

    streamed = await call(app.asgi_app, headers, [body[:40], body[40:]])  # no Content-Length: cut off as it streams
    declared = await call(app.asgi_app, {**headers, "Content-Length": str(len(body))}, [body])  # refused before reading
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    retried = await call(app.asgi_app, headers, [body])
    await env["queues"].drain()

    assert answer(*streamed) == answer(*declared)
    assert answer(*streamed)[0] == 413
    assert answer(*streamed)[3]["error"]["code"] == "request_entity_too_large"
    assert answer(*retried)[3] == {"status": "accepted"}  # the refused deliveries left no dedupe record
    assert env["quart_requests"] == []


async def test_other_methods_guard_refusals_and_other_paths(env):
    app, sender = env["app"], env["sender"]
    headers, body = delivery(sender, "sni")

    wrong_method = await call(app.asgi_app, {}, [], method="GET")
    put = await call(app.asgi_app, headers, [body], method="PUT")
    options = await call(app.asgi_app, {}, [], method="OPTIONS")
    misdirected = await call(app.asgi_app, {**headers, "X-Zelly-SNI": "acme.localhost"}, [body])
    answered_by_layers = len(env["quart_requests"])
    other_path = await call(app.asgi_app, headers, [body], path="/webhooks/shopify/")

    for refused in (wrong_method, put):
        assert answer(*refused) == (405, "application/json", "no-store", {
            "error": {"code": "method_not_allowed", "message": "The method is not allowed for the requested URL."}})
        assert set(refused[1]["allow"].split(", ")) == {"POST", "OPTIONS"}
    assert (options[0], options[2], set(options[1]["allow"].split(", "))) == (200, b"", {"POST", "OPTIONS"})
    assert answer(*misdirected)[:3] == (421, "application/json", "no-store")
    assert json.loads(misdirected[2])["error"]["code"] == "misdirected_request"
    assert answered_by_layers == 0
    assert other_path[0] == 404
    assert len(env["quart_requests"]) == 1


async def test_an_app_without_services_yet_is_a_503(services):
    app = create_app(services.settings)  # a served process before its start-up opened the services

    response = await call(app.asgi_app, {"Content-Length": "2"}, [b"{}"])

    assert answer(*response)[:3] == (503, "application/json", "no-store")
    assert answer(*response)[3]["error"]["code"] == "service_unavailable"


async def test_a_client_that_leaves_mid_body_gets_no_answer_and_nothing_is_recorded(env):
    app, sender = env["app"], env["sender"]
    headers, body = delivery(sender, "left")

    left = await call(app.asgi_app, headers, [body[:10]], disconnect=True)
    retried = await call(app.asgi_app, headers, [body])
    await env["queues"].drain()

    assert left is None
    assert answer(*retried)[3] == {"status": "accepted"}
    assert env["quart_requests"] == []
