"""Shopify: the store's connection, catalog sync runs, and shop settings (docs/api.md).

    GET  /shopify/connection            the connection (never the token or the webhook secret)
    PUT  /shopify/connection            connect or reconnect {shop_domain, access_token, webhook_secret}
    POST /shopify/syncs                 start a sync {kind: full|incremental|bulk} -> 202
    GET  /shopify/syncs                 the latest runs
    GET  /shopify/syncs/{id}            one run's progress
    POST /shopify/syncs/{id}/cancel     stop a queued or running run
    GET  /shopify/settings/diff         what a push would change (reads the shop now)
    POST /shopify/settings/push|fetch   queue a push or a fetch -> 202 with the run
    GET  /shopify/settings/runs/{id}    how a push or fetch ended

Every action is in ``origin.shopify``; its errors keep their codes
(``shop_taken``, ``sync_running`` and ``sync_finished`` are 409, ``shop_not_owned`` 403, ``not_connected``,
``sync_not_found`` and ``settings_run_not_found`` are 404). The webhook intake is not here: it has no API
token (the HMAC is the auth) and lives in origin/web/asgi/webhook_intake.py.
"""

from __future__ import annotations

from quart import Blueprint

from origin.shopify import connections, runs, settings_runs, shop_settings, sync
from origin.web.seller.api.framework.idempotency import idempotent
from origin.web.seller.api.framework.parsing import json_body
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.shopify import ConnectionIn, ConnectionOut, SettingChange, SettingsDiff, SettingsRunOut, SyncIn, SyncList, SyncOut
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("shopify_api", __name__, url_prefix="/shopify")


@blueprint.get("/connection")
@require_api_tenant
@responds(200, ConnectionOut, errors=(401, 403, 404))
async def get_connection():
    """The store's Shopify connection; 404 `not_connected` when it never connected."""
    connection = await connections.get_connection(current_services(), api_tenant().id, require_connected=False)
    return json_response(ConnectionOut.build(connection))


@blueprint.put("/connection")
@require_api_tenant
@responds(200, ConnectionOut, errors=(400, 401, 403, 409, 415, 422, 503))
@json_body(ConnectionIn)
async def connect(data: ConnectionIn):
    """Connect the store to a shop, or replace its connection (reconnecting after an uninstall too).

    Shopify is asked which shop the access token belongs to (`shop { myshopifyDomain }`): 403
    `shop_not_owned` when it is another shop, 422 `invalid_token` when Shopify refuses it, 503 when
    Shopify cannot be reached. Nothing is written in these cases.
    """
    connection = await connections.do_connect(
        current_services(),
        api_tenant().id,
        shop_domain=data.shop_domain,
        access_token=data.access_token.get_secret_value(),
        webhook_secret=data.webhook_secret.get_secret_value(),
    )
    return json_response(ConnectionOut.build(connection))


@blueprint.post("/syncs")
@require_api_tenant
@idempotent
@responds(202, SyncOut, errors=(400, 401, 403, 404, 409, 415, 422, 503))
@json_body(SyncIn)
async def start_sync(data: SyncIn):
    """Queue a catalog sync: 202 with the run (`queued`); 409 `sync_running` while another run is active."""
    run = await runs.do_start_sync(current_services(), api_tenant().id, data.kind)
    response = json_response(SyncOut.build(run), 202)
    response.headers["Location"] = f"/api/v1/shopify/syncs/{run.id}"
    return response


@blueprint.get("/syncs")
@require_api_tenant
@responds(200, SyncList, errors=(401, 403))
async def list_syncs():
    """The store's latest sync runs (up to 10), newest first."""
    async with current_services().db.connect() as conn:
        latest = await runs.select_latest_runs(conn, api_tenant().id)
    return json_response(SyncList(syncs=[SyncOut.build(run) for run in latest]))


@blueprint.get(f"/syncs/<{ID}:run_id>")
@require_api_tenant
@responds(200, SyncOut, errors=(401, 403, 404))
async def get_sync(run_id: int):
    """One sync run: its state, counts and error."""
    run = await runs.get_run(current_services(), api_tenant().id, run_id)
    return json_response(SyncOut.build(run))


@blueprint.post(f"/syncs/<{ID}:run_id>/cancel")
@require_api_tenant
@responds(200, SyncOut, errors=(401, 403, 404, 409))
async def cancel_sync(run_id: int):
    """Stop a queued or running sync: 200 with the run (`cancelled`); what it committed stays; 409 `sync_finished` once it ended."""
    run = await runs.do_cancel_sync(current_services(), api_tenant().id, run_id)
    return json_response(SyncOut.build(run))


@blueprint.get("/settings/diff")
@require_api_tenant
@responds(200, SettingsDiff, errors=(401, 403, 404, 422, 503))
async def settings_diff():
    """Zelly's shop settings against what the shop holds now: what a push would write."""
    services = current_services()
    client = sync.make_client(services, await connections.get_connection(services, api_tenant().id))
    changes = await shop_settings.settings_diff(services, api_tenant().id, client)
    return json_response(SettingsDiff(changes=[SettingChange.build(change) for change in changes]))


@blueprint.post("/settings/push")
@require_api_tenant
@idempotent
@responds(202, SettingsRunOut, errors=(401, 403, 404, 409, 422, 503))
async def push_settings():
    """Queue a push of Zelly's settings to the shop (no body): 202 with the run and its `Location`; the worker diffs again when it runs."""
    return _queued(await shop_settings.do_queue_push(current_services(), api_tenant().id))


@blueprint.post("/settings/fetch")
@require_api_tenant
@idempotent
@responds(202, SettingsRunOut, errors=(401, 403, 404, 409, 422, 503))
async def fetch_settings():
    """Queue a fetch of the shop's name and contact email into Zelly (no body): 202 with the run and its `Location`."""
    return _queued(await shop_settings.do_queue_fetch(current_services(), api_tenant().id))


@blueprint.get(f"/settings/runs/<{ID}:run_id>")
@require_api_tenant
@responds(200, SettingsRunOut, errors=(401, 403, 404))
async def get_settings_run(run_id: int):
    """One settings push or fetch: its state, the fields it wrote or adopted, or why it failed."""
    run = await settings_runs.get_settings_run(current_services(), api_tenant().id, run_id)
    return json_response(SettingsRunOut.build(run))


def _queued(run):
    response = json_response(SettingsRunOut.build(run), 202)
    response.headers["Location"] = f"/api/v1/shopify/settings/runs/{run.id}"
    return response
