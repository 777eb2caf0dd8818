"""The fake's GraphQL schema (a subset of Shopify's Admin API), resolvers and query cost.

Cost follows shopify.dev: scalars and enums 0, an object 1, a connection
2 + first x (cost of one node); edges/node/pageInfo are not charged; a mutation
costs 10. The requested cost is computed from the query before it runs, the
actual cost from what it returned.
"""

from __future__ import annotations

import base64
import json
import re

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    value_from_ast,
)

SDL = """
scalar DateTime
scalar Money
scalar URL
scalar HTML

enum ProductSortKeys { ID UPDATED_AT TITLE }
enum CollectionSortKeys { ID UPDATED_AT TITLE }

interface Node { id: ID! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! endCursor: String startCursor: String }

type ProductOption { name: String! }
type SelectedOption { value: String! }
type InventoryItem { id: ID! }
type Image { id: ID url: URL! altText: String width: Int height: Int }
type Domain { url: URL! }

type ProductVariant implements Node {
  id: ID! title: String! sku: String price: Money! compareAtPrice: Money position: Int!
  inventoryQuantity: Int inventoryPolicy: String! inventoryItem: InventoryItem! selectedOptions: [SelectedOption!]!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! pageInfo: PageInfo! }
type ImageEdge { cursor: String! node: Image! }
type ImageConnection { edges: [ImageEdge!]! pageInfo: PageInfo! }

type Product implements Node {
  id: ID! handle: String! title: String! descriptionHtml: HTML! vendor: String! productType: String!
  tags: [String!]! status: String! updatedAt: DateTime! publishedAt: DateTime
  options: [ProductOption!]!
  variants(first: Int, after: String): ProductVariantConnection!
  images(first: Int, after: String): ImageConnection!
}
type ProductEdge { cursor: String! node: Product! }
type ProductConnection { edges: [ProductEdge!]! pageInfo: PageInfo! }

type Collection implements Node {
  id: ID! handle: String! title: String! descriptionHtml: HTML! updatedAt: DateTime! image: Image
  products(first: Int, after: String): ProductConnection!
}
type CollectionEdge { cursor: String! node: Collection! }
type CollectionConnection { edges: [CollectionEdge!]! pageInfo: PageInfo! }

type Metafield { key: String! value: String! namespace: String! }
type MetafieldEdge { cursor: String! node: Metafield! }
type MetafieldConnection { edges: [MetafieldEdge!]! pageInfo: PageInfo! }

type Shop {
  name: String! myshopifyDomain: String! email: String currencyCode: String! primaryDomain: Domain!
  metafields(first: Int, namespace: String): MetafieldConnection!
}

type BulkOperation implements Node {
  id: ID! status: String! errorCode: String objectCount: String! url: URL partialDataUrl: URL
}
type UserError { field: [String!] message: String! code: String }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [UserError!]! }
type MetafieldsSetPayload { metafields: [Metafield!] userErrors: [UserError!]! }
input MetafieldsSetInput { ownerId: ID! namespace: String! key: String! type: String! value: String! }

type Count { count: Int! }

type Query {
  products(first: Int, after: String, query: String, sortKey: ProductSortKeys): ProductConnection!
  collections(first: Int, after: String, query: String, sortKey: CollectionSortKeys): CollectionConnection!
  collection(id: ID!): Collection
  node(id: ID!): Node
  shop: Shop!
  productsCount: Count
}
type Mutation {
  bulkOperationRunQuery(query: String!): BulkOperationRunQueryPayload
  metafieldsSet(metafields: [MetafieldsSetInput!]!): MetafieldsSetPayload
}
"""

schema = build_schema(SDL)
MUTATION_COST = 10
MAX_FIRST = 250
UNCHARGED = {"edges", "node", "pageInfo"}


class QueryError(Exception):
    def __init__(self, message: str, code: str, **extensions) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = extensions


def _unwrap(field_type):
    while isinstance(field_type, (GraphQLNonNull, GraphQLList)):
        field_type = field_type.of_type
    return field_type


