"""OpenTelemetry traces to a real OTLP/HTTP receiver on loopback, only when an endpoint is set (issue 19, item 6)."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse

from edge.app import wrap_origin
from edge.config import EdgeConfig
from observability import tracing
from origin.app import create_app
from origin.services import Services
from tests.factories import make_product, make_tenant
from workers import queues
from workers.brokers import make_broker
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


def test_with_no_endpoint_no_tracer_or_exporter_is_imported() -> None:
    # redis-py 8 imports OpenTelemetry's API (and its metrics SDK) by itself whenever the packages are
    # installed, and records nothing unless configured; what Zelly would load (the trace SDK, the OTLP
    # exporter) it loads only in observability.tracing.configure_tracing.
    program = ("import sys, ops.cli, origin.app, edge.app, workers.brokers, workers.shopify_webhook, observability.tracing; "
               "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.sdk.trace', 'opentelemetry.exporter'))))")
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})

    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
