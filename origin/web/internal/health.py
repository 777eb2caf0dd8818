"""GET /healthz: the state of each store; 503 when one is down."""

from __future__ import annotations

from quart import Blueprint, jsonify

from origin.web.context import current_services

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
async def healthz():
    stores = await current_services().health()
    is_ok = all(store["status"] == "ok" for store in stores.values())
    response = jsonify({"status": "ok" if is_ok else "degraded", "stores": stores})
    response.status_code = 200 if is_ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
