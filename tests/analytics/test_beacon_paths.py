"""The beacon's two transports give the same answers, and its in-process batching loses nothing (issue 14, item 3).

``POST /events`` is answered by the raw-ASGI layer (origin/web/asgi/beacon_intake.py) for stores the
resolver's LRU knows, and by the Quart route otherwise; both call ``answer_beacon``. Here the same
app is driven through its full layer stack (LRU warm: the lean path) and through the same stack
without the beacon layer (the route), case by case, and every answer must match: status, body
bytes, and the headers a client reads; and both must queue the same number of rows.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import pytest
from quart import Quart

from origin.analytics.batcher import RowBatcher
from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.analytics.consumer import EventConsumer
from origin.analytics.events import MAX_BODY_BYTES
from origin.analytics.queue import MemoryQueue, queue_for
from origin.app import PUBLIC_LAYERS, create_app
from origin.errors import ErrorKind
from origin.tenancy.actions import do_suspend_tenant
from origin.web.asgi.beacon_intake import BeaconIntake
from origin.web.storefront.beacon import BATCHER_KEY
from origin.web.storefront.site import app_resolver
from tests.analytics.conftest import UA_DESKTOP, UA_GOOGLEBOT, drain, final_count, make_store
from tests.analytics.web_client import event, page_view

Chunks = list[bytes]


def _body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


CASES: list[tuple[str, str, dict[str, str], Chunks]] = [
    ("one page view", "acme.localhost", {}, [_body(page_view())]),
    ("a batch", "acme.localhost", {}, [_body([page_view(), event("product_view", product_id=3), event("add_to_cart", product_id=3, quantity=2)])]),
    ("client event id", "acme.localhost", {}, [_body(page_view(event_id="purchase:1:0"))]),
    ("a bot", "acme.localhost", {"user-agent": UA_GOOGLEBOT}, [_body(page_view())]),
    ("no user agent", "acme.localhost", {"user-agent": ""}, [_body(page_view())]),
    ("DNT", "acme.localhost", {"dnt": "1"}, [_body(page_view())]),
    ("GPC", "acme.localhost", {"sec-gpc": " 1 "}, [_body(page_view())]),
    ("DNT 0", "acme.localhost", {"dnt": "0"}, [_body(page_view())]),
    ("another site's page", "acme.localhost", {}, [_body([page_view(host="evil.example"), page_view()])]),
    ("forwarded for", "acme.localhost", {"x-forwarded-for": "198.51.100.7, 127.0.0.1"}, [_body(page_view())]),
    ("a purchase", "acme.localhost", {}, [_body(event("purchase", value="10", currency="USD"))]),
    ("wrong currency", "acme.localhost", {}, [_body(event("add_to_cart", product_id=1, quantity=1, value="1", currency="EUR"))]),
    ("unknown name", "acme.localhost", {}, [_body({"name": "pagé_view", "url": "https://acme.localhost/"})]),
    ("superscript id", "acme.localhost", {}, [_body(event("product_view", product_id="²"))]),
    ("not JSON", "acme.localhost", {}, [b"{nope"]),
    ("not UTF-8", "acme.localhost", {}, [b"\xff\xfe"]),
    ("deep JSON", "acme.localhost", {}, [b"[" * 60_000]),
    ("empty batch", "acme.localhost", {}, [b"[]"]),
    ("empty body", "acme.localhost", {}, [b""]),
    ("51 events", "acme.localhost", {}, [_body([page_view()] * 51)]),
    ("declared too large", "acme.localhost", {"content-length": str(MAX_BODY_BYTES + 1)}, [b" " * (MAX_BODY_BYTES + 1)]),
    ("a 5,000-digit length", "acme.localhost", {"content-length": "9" * 5000}, [_body(page_view())]),
    ("a 30-digit length", "acme.localhost", {"content-length": "9" * 30}, [_body(page_view())]),
    ("streamed too large", "acme.localhost", {}, [b"[" + b" " * 40_000, b" " * 40_000 + b"]"]),
    ("streamed in pieces", "acme.localhost", {}, [b'{"name": "page_view", ', b'"url": "https://acme.localhost/x"}']),
    ("suspended store", "gone.localhost", {}, [_body(page_view(host="gone.localhost"))]),
    ("unknown store", "nobody.localhost", {}, [_body(page_view(host="nobody.localhost"))]),
]


async def call(asgi, host: str, headers: dict[str, str], chunks: Chunks, ip: str = "203.0.113.7") -> tuple[int, dict[str, str], bytes]:
    """One raw ASGI request, as a server would deliver it."""
    sent = {"content-length": str(sum(map(len, chunks)))} if len(chunks) == 1 else {}
    sent.update({"host": host, "user-agent": UA_DESKTOP, "content-type": "application/json", **headers})
    scope = {
        "type": "http", "http_version": "1.1", "asgi": {"spec_version": "2.1"}, "method": "POST", "scheme": "http",
        "path": "/events", "raw_path": b"/events", "query_string": b"", "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in sent.items()],
        "client": (ip, 50000), "server": ("127.0.0.1", 8000), "extensions": {},
    }
    messages = [{"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1} for index, chunk in enumerate(chunks)]
    answer: dict[str, Any] = {"body": b""}
    done = asyncio.Event()

    async def receive():
        if messages:
            return messages.pop(0)
        await done.wait()  # a server reports the disconnect only once the client has its answer
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {name.decode().lower(): value.decode() for name, value in message["headers"]}
        else:
            answer["body"] += message.get("body", b"")

    await asgi(scope, receive, send)
    return answer["status"], answer["headers"], answer["body"]


def route_only(app: Quart):
    """The app's own layers without the beacon's: every POST /events reaches the Quart route."""
    asgi = functools.partial(Quart.asgi_app, app)
    for layer in reversed([layer for layer in PUBLIC_LAYERS if layer is not BeaconIntake]):
        asgi = layer(asgi, app)
    return asgi


async def _rows_queued(services) -> int:
    queue = queue_for(services)
    consumer = EventConsumer(services.analytics, queue)
    rows = 0
    while deliveries := await queue.read(consumer.name, max_messages=1000, block_ms=5):
        rows += sum(d.row_count for d in deliveries)
        await queue.ack([d.message_id for d in deliveries])
    return rows


@pytest.mark.parametrize(("case", "host", "headers", "chunks"), CASES, ids=[case[0] for case in CASES])
async def test_the_lean_path_and_the_route_give_the_same_answer(analytics, case, host, headers, chunks):
    await make_store(analytics, "acme")
    gone, _ = await make_store(analytics, "gone")
    await do_suspend_tenant(analytics, gone.id)
    app = create_app(analytics.settings, services=analytics)
    for known in ("acme.localhost", "gone.localhost", "nobody.localhost"):
        await app_resolver(app).resolve(known)  # warm: the lean path answers what it knows

    lean = await call(app.asgi_app, host, headers, list(chunks))
    lean_rows = await _rows_queued(analytics)
    route = await call(route_only(app), host, headers, list(chunks))
    route_rows = await _rows_queued(analytics)

    read = ("content-type", "cache-control", "retry-after", "allow")
    assert (lean[0], {k: lean[1].get(k) for k in read}, lean[2]) == (route[0], {k: route[1].get(k) for k in read}, route[2])
    assert lean_rows == route_rows
    assert lean[0] < 500


async def test_the_lean_path_answers_without_quart_once_the_store_is_known(analytics):
    """With the Quart route's app taken away, a known store's beacon is still answered (by the layer alone)."""
    await make_store(analytics, "acme")
    app = create_app(analytics.settings, services=analytics)

    async def no_quart(scope, receive, send):
        raise AssertionError("reached Quart")

    lean = BeaconIntake(no_quart, app)
    cold_host = "acme.localhost"
    with pytest.raises(AssertionError, match="reached Quart"):
        await _scoped(lean, cold_host)  # not in the LRU yet: passed on
    await app_resolver(app).resolve(cold_host)
    status, _, body = await _scoped(lean, cold_host)

    assert (status, json.loads(body)) == (202, {"accepted": 1})


async def _scoped(asgi, host: str):
    """``call`` with the parsed-Host scope key HostParse would have set."""
    async def with_host(scope, receive, send):
        scope["zelly.host"] = host
        await asgi(scope, receive, send)

    return await call(with_host, host, {}, [_body(page_view())])


async def test_batched_events_wait_in_the_process_and_none_is_lost_at_shutdown(analytics):
    await make_store(analytics, "acme")
    app = create_app(analytics.settings, services=analytics)
    # A flush interval longer than the test: rows can only reach the queue at shutdown.
    app.extensions[BATCHER_KEY] = batcher = RowBatcher(queue_for(analytics), flush_seconds=3600, flush_rows=10_000)
    sent = 0
    async with app.test_app() as served:
        client = served.test_client()
        for index in range(40):
            response = await client.post("/events", json=page_view(f"/p{index}"),
                                         headers={"Host": "acme.localhost", "User-Agent": UA_DESKTOP},
                                         scope_base={"client": (f"10.2.0.{index + 1}", 40000)})
            assert response.status_code == 202
            sent += (await response.get_json())["accepted"]
        assert batcher.running and batcher.waiting == 40
        assert await queue_for(analytics).backlog() == 0  # batched: nothing queued yet
    await drain(analytics)

    assert sent == 40 and batcher.waiting == 0
    assert final_count(analytics.analytics, "name = 'page_view'") == 40


async def test_a_full_buffer_refuses_with_503_and_keeps_what_it_accepted(analytics):
    await make_store(analytics, "acme")
    app = create_app(analytics.settings, services=analytics)
    app.extensions[BATCHER_KEY] = RowBatcher(queue_for(analytics), flush_seconds=3600, max_rows=3)
    async with app.test_app() as served:
        client = served.test_client()
        answers = []
        for index in range(4):
            response = await client.post("/events", json=page_view(), headers={"Host": "acme.localhost", "User-Agent": UA_DESKTOP},
                                         scope_base={"client": (f"10.3.0.{index + 1}", 40000)})
            answers.append((response.status_code, response.headers.get("Retry-After"), (await response.get_json()).get("error", {}).get("code")))
    await drain(analytics)

    assert answers == [(202, None, None)] * 3 + [(503, "5", "intake_busy")]
    assert final_count(analytics.analytics) == 3


async def test_rows_the_queue_refuses_stay_in_the_buffer_until_it_takes_them():
    queue = MemoryQueue(max_rows=2)  # the embedded queue's own bound, small
    batcher = RowBatcher(queue, flush_seconds=3600, message_rows=1)
    batcher.start()
    await batcher.add([{"ts": 1.0, "n": 1}, {"ts": 1.0, "n": 2}, {"ts": 1.0, "n": 3}])

    assert not await batcher.flush()  # two fit, the third is refused by the queue...
    assert batcher.waiting == 1 and queue._rows == 2  # ...and kept, not dropped
    taken = await queue.read("c", max_messages=10, block_ms=5)
    await queue.ack([d.message_id for d in taken])
    assert await batcher.stop() == 0  # shutdown publishes what was left
    assert [row["n"] for d in await queue.read("c", max_messages=10, block_ms=5) for row in d.rows] == [3]


async def test_while_the_queue_is_away_new_events_are_refused_and_the_kept_ones_still_go_in():
    """No 202 for rows that could only wait in memory through an outage (issue 12, item 2)."""
    queue = MemoryQueue(max_rows=1)  # refuses a second row until the first is taken: an intake that is away
    redis_down = False
    batcher = RowBatcher(queue, flush_seconds=3600, message_rows=1, queue_down=lambda: redis_down)
    batcher.start()
    await batcher.add([{"ts": 1.0, "n": 1}, {"ts": 1.0, "n": 2}])
    assert not await batcher.flush()  # the second row is refused and kept

    with pytest.raises(AnalyticsError) as while_failing:
        await batcher.add([{"ts": 1.0, "n": 3}])
    taken = await queue.read("c", max_messages=10, block_ms=5)
    await queue.ack([d.message_id for d in taken])
    recovered = await batcher.flush()  # the kept row goes in: intake is open again
    await batcher.add([{"ts": 1.0, "n": 4}])
    redis_down = True  # the request path's breaker is open: refused before any publish fails
    with pytest.raises(AnalyticsError) as breaker_open:
        await batcher.add([{"ts": 1.0, "n": 5}])
    second = await queue.read("c", max_messages=10, block_ms=5)
    await queue.ack([d.message_id for d in second])
    left = await batcher.stop()  # publishes n=4, accepted before the breaker opened

    assert while_failing.value.code == AnalyticsErrorCode.ANALYTICS_UNAVAILABLE.value and while_failing.value.kind is ErrorKind.UNAVAILABLE
    assert recovered and breaker_open.value.code == AnalyticsErrorCode.ANALYTICS_UNAVAILABLE.value
    last = [row["n"] for d in await queue.read("c", max_messages=10, block_ms=5) for row in d.rows]
    assert [[row["n"] for d in batch for row in d.rows] for batch in (taken, second)] == [[1], [2]]
    assert left == 0 and last == [4]  # every row given a 202 went in, once; n=3 and n=5 were refused
