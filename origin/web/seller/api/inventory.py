"""Inventory: read and set a variant's stock level (one location per store)."""

from __future__ import annotations

from quart import Blueprint

from origin.catalog import actions, queries
from origin.catalog.errors import CatalogErrorCode, not_found
from origin.web.seller.api.framework.parsing import fields_renamed, json_body
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.products import InventoryIn, InventoryOut
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("inventory", __name__)


@blueprint.get(f"/inventory/<{ID}:variant_id>")
@require_api_tenant
@responds(200, InventoryOut, errors=(401, 403, 404))
async def get_inventory(variant_id: int):
    """A variant's stock level."""
    async with current_services().db.connect() as conn:
        variant = await queries.select_variant(conn, api_tenant().id, variant_id)
    if variant is None:
        raise not_found(CatalogErrorCode.UNKNOWN_VARIANT, "variant", variant_id)
    return json_response(InventoryOut.build(variant))


@blueprint.put(f"/inventory/<{ID}:variant_id>")
@require_api_tenant
@responds(200, InventoryOut, errors=(400, 401, 403, 404, 415, 422))
@json_body(InventoryIn)
async def set_inventory(variant_id: int, data: InventoryIn):
    """Set a variant's stock to an absolute quantity (PUT: repeating it is harmless)."""
    with fields_renamed({"inventory_quantity": "quantity"}):
        variant = await actions.do_set_inventory(current_services(), api_tenant().id, variant_id, data.quantity)
    return json_response(InventoryOut.build(variant))
