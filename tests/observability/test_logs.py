"""Structured logs: one JSON object a line, request and tenant ids on each, secrets never shown (issue 19, item 6)."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from observability import context
from observability.logs import REDACTED, Redactor, configure_logging
from origin.app import create_app
from origin.services import Services
from origin.settings import Settings
from origin.tenancy import actions as tenancy
from tests.conftest import swap_in_place
from tests.factories import make_product, make_tenant
from workers import queues
from workers.brokers import make_broker
from workers.runtime import use_services

STRIPE_KEY = "sk_test_51Hx9QmExampleStripeKey00"
SMTP_PASSWORD = "correct-horse-battery"
FORM_PASSWORD = "opensesame-99"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(stripe_secret_key=STRIPE_KEY, smtp_password=SMTP_PASSWORD)


@pytest.fixture
def log_output(settings: Settings):
    """The process's logging configuration writing to a buffer; pytest's own handlers restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging("DEBUG", service="origin", secrets=settings.secret_values(), stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_a_request_carrying_a_token_a_password_and_a_stripe_key_logs_none_of_them(services: Services, public_app, log_output) -> None:
    tenant = await make_tenant(services, slug="acme")
    issued = await tenancy.do_issue_api_token(services, tenant.id)
    client = public_app.test_client()

    response = await client.get(f"/search?q=mug&password={FORM_PASSWORD}&stripe={STRIPE_KEY}",
                                headers={"Host": "acme.localhost", "Authorization": f"Bearer {issued.token}"})
    # What a careless library might write: the headers of an outbound call, an error with the key in it.
    logging.getLogger("some.library").warning("POST /v1/charges Authorization: Bearer %s smtp=%s", STRIPE_KEY, SMTP_PASSWORD)
    try:
        raise ValueError(f"token {issued.token} refused")
    except ValueError:
        logging.getLogger("some.library").exception("call failed")

    output = log_output.getvalue()
    assert response.status_code == 200
    assert [secret for secret in (issued.token, FORM_PASSWORD, STRIPE_KEY, SMTP_PASSWORD) if secret in output] == []
    assert output.count(REDACTED) >= 5
    access = [line for line in lines(log_output) if line["logger"] == "zelly.access"]
    assert access[0]["message"].startswith(f"GET /search?q=mug&password={REDACTED}&stripe={REDACTED} 200 ")
    assert access[0]["tenant_id"] == tenant.id


def test_the_redactor_knows_the_shapes_of_credentials_it_was_not_told() -> None:
    redact = Redactor(["exact-secret-value"])

    assert redact("a exact-secret-value b") == f"a {REDACTED} b"
    assert redact("Authorization: Bearer abc.def-ghi") == f"Authorization: Bearer {REDACTED}"
    assert redact("whsec_abcdef123 sk_live_abcdefgh rk_test_12345678 shpat_0123456789ab zly_Abc-def_123") == " ".join([REDACTED] * 5)
    assert redact("url /x?token=abc&q=mug&password=p@ss") == f"url /x?token={REDACTED}&q=mug&password={REDACTED}"
    assert redact("short sk_test_1 and skate") == "short sk_test_1 and skate"


async def test_every_line_of_a_request_carries_its_request_id_and_tenant(services: Services, public_app, log_output) -> None:
    tenant = await make_tenant(services, slug="acme")
    await make_product(services, tenant.id, handle="mug")
    other = await make_tenant(services, slug="nordic")
    client = public_app.test_client()

    first = await client.get("/products/mug", headers={"Host": "acme.localhost"})
    second = await client.get("/", headers={"Host": "nordic.localhost"})

    by_request = {}
    for line in lines(log_output):
        if "request_id" in line:
            by_request.setdefault(line["request_id"], []).append(line)
    first_id, second_id = first.headers["X-Request-Id"], second.headers["X-Request-Id"]
    assert (first.status_code, second.status_code) == (200, 200)
    assert first_id != second_id and len(first_id) == 24
    assert {line["tenant_id"] for line in by_request[first_id]} == {tenant.id}
    assert {line["tenant_id"] for line in by_request[second_id]} == {other.id}
    assert [line["logger"] for line in by_request[first_id]][-1] == "zelly.access"


def _scope(client_address: str, request_id: bytes) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": "/healthz", "raw_path": b"/healthz", "query_string": b"", "root_path": "",
        "headers": [(b"host", b"localhost"), (b"x-request-id", request_id)],
        "client": (client_address, 40000), "server": ("127.0.0.1", 8000), "extensions": {},
    }


async def _request_id_answered(app, client_address: str, request_id: bytes) -> str:
    sent: list[dict] = []
    answered = asyncio.Event()
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    await app(_scope(client_address, request_id), receive, send)
    headers = dict(sent[0]["headers"])
    return headers[b"x-request-id"].decode()


async def test_x_request_id_is_taken_only_from_a_trusted_proxy_and_only_well_formed(services: Services) -> None:
    swap_in_place(services, settings=services.settings.replace(trusted_proxies=("10.0.0.0/8",)))  # ZELLY_TRUSTED_PROXIES
    app = create_app(services.settings, services=services)  # /healthz only: no lifespan needed

    from_caddy = await _request_id_answered(app, "10.1.2.3", b"caddy-5f1e.42")
    from_loopback = await _request_id_answered(app, "127.0.0.1", b"edge-77")
    from_a_stranger = await _request_id_answered(app, "203.0.113.9", b"forged-id")
    malformed = await _request_id_answered(app, "10.1.2.3", b"bad id\" <script>" + b"x" * 200)

    assert (from_caddy, from_loopback) == ("caddy-5f1e.42", "edge-77")
    assert from_a_stranger != "forged-id" and len(from_a_stranger) == 24
    assert "script" not in malformed and len(malformed) == 24


async def test_a_task_kicked_during_a_request_logs_that_requests_id(services: Services, settings: Settings, log_output) -> None:
    in_process = make_broker(settings.replace(redis_url=""), queues.EMAIL_OUTBOX)
    use_services(in_process, services)

    @in_process.task(task_name="test.log_a_line")
    async def log_a_line() -> None:
        logging.getLogger("test.task").info("task ran")

    await in_process.startup()
    try:
        current, token = context.start("req-from-shopper-1", tenant_id=42)
        try:
            await log_a_line.kiq()
        finally:
            context.current.reset(token)
        await in_process.wait_all()
    finally:
        await in_process.shutdown()

    task_lines = [line for line in lines(log_output) if line["logger"] == "test.task"]
    assert [(line["message"], line["request_id"], line["tenant_id"]) for line in task_lines] == [("task ran", "req-from-shopper-1", 42)]
    if settings.redis_url:
        assert await _labels_of_a_kick_to_the_stream(services, settings) == ("req-from-shopper-2", 7)


async def _labels_of_a_kick_to_the_stream(services: Services, settings: Settings) -> tuple[str, int]:
    """Servers: what a producer puts in the Redis stream for a worker process (its labels)."""
    producer = make_broker(settings, queues.EMAIL_OUTBOX, producer=True)

    @producer.task(task_name="test.nothing")
    async def nothing() -> None:
        return None

    await producer.startup()
    try:
        current, token = context.start("req-from-shopper-2", tenant_id=7)
        try:
            await nothing.kiq()
        finally:
            context.current.reset(token)
        entries = await services.redis.xrange(queues.stream_key(queues.EMAIL_OUTBOX))
    finally:
        await producer.shutdown()
    labels = json.loads(entries[0][1][b"data"])["labels"]
    return labels["request_id"], labels["tenant_id"]
