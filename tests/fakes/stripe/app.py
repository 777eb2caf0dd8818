"""The fake Stripe as a Quart app on a loopback port (see the package docstring for what it follows)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, Response, redirect, request

SECRET_KEY = "sk_test_zelly_fake_0123456789"
WEBHOOK_SECRET = "whsec_zelly_fake_0123456789"


def sign_payload(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: t=<unix>,v1=<hex HMAC-SHA256 of "t.payload">."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{timestamp}.".encode() + payload
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def _nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding: a[b][0][c]=v -> {"a": {"b": [{"c": "v"}]}}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            nxt = None if last else parts[index + 1]
            container_for_next = [] if nxt is not None and nxt.isdigit() else {}
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append({} if not nxt or not nxt.isdigit() else [])
                if last:
                    node[position] = value
                else:
                    if not isinstance(node[position], type(container_for_next)):
                        node[position] = container_for_next
                    node = node[position]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, container_for_next)
    return root


def _error(status: int, type_: str, message: str, *, code: str | None = None, param: str | None = None) -> Response:
    body = {"error": {"type": type_, "message": message, **({"code": code} if code else {}), **({"param": param} if param else {})}}
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class FakeStripe:
    secret_key: str = SECRET_KEY
    webhook_secret: str = WEBHOOK_SECRET
    webhook_url: str | None = None  # where completed payments are POSTed (None: kept in ``events`` only)
    base_url: str = ""
    sessions: dict[str, dict] = field(default_factory=dict)
    payment_intents: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    delay_seconds: dict[str, float] = field(default_factory=dict)  # path prefix -> answer this late (work done first)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _idempotency: dict[tuple[str, str], tuple[str, int, str]] = field(default_factory=dict)
    _tasks: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.app = self._build()

    # -- signing and events

    def signed(self, event: dict, *, timestamp: int | None = None, secret: str | None = None) -> tuple[bytes, str]:
        payload = json.dumps(event).encode()
        return payload, sign_payload(payload, secret or self.webhook_secret, timestamp)

    def _event(self, type_: str, obj: dict) -> dict:
        event = {
            "id": f"evt_{secrets.token_hex(12)}", "object": "event", "api_version": "2025-10-29.clover", "created": int(time.time()),
            "type": type_, "livemode": False, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj},
        }
        self.events.append(event)
        return event

    async def deliver(self, event: dict) -> int | None:
        if self.webhook_url is None:
            return None
        payload, header = self.signed(event)
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(self.webhook_url, content=payload, headers={"Stripe-Signature": header, "Content-Type": "application/json"})
        return response.status_code

    def pay(self, session_id: str) -> dict:
        """What the hosted page does when the shopper pays: capture, complete, event. Returns the event."""
        session = self.sessions[session_id]
        if session["status"] != "open":
            raise ValueError(f"the session is {session['status']}, it cannot be paid")
        intent_id = f"pi_{secrets.token_hex(12)}"
        self.payment_intents[intent_id] = {
            "id": intent_id, "object": "payment_intent", "amount": session["amount_total"], "amount_received": session["amount_total"],
            "currency": session["currency"], "status": "succeeded", "metadata": session["payment_intent_data_metadata"],
            "latest_charge": f"ch_{secrets.token_hex(12)}", "amount_refunded": 0,
        }
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        return self._event("checkout.session.completed", self._public(session))

    @staticmethod
    def _public(session: dict) -> dict:
        return {key: value for key, value in session.items() if key != "payment_intent_data_metadata"}

    # -- the app

    def _build(self) -> Quart:
        app = Quart("fake_stripe")
        fake = self

        async def authorized() -> Response | None:
            header = request.headers.get("Authorization", "")
            if header != f"Bearer {fake.secret_key}":
                return _error(401, "invalid_request_error", "Invalid API Key provided.", code="api_key_invalid")
            return None

        async def late(path: str) -> None:
            for prefix, seconds in fake.delay_seconds.items():
                if path.startswith(prefix):
                    await asyncio.sleep(seconds)

        async def idempotent(handler):
            refused = await authorized()
            if refused is not None:
                return refused
            key = request.headers.get("Idempotency-Key")
            body = (await request.get_data()).decode()
            fake.requests.append((request.method, request.path))
            if key is not None:
                stored = fake._idempotency.get((request.path, key))
                if stored is not None:
                    if stored[0] != body:
                        return _error(
                            400, "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                            code="idempotency_key_in_use",
                        )
                    await late(request.path)
                    return Response(stored[2], status=stored[1], content_type="application/json", headers={"Idempotent-Replayed": "true", "Idempotency-Key": key})
            response = await handler(_nested(parse_qsl(body, keep_blank_values=True)))
            if key is not None and response.status_code < 500:
                fake._idempotency[(request.path, key)] = (body, response.status_code, (await response.get_data()).decode())
            await late(request.path)
            if key is not None:
                response.headers["Idempotency-Key"] = key
            return response

        def ok(obj: dict) -> Response:
            return Response(json.dumps(obj), content_type="application/json", headers={"Request-Id": f"req_{secrets.token_hex(8)}"})

        @app.post("/v1/checkout/sessions")
        async def create_session():
            async def handle(params: dict) -> Response:
                if params.get("mode") != "payment":
                    return _error(400, "invalid_request_error", "Missing required param: mode.", code="parameter_missing", param="mode")
                items = params.get("line_items") or []
                if not items:
                    return _error(400, "invalid_request_error", "Missing required param: line_items.", code="parameter_missing", param="line_items")
                try:
                    amounts = [int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items]
                    currency = items[0]["price_data"]["currency"]
                except (KeyError, ValueError, TypeError):
                    return _error(400, "invalid_request_error", "Invalid line_items.", code="parameter_invalid_integer", param="line_items")
                if currency != currency.lower() or len(currency) != 3:
                    return _error(400, "invalid_request_error", f"Invalid currency: {currency}.", code="invalid_currency", param="currency")
                if not params.get("success_url"):
                    return _error(400, "invalid_request_error", "Missing required param: success_url.", code="parameter_missing", param="success_url")
                session_id = f"cs_test_{secrets.token_hex(16)}"
                session = {
                    "id": session_id, "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
                    "amount_total": sum(amounts), "amount_subtotal": sum(amounts), "currency": currency,
                    "customer_email": params.get("customer_email"), "client_reference_id": params.get("client_reference_id"),
                    "metadata": params.get("metadata") or {}, "payment_intent": None,
                    "success_url": params["success_url"], "cancel_url": params.get("cancel_url"),
                    "url": f"{fake.base_url}/pay/{session_id}", "livemode": False, "created": int(time.time()),
                    "expires_at": int(time.time()) + 86400,
                    "payment_intent_data_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
                }
                fake.sessions[session_id] = session
                return ok(fake._public(session))

            return await idempotent(handle)

        @app.get("/v1/checkout/sessions/<session_id>")
        async def retrieve_session(session_id: str):
            refused = await authorized()
            if refused is not None:
                return refused
            fake.requests.append((request.method, request.path))
            session = fake.sessions.get(session_id)
            await late(request.path)
            if session is None:
                return _error(404, "invalid_request_error", f"No such checkout.session: '{session_id}'", code="resource_missing", param="session")
            return ok(fake._public(session))

        @app.post("/v1/checkout/sessions/<session_id>/expire")
        async def expire_session(session_id: str):
            async def handle(params: dict) -> Response:
                session = fake.sessions.get(session_id)
                if session is None:
                    return _error(404, "invalid_request_error", f"No such checkout.session: '{session_id}'", code="resource_missing", param="session")
                if session["status"] != "open":
                    # Stripe's answer for a session that was paid or expired before.
                    return _error(400, "invalid_request_error", f"Only Checkout Sessions with a status of `open` can be expired. This Checkout Session has a status of `{session['status']}`.")
                session.update(status="expired")
                event = fake._event("checkout.session.expired", fake._public(session))
                task = asyncio.create_task(fake.deliver(event))  # Stripe sends the event on its own, after answering
                fake._tasks.add(task)
                task.add_done_callback(fake._tasks.discard)
                return ok(fake._public(session))

            return await idempotent(handle)

        @app.get("/v1/payment_intents/<intent_id>")
        async def retrieve_intent(intent_id: str):
            refused = await authorized()
            if refused is not None:
                return refused
            intent = fake.payment_intents.get(intent_id)
            if intent is None:
                return _error(404, "invalid_request_error", f"No such payment_intent: '{intent_id}'", code="resource_missing", param="intent")
            return ok(intent)

        @app.post("/v1/refunds")
        async def create_refund():
            async def handle(params: dict) -> Response:
                intent = fake.payment_intents.get(params.get("payment_intent", ""))
                if intent is None:
                    return _error(404, "invalid_request_error", "No such payment_intent.", code="resource_missing", param="payment_intent")
                amount = int(params.get("amount") or intent["amount_received"] - intent["amount_refunded"])
                if amount <= 0 or intent["amount_refunded"] + amount > intent["amount_received"]:
                    return _error(400, "invalid_request_error", "Refund amount is greater than unrefunded amount on charge.", code="amount_too_large", param="amount")
                intent["amount_refunded"] += amount
                refund_id = f"re_{secrets.token_hex(12)}"
                refund = {"id": refund_id, "object": "refund", "amount": amount, "currency": intent["currency"], "payment_intent": intent["id"], "status": "succeeded"}
                fake.refunds[refund_id] = refund
                return ok(refund)

            return await idempotent(handle)

        @app.get("/pay/<session_id>")
        async def hosted_page(session_id: str):
            session = fake.sessions.get(session_id)
            if session is None:
                return Response("no such session", status=404)
            amount = session["amount_total"]
            return Response(
                f"<!doctype html><title>Pay</title><h1>Fake Stripe Checkout</h1><p id=amount>{amount} {session['currency']}</p>"
                f"<form method=post action=/pay/{session_id}><button id=pay type=submit>Pay</button></form>",
                content_type="text/html",
            )

        @app.post("/pay/<session_id>")
        async def hosted_pay(session_id: str):
            session = fake.sessions.get(session_id)
            if session is None:
                return Response("no such session", status=404)
            if session["status"] == "expired":
                return Response("This Checkout Session has expired.", status=410)
            if session["status"] != "complete":
                event = fake.pay(session_id)
                await fake.deliver(event)
            return redirect(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id), code=303)

        return app


@contextlib.asynccontextmanager
async def serve_stripe(fake: FakeStripe) -> AsyncIterator[str]:
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
        await asyncio.gather(*list(fake._tasks), return_exceptions=True)  # events still being delivered
        stop.set()
        await asyncio.gather(server, return_exceptions=True)
        with contextlib.suppress(OSError):
            sock.close()
