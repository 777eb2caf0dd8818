"""Shopify over HTTP: the webhook endpoint and the seller API.

    POST /webhooks/shopify                 signed deliveries from Shopify (no API token: the HMAC is the auth)
    GET  /api/shopify/connection           the tenant's connection (never the token or secret)
    PUT  /api/shopify/connection           connect or reconnect {shop_domain, access_token, webhook_secret}
    POST /api/shopify/syncs                start a sync {kind: full|incremental|bulk} -> 202
    GET  /api/shopify/syncs                the latest runs
    GET  /api/shopify/syncs/<id>           one run's progress
    GET  /api/shopify/settings/diff        what a push would change
    POST /api/shopify/settings/push|fetch  queue a push or a fetch -> 202
"""

from __future__ import annotations

from quart import Blueprint, jsonify, request

from origin.errors import ErrorKind, ZellyError
from origin.queueing import enqueue
from origin.shopify import connections, runs, shop_settings, sync, webhooks
from origin.web.auth import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("shopify", __name__)

PUSH_QUEUE, PUSH_TASK = "SHOPIFY_SETTINGS_PUSH", "shopify.push_settings"
FETCH_QUEUE, FETCH_TASK = "SHOPIFY_SETTINGS_FETCH", "shopify.fetch_settings"


def _no_store(response, status: int = 200):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


async def _json_object() -> dict:
    body = await request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ZellyError("invalid_json", "send a JSON object as the request body", kind=ErrorKind.INVALID)
    return body


@blueprint.post("/webhooks/shopify")
async def receive_webhook():
    body = await request.get_data(as_text=False)
    intake = await webhooks.do_accept_webhook(current_services(), body, request.headers)
    return _no_store(jsonify({"status": intake.status}))


@blueprint.get("/api/shopify/connection")
@require_api_tenant
async def show_connection():
    connection = await connections.get_connection(current_services(), api_tenant().id, require_connected=False)
    return _no_store(jsonify({"connection": connection.public()}))


@blueprint.put("/api/shopify/connection")
@require_api_tenant
async def connect():
    body = await _json_object()
    connection = await connections.do_connect(
        current_services(), api_tenant().id,
        shop_domain=body.get("shop_domain"), access_token=body.get("access_token"), webhook_secret=body.get("webhook_secret"),
    )
    return _no_store(jsonify({"connection": connection.public()}))


@blueprint.post("/api/shopify/syncs")
@require_api_tenant
async def start_sync():
    body = await _json_object()
    run = await runs.do_start_sync(current_services(), api_tenant().id, body.get("kind", "full"))
    return _no_store(jsonify({"sync": run.public()}), 202)


@blueprint.get("/api/shopify/syncs")
@require_api_tenant
async def list_syncs():
    async with current_services().db.connect() as conn:
        latest = await runs.select_latest_runs(conn, api_tenant().id)
    return _no_store(jsonify({"syncs": [run.public() for run in latest]}))


@blueprint.get("/api/shopify/syncs/<int:run_id>")
@require_api_tenant
async def show_sync(run_id: int):
    run = await runs.get_run(current_services(), api_tenant().id, run_id)
    return _no_store(jsonify({"sync": run.public()}))


@blueprint.get("/api/shopify/settings/diff")
@require_api_tenant
async def settings_diff():
    services = current_services()
    client = sync.make_client(services, await connections.get_connection(services, api_tenant().id))
    changes = await shop_settings.settings_diff(services, api_tenant().id, client)
    return _no_store(jsonify({"changes": [change.__dict__ for change in changes]}))


@blueprint.post("/api/shopify/settings/push")
@require_api_tenant
async def push_settings():
    services = current_services()
    await connections.get_connection(services, api_tenant().id)
    await enqueue(services, PUSH_QUEUE, PUSH_TASK, tenant_id=api_tenant().id)
    return _no_store(jsonify({"status": "queued"}), 202)


@blueprint.post("/api/shopify/settings/fetch")
@require_api_tenant
async def fetch_settings():
    services = current_services()
    await connections.get_connection(services, api_tenant().id)
    await enqueue(services, FETCH_QUEUE, FETCH_TASK, tenant_id=api_tenant().id)
    return _no_store(jsonify({"status": "queued"}), 202)
