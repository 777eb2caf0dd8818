"""Collections: list, get, create, update (PATCH), delete; membership and its manual order."""

from __future__ import annotations

from origin.numbers import parse_bounded_int
from quart import Blueprint

from origin.catalog import actions, queries
from origin.catalog.errors import CatalogError, CatalogErrorCode, not_found
from origin.catalog.models import Collection
from origin.web.seller.api.framework.idempotency import idempotent
from origin.web.seller.api.framework.parsing import json_body, query_args, sent_changes
from origin.web.seller.api.framework.responses import json_response, responds
from origin.web.seller.api.framework.routing import ID
from origin.web.seller.api.schemas.collections import (
    NULLABLE_COLLECTION_CHANGES,
    CollectionChanges,
    CollectionIn,
    CollectionListQuery,
    CollectionMembers,
    CollectionOut,
    CollectionPage,
    CollectionProductsQuery,
    ProductIdsIn,
)
from origin.web.seller.api.schemas.common import Deleted
from origin.web.seller.api.schemas.products import ProductPage
from origin.web.seller.api_tokens import api_tenant, require_api_tenant
from origin.web.context import current_services

blueprint = Blueprint("collections", __name__)

COLLECTION_PATH = f"/collections/<{ID}:collection_id>"


async def load_collection(collection_id: int) -> Collection:
    async with current_services().db.connect() as conn:
        collection = await queries.select_collection(conn, api_tenant().id, collection_id)
    if collection is None:
        raise not_found(CatalogErrorCode.UNKNOWN_COLLECTION, "collection", collection_id)
    return collection


def _page_after(collections: list[Collection], cursor: str | None, limit: int) -> tuple[list[Collection], str | None]:
    # origin.catalog has no paged collection query yet (stores have tens of collections, not
    # thousands): page the full, id-ordered list here with the last id as the cursor.
    after = 0
    if cursor is not None:
        parsed = parse_bounded_int(cursor)
        if parsed is None:
            raise CatalogError(CatalogErrorCode.INVALID_CURSOR, "cursor is not one this listing handed out", field="cursor")
        after = parsed
    remaining = sorted((c for c in collections if c.id > after), key=lambda c: c.id)
    page = remaining[:limit]
    return page, str(page[-1].id) if len(remaining) > limit else None


@blueprint.get("/collections")
@require_api_tenant
@responds(200, CollectionPage, errors=(401, 403, 422))
@query_args(CollectionListQuery)
async def list_collections(query: CollectionListQuery):
    """List the store's collections, oldest first."""
    async with current_services().db.connect() as conn:
        collections = await queries.select_collections(conn, api_tenant().id)
    page, next_cursor = _page_after(collections, query.cursor, query.limit)
    return json_response(CollectionPage(items=[CollectionOut.build(c) for c in page], next_cursor=next_cursor))


@blueprint.post("/collections")
@require_api_tenant
@idempotent
@responds(201, CollectionOut, errors=(400, 401, 403, 409, 415, 422))
@json_body(CollectionIn)
async def create_collection(data: CollectionIn):
    """Create an empty collection."""
    collection = await actions.do_create_collection(current_services(), api_tenant().id, data.to_domain())
    return json_response(CollectionOut.build(collection), 201)


@blueprint.get(COLLECTION_PATH)
@require_api_tenant
@responds(200, CollectionOut, errors=(401, 403, 404))
async def get_collection(collection_id: int):
    """One collection."""
    return json_response(CollectionOut.build(await load_collection(collection_id)))


@blueprint.patch(COLLECTION_PATH)
@require_api_tenant
@responds(200, CollectionOut, errors=(400, 401, 403, 404, 409, 415, 422))
@json_body(CollectionChanges)
async def update_collection(collection_id: int, data: CollectionChanges):
    """Change the fields sent."""
    changes = sent_changes(data, NULLABLE_COLLECTION_CHANGES)
    collection = await actions.do_update_collection(current_services(), api_tenant().id, collection_id, changes)
    return json_response(CollectionOut.build(collection))


@blueprint.delete(COLLECTION_PATH)
@require_api_tenant
@responds(200, Deleted, errors=(401, 403, 404))
async def delete_collection(collection_id: int):
    """Delete a collection (its products stay)."""
    await actions.do_delete_collection(current_services(), api_tenant().id, collection_id)
    return json_response(Deleted(id=collection_id))


@blueprint.get(f"{COLLECTION_PATH}/products")
@require_api_tenant
@responds(200, ProductPage, errors=(401, 403, 404, 422))
@query_args(CollectionProductsQuery)
async def list_collection_products(collection_id: int, query: CollectionProductsQuery):
    """The collection's products in their manual order, drafts and archived included."""
    tenant = api_tenant()
    await load_collection(collection_id)
    async with current_services().db.connect() as conn:
        page = await queries.select_collection_products(
            conn, tenant.id, collection_id, sort="manual", limit=query.limit, cursor=query.cursor, include_unpublished=True
        )
    return json_response(ProductPage.build(page, tenant))


@blueprint.put(f"{COLLECTION_PATH}/products")
@require_api_tenant
@responds(200, CollectionMembers, errors=(400, 401, 403, 404, 415, 422))
@json_body(ProductIdsIn)
async def set_collection_products(collection_id: int, data: ProductIdsIn):
    """Replace the membership with `product_ids`, in that order (an empty list empties it)."""
    members = await actions.do_set_collection_products(current_services(), api_tenant().id, collection_id, data.product_ids)
    return json_response(CollectionMembers(collection_id=collection_id, product_ids=members))


@blueprint.post(f"{COLLECTION_PATH}/products")
@require_api_tenant
@idempotent
@responds(200, CollectionMembers, errors=(400, 401, 403, 404, 415, 422))
@json_body(ProductIdsIn)
async def add_collection_products(collection_id: int, data: ProductIdsIn):
    """Append products after the current last one (products already in it stay where they are)."""
    members = await actions.do_add_collection_products(current_services(), api_tenant().id, collection_id, data.product_ids)
    return json_response(CollectionMembers(collection_id=collection_id, product_ids=members))


@blueprint.delete(f"{COLLECTION_PATH}/products/<{ID}:product_id>")
@require_api_tenant
@responds(200, CollectionMembers, errors=(401, 403, 404))
async def remove_collection_product(collection_id: int, product_id: int):
    """Take a product out of the collection (the product itself stays)."""
    tenant = api_tenant()
    await actions.do_remove_collection_product(current_services(), tenant.id, collection_id, product_id)
    async with current_services().db.connect() as conn:
        members = await queries.select_collection_product_ids(conn, tenant.id, collection_id)
    return json_response(CollectionMembers(collection_id=collection_id, product_ids=members))
