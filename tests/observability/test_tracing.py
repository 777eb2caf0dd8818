"""OpenTelemetry traces to a real OTLP/HTTP receiver on loopback, only when an endpoint is set (issue 19, item 6)."""

from __future__ import annotations

import datetime as dt
import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from taskiq import TaskiqMessage

from edge.app import wrap_origin
from edge.config import EdgeConfig
from observability import tracing
from origin.app import create_app
from origin.services import Services
from origin.shopify.webhooks import PROCESS_TASK
from tests.factories import make_product, make_tenant
from tests.fakes.shopify.catalog import FakeCatalog, rest_product
from tests.shopify_harness import make_shop, running_fake, running_queues, webhook_sender
from workers import queues
from workers.brokers import make_broker
from workers.observed import TRACEPARENT_LABEL, ObservedTasks
from workers.runtime import use_services

ROOT = Path(__file__).resolve().parents[2]


class Receiver(http.server.BaseHTTPRequestHandler):
    """The collector's half of OTLP/HTTP: protobuf ExportTraceServiceRequest in, an empty response out."""

    exports: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        self.server.exports.append((self.path, export))  # type: ignore[attr-defined]
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def otlp_receiver():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.exports = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def spans_of(server) -> list[tuple[str, object]]:
    found = []
    for path, export in server.exports:
        assert path == "/v1/traces"
        for resource_spans in export.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope_spans in resource_spans.scope_spans:
                found += [(service, span) for span in scope_spans.spans]
    return found


async def _through_the_edge(edge, path: str, host: bytes) -> int:
    sent: list[dict] = []
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [(b"host", host)],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "extensions": {}}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await edge(scope, receive, send)
    return sent[0]["status"]


async def test_one_request_through_the_edge_is_one_trace_of_request_fetch_render_db_and_task_spans(
        services: Services, otlp_receiver) -> None:
    tenant = await make_tenant(services, slug="acme")
    await make_product(services, tenant.id, handle="mug")
    broker = use_services(make_broker(services.settings.replace(redis_url=""), queues.EMAIL_OUTBOX), services)

    @broker.task(task_name="test.traced")
    async def traced() -> None:
        return None

    await broker.startup()
    edge = wrap_origin(create_app(services.settings, services=services), EdgeConfig(), services.broadcast)
    await edge.startup()
    stop_tracing = tracing.configure_tracing(f"http://127.0.0.1:{otlp_receiver.server_address[1]}", service="edge")
    try:
        status = await _through_the_edge(edge, "/products/mug", b"acme.localhost")
        with tracing.span("http.request"):  # as a request handler that enqueues
            await traced.kiq()
        await broker.wait_all()
    finally:
        stop_tracing()  # flushes the batch
        await edge.shutdown()
        await broker.shutdown()

    spans = spans_of(otlp_receiver)
    by_name: dict[str, list] = {}
    for _, span in spans:
        by_name.setdefault(span.name, []).append(span)
    edge_request = next(span for span in by_name["http.request"] if not span.parent_span_id)
    fetch = by_name["upstream.fetch"][0]
    origin_request = next(span for span in by_name["http.request"] if span.parent_span_id == fetch.span_id)
    render = by_name["render"][0]
    in_request = [span for _, span in spans if span.trace_id == edge_request.trace_id]
    assert status == 200
    assert {service for service, _ in spans} == {"zelly-edge"}
    assert fetch.parent_span_id == edge_request.span_id
    assert render.parent_span_id == origin_request.span_id
    assert any(span.name == "db.statement" for span in in_request)
    if services.redis is not None:
        assert any(span.name == "redis.command" for span in in_request)
    enqueuing = [span for span in by_name["http.request"] if span.span_id == by_name["task"][0].parent_span_id]
    assert len(by_name["task"]) == 1 and len(enqueuing) == 1 and enqueuing[0].trace_id != edge_request.trace_id
    assert tracing.is_enabled() is False


def attributes_of(span) -> dict[str, str]:
    return {attribute.key: attribute.value.string_value for attribute in span.attributes}


async def test_a_task_kicked_by_a_request_runs_in_the_worker_as_a_child_of_the_request_span(
        services: Services, otlp_receiver) -> None:
    # Given a shop whose webhooks a worker consumes: on the servers backend a Redis stream read by an
    # in-process ReclaimingStreamBroker receiver, as `taskiq worker` runs it. The receiver started before
    # any span existed, so only the message's labels can tell it which request kicked the task.
    async with running_fake(services) as fake, running_queues(services) as task_queues:
        shop, _ = await make_shop(services, fake, "acme")
        client = create_app(services.settings, services=services).test_client()
        product = FakeCatalog().add_product(title="Mug", updated_at=dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc))
        stop_tracing = tracing.configure_tracing(f"http://127.0.0.1:{otlp_receiver.server_address[1]}", service="origin")
        try:
            # When Shopify's webhook arrives (the intake enqueues it inside the request) and the worker runs it
            response = await webhook_sender(client, shop).send("products/create", rest_product(product))
            await task_queues.drain()
        finally:
            stop_tracing()  # flushes the batch

    spans = [span for _, span in spans_of(otlp_receiver)]
    requests = [span for span in spans if span.name == "http.request" and attributes_of(span).get("http.route") == "webhook_shopify"]
    tasks = [span for span in spans if span.name == "task" and attributes_of(span).get("zelly.task") == PROCESS_TASK]
    assert response.status_code == 200
    assert (len(requests), len(tasks)) == (1, 1)
    request, task = requests[0], tasks[0]
    assert task.trace_id == request.trace_id
    assert task.parent_span_id == request.span_id
    assert attributes_of(task)["zelly.request_id"] == attributes_of(request)["zelly.request_id"]
    # The task's own statements nest under it, in the same trace.
    assert any(span.name == "db.statement" and span.parent_span_id == task.span_id and span.trace_id == request.trace_id
               for span in spans)


async def test_a_kick_inside_a_span_carries_its_w3c_traceparent_label(otlp_receiver) -> None:
    middleware = ObservedTasks(queues.SHOPIFY_WEBHOOK)
    outside = TaskiqMessage(task_id="1", task_name="test.kicked", labels={}, args=[], kwargs={})
    inside = TaskiqMessage(task_id="2", task_name="test.kicked", labels={}, args=[], kwargs={})
    stop_tracing = tracing.configure_tracing(f"http://127.0.0.1:{otlp_receiver.server_address[1]}", service="origin")
    try:
        middleware.pre_send(outside)
        with tracing.span("http.request") as request:
            middleware.pre_send(inside)
            context = request.get_span_context()
    finally:
        stop_tracing()

    assert TRACEPARENT_LABEL not in outside.labels
    assert inside.labels[TRACEPARENT_LABEL] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def test_with_no_endpoint_no_tracer_or_exporter_is_imported() -> None:
    # redis-py 8 imports OpenTelemetry's API (and its metrics SDK) by itself whenever the packages are
    # installed, and records nothing unless configured; what Zelly would load (the trace SDK, the OTLP
    # exporter) it loads only in observability.tracing.configure_tracing.
    program = ("import sys, ops.cli, origin.app, edge.app, workers.brokers, workers.shopify_webhook, observability.tracing; "
               "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk.trace', 'opentelemetry.exporter'))))")
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})

    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