def _arguments(node: FieldNode, field_def, variables: dict) -> dict:
    values = {}
    for argument in node.arguments or ():
        definition = field_def.args.get(argument.name.value)
        if definition is not None:
            values[argument.name.value] = value_from_ast(argument.value, definition.type, variables)
    return values


def _selection_cost(selection_set, parent_type, variables: dict, fragments: dict) -> int:
    total = 0
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, InlineFragmentNode):
            target = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent_type
            total += _selection_cost(selection.selection_set, target, variables, fragments)
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            total += _selection_cost(fragment.selection_set, schema.get_type(fragment.type_condition.name.value), variables, fragments)
            continue
        field_def = parent_type.fields.get(selection.name.value) if hasattr(parent_type, "fields") else None
        if field_def is None:
            continue
        field_type = _unwrap(field_def.type)
        name = selection.name.value
        if not hasattr(field_type, "fields"):
            continue  # scalar / enum: free
        child = _selection_cost(selection.selection_set, field_type, variables, fragments)
        if field_type.name.endswith("Connection"):
            first = _arguments(selection, field_def, variables).get("first")
            if first is None:
                raise QueryError("you must provide one of first or last", "BAD_REQUEST")
            if first > MAX_FIRST:
                raise QueryError(f"The first argument must be between 0 and {MAX_FIRST}", "BAD_REQUEST")
            total += 2 + first * child
        elif parent_type.name.endswith("Connection"):  # edges, pageInfo: the connection's 2 covers them
            total += child
        else:
            total += 1 + child
    return total


def requested_cost(document, variables: dict) -> int:
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            if definition.operation.value == "mutation":
                total += MUTATION_COST
            else:
                total += _selection_cost(definition.selection_set, schema.query_type, variables, fragments)
    return total


def actual_cost(data, *, is_mutation: bool = False) -> int:
    if is_mutation:
        return MUTATION_COST

    def walk(value, in_connection_root: bool = False) -> int:
        if isinstance(value, list):
            return sum(walk(item) for item in value)
        if not isinstance(value, dict):
            return 0
        if "edges" in value:  # a connection
            return 2 + sum(walk(edge.get("node")) for edge in value["edges"])
        own = 0 if in_connection_root else 1
        return own + sum(walk(item) for key, item in value.items() if key not in UNCHARGED and isinstance(item, (dict, list)))

    return sum(walk(item) for item in (data or {}).values())


# ----------------------------------------------------------------------------- pagination


def encode_cursor(item_id: str) -> str:
    return base64.b64encode(json.dumps({"last_id": int(item_id.rsplit("/", 1)[-1])}).encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(json.loads(base64.b64decode(cursor))["last_id"])
    except (ValueError, KeyError, TypeError):
        raise QueryError("Invalid cursor for current pagination sort.", "BAD_REQUEST") from None


def paginate(items: list[dict], first: int | None, after: str | None) -> dict:
    """Sorted by numeric id; the cursor names the last id seen, so inserts and deletes never skip or repeat."""
    ordered = sorted(items, key=lambda item: int(item["id"].rsplit("/", 1)[-1]))
    if after:
        last = decode_cursor(after)
        ordered = [item for item in ordered if int(item["id"].rsplit("/", 1)[-1]) > last]
    first = MAX_FIRST if first is None else first
    page = ordered[:first]
    return {
        "edges": [{"cursor": encode_cursor(item["id"]), "node": item} for item in page],
        "pageInfo": {
            "hasNextPage": len(ordered) > first, "hasPreviousPage": bool(after),
            "endCursor": encode_cursor(page[-1]["id"]) if page else None,
            "startCursor": encode_cursor(page[0]["id"]) if page else None,
        },
    }


_UPDATED_AFTER = re.compile(r"updated_at:>'?([0-9T:\-Z+.]+)'?")


def search(items: list[dict], query: str | None) -> list[dict]:
    """Shopify search syntax, the part sync uses: updated_at:>'<ISO time>'."""
    if not query:
        return items
    match = _UPDATED_AFTER.search(query)
    if not match:
        return items
    return [item for item in items if item["updatedAt"] > match.group(1)]
