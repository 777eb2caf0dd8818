"""Products: list (cursor pages), get, create (with variants and images), update (PATCH), delete."""

from __future__ import annotations

from quart import Blueprint

from origin.catalog import actions, queries
from origin.catalog.errors import CatalogErrorCode, not_found
from origin.web.seller.api.framework.idempotency import idempotent
from origin.web.seller.api.framework.parsing import json_body, query_args, sent_changes
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.common import Deleted
from origin.web.seller.api.schemas.products import (
    ProductChanges,
    ProductIn,
    ProductListQuery,
    ProductOut,
    ProductPage,
)
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("products", __name__)


async def load_product(product_id: int):
    """The product, if it is this tenant's; another tenant's id is exactly as unknown as a missing one."""
    tenant = api_tenant()
    async with current_services().db.connect() as conn:
        product = await queries.select_product(conn, tenant.id, product_id)
    if product is None:
        raise not_found(CatalogErrorCode.UNKNOWN_PRODUCT, "product", product_id)
    return product


@blueprint.get("/products")
@require_api_tenant
@responds(200, ProductPage, errors=(401, 403, 422))
@query_args(ProductListQuery)
async def list_products(query: ProductListQuery):
    """List the store's products, newest first by default (every status unless `status` is given)."""
    tenant = api_tenant()
    async with current_services().db.connect() as conn:
        page = await queries.select_products(
            conn,
            tenant.id,
            sort=query.sort,
            limit=query.limit,
            cursor=query.cursor,
            status=None if query.status == "any" else query.status,
        )
    return json_response(ProductPage.build(page, tenant))


@blueprint.post("/products")
@require_api_tenant
@idempotent
@responds(201, ProductOut, errors=(400, 401, 403, 409, 415, 422))
@json_body(ProductIn)
async def create_product(data: ProductIn):
    """Create a product with its variants and images: all of it is written, or nothing."""
    tenant = api_tenant()
    product = await actions.do_create_product(current_services(), tenant.id, data.to_domain())
    return json_response(ProductOut.build(product, tenant), 201)


@blueprint.get(f"/products/<{ID}:product_id>")
@require_api_tenant
@responds(200, ProductOut, errors=(401, 403, 404))
async def get_product(product_id: int):
    """One product with its variants and images."""
    return json_response(ProductOut.build(await load_product(product_id), api_tenant()))


@blueprint.patch(f"/products/<{ID}:product_id>")
@require_api_tenant
@responds(200, ProductOut, errors=(400, 401, 403, 404, 409, 415, 422))
@json_body(ProductChanges)
async def update_product(product_id: int, data: ProductChanges):
    """Change the fields sent; the storefront shows the change on its next request."""
    tenant = api_tenant()
    product = await actions.do_update_product(current_services(), tenant.id, product_id, sent_changes(data))
    return json_response(ProductOut.build(product, tenant))


@blueprint.delete(f"/products/<{ID}:product_id>")
@require_api_tenant
@responds(200, Deleted, errors=(401, 403, 404))
async def delete_product(product_id: int):
    """Delete a product with its variants, images and collection memberships."""
    await actions.do_delete_product(current_services(), api_tenant().id, product_id)
    return json_response(Deleted(id=product_id))
