"""Request and response models for collections and their ordered members."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from origin.catalog.inputs import NewCollection
from origin.catalog.models import Collection
from origin.web.seller.api.schemas.common import STRICT, PageQuery, ResourceId, Timestamp, Title
from origin.web.seller.api.schemas.products import Description, Handle, Url

# Bounded so one request is one reasonable transaction; larger sets go in several POSTs.
MAX_MEMBERS_PER_REQUEST = 1000


class CollectionIn(BaseModel):
    """A new collection (empty; add products with POST /collections/{id}/products)."""

    model_config = STRICT

    title: Title
    handle: Handle | None = None
    description_html: Description = ""
    image_url: Url | None = None

    def to_domain(self) -> NewCollection:
        return NewCollection(**self.model_dump())


class CollectionChanges(BaseModel):
    """Fields to change (PATCH): only the keys sent change; `image_url: null` removes the image."""

    model_config = STRICT

    title: Title | None = None
    handle: Handle | None = None
    description_html: Description | None = None
    image_url: Url | None = None


NULLABLE_COLLECTION_CHANGES = frozenset({"image_url"})


class ProductIdsIn(BaseModel):
    """Product ids: for PUT the whole membership in order, for POST the products to append."""

    model_config = STRICT

    product_ids: Annotated[list[ResourceId], Field(max_length=MAX_MEMBERS_PER_REQUEST)]


class CollectionOut(BaseModel):
    """A collection."""

    id: int
    handle: str
    title: str
    description_html: str
    image_url: str | None
    created_at: Timestamp
    updated_at: Timestamp

    @classmethod
    def build(cls, collection: Collection) -> "CollectionOut":
        return cls(**{name: getattr(collection, name) for name in cls.model_fields})


class CollectionPage(BaseModel):
    """One page of collections, by id; pass `next_cursor` as `cursor` for the next (null: last page)."""

    items: list[CollectionOut]
    next_cursor: str | None


class CollectionMembers(BaseModel):
    """The collection's product ids in their manual order (every status)."""

    collection_id: int
    product_ids: list[int]


class CollectionListQuery(PageQuery):
    pass


class CollectionProductsQuery(PageQuery):
    pass
