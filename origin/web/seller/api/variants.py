"""A product's variants and images: add, get, change (PATCH), remove.

Routes nest under the product, and a variant or image that exists but belongs
to another product (of this tenant or any other) is a 404, exactly like one
that does not exist.
"""

from __future__ import annotations

from quart import Blueprint

from origin.catalog import actions, queries
from origin.catalog.errors import CatalogErrorCode, not_found
from origin.catalog.models import Variant
from origin.web.seller.api.framework.idempotency import idempotent
from origin.web.seller.api.products import load_product
from origin.web.seller.api.framework.parsing import fields_renamed, json_body, sent_changes
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.common import Deleted
from origin.web.seller.api.schemas.products import NULLABLE_CHANGES, ImageIn, ImageOut, VariantChanges, VariantIn, VariantOut
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("variants", __name__)

VARIANT_PATH = f"/products/<{ID}:product_id>/variants/<{ID}:variant_id>"
IMAGE_PATH = f"/products/<{ID}:product_id>/images/<{ID}:image_id>"


async def load_variant(product_id: int, variant_id: int) -> Variant:
    async with current_services().db.connect() as conn:
        variant = await queries.select_variant(conn, api_tenant().id, variant_id)
    if variant is None or variant.product_id != product_id:
        raise not_found(CatalogErrorCode.UNKNOWN_VARIANT, "variant", variant_id)
    return variant


@blueprint.post(f"/products/<{ID}:product_id>/variants")
@require_api_tenant
@idempotent
@responds(201, VariantOut, errors=(400, 401, 403, 404, 409, 415, 422))
@json_body(VariantIn)
async def create_variant(product_id: int, data: VariantIn):
    """Add a variant: one value per product option, unlike every other variant's values."""
    tenant = api_tenant()
    with fields_renamed({"variant": ""}):
        variant = await actions.do_create_variant(current_services(), tenant.id, product_id, data.to_domain())
    return json_response(VariantOut.build(variant, tenant), 201)


@blueprint.get(VARIANT_PATH)
@require_api_tenant
@responds(200, VariantOut, errors=(401, 403, 404))
async def get_variant(product_id: int, variant_id: int):
    """One variant."""
    return json_response(VariantOut.build(await load_variant(product_id, variant_id), api_tenant()))


@blueprint.patch(VARIANT_PATH)
@require_api_tenant
@responds(200, VariantOut, errors=(400, 401, 403, 404, 415, 422))
@json_body(VariantChanges)
async def update_variant(product_id: int, variant_id: int, data: VariantChanges):
    """Change the fields sent (price, options, stock…); the storefront shows it on its next request."""
    tenant = api_tenant()
    changes = sent_changes(data, NULLABLE_CHANGES)
    await load_variant(product_id, variant_id)
    variant = await actions.do_update_variant(current_services(), tenant.id, variant_id, changes)
    return json_response(VariantOut.build(variant, tenant))


@blueprint.delete(VARIANT_PATH)
@require_api_tenant
@responds(200, Deleted, errors=(401, 403, 404, 422))
async def delete_variant(product_id: int, variant_id: int):
    """Remove a variant; a product keeps at least one (delete the product instead)."""
    await load_variant(product_id, variant_id)
    await actions.do_delete_variant(current_services(), api_tenant().id, variant_id)
    return json_response(Deleted(id=variant_id))


@blueprint.post(f"/products/<{ID}:product_id>/images")
@require_api_tenant
@idempotent
@responds(201, ImageOut, errors=(400, 401, 403, 404, 415, 422))
@json_body(ImageIn)
async def add_image(product_id: int, data: ImageIn):
    """Add an image after the product's last one."""
    with fields_renamed({"image": ""}):
        image = await actions.do_add_image(current_services(), api_tenant().id, product_id, data.to_domain())
    return json_response(ImageOut.build(image), 201)


@blueprint.delete(IMAGE_PATH)
@require_api_tenant
@responds(200, Deleted, errors=(401, 403, 404))
async def delete_image(product_id: int, image_id: int):
    """Remove an image."""
    product = await load_product(product_id)
    if image_id not in {image.id for image in product.images}:
        raise not_found(CatalogErrorCode.UNKNOWN_IMAGE, "image", image_id)
    await actions.do_delete_image(current_services(), api_tenant().id, image_id)
    return json_response(Deleted(id=image_id))
