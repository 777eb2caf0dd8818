"""The Admin GraphQL documents sync uses, and their requested cost.

Shopify's cost rules (shopify.dev "GraphQL Admin API rate limits"): an object
costs 1, a scalar or enum 0, a connection 2 + ``first`` x the cost of one node.
Page sizes are chosen so a query never asks for more than MAX_QUERY_COST
(Shopify refuses above 1,000) and ``first`` never exceeds 250.
"""

from __future__ import annotations

MAX_QUERY_COST = 1000
MAX_FIRST = 250
VARIANTS_PER_PRODUCT = 50  # more are not synced by the paged path (the bulk path has no limit)
IMAGES_PER_PRODUCT = 10
PRODUCTS_PER_COLLECTION_PAGE = 100


def connection_cost(first: int, node_cost: int) -> int:
    return 2 + first * node_cost


# variant node: the variant (1) + inventoryItem (1) + selectedOptions (1)
VARIANT_NODE_COST = 3
IMAGE_NODE_COST = 1
# product node: itself (1) + options (1) + variants + images
PRODUCT_NODE_COST = 1 + 1 + connection_cost(VARIANTS_PER_PRODUCT, VARIANT_NODE_COST) + connection_cost(IMAGES_PER_PRODUCT, IMAGE_NODE_COST)
COLLECTION_NODE_COST = 1 + 1 + connection_cost(PRODUCTS_PER_COLLECTION_PAGE, 1)


def page_size(node_cost: int) -> int:
    """The largest ``first`` whose requested cost stays within MAX_QUERY_COST."""
    return max(1, min(MAX_FIRST, (MAX_QUERY_COST - 2) // node_cost))


PRODUCTS_FIRST = page_size(PRODUCT_NODE_COST)
COLLECTIONS_FIRST = page_size(COLLECTION_NODE_COST)
PRODUCTS_QUERY_COST = connection_cost(PRODUCTS_FIRST, PRODUCT_NODE_COST)
COLLECTIONS_QUERY_COST = connection_cost(COLLECTIONS_FIRST, COLLECTION_NODE_COST)
MEMBERS_QUERY_COST = 1 + connection_cost(MAX_FIRST, 1)

PRODUCT_FIELDS = f"""
  id handle title descriptionHtml vendor productType tags status updatedAt publishedAt
  options {{ name }}
  variants(first: {VARIANTS_PER_PRODUCT}) {{ edges {{ node {{
    id title sku price compareAtPrice position inventoryQuantity inventoryPolicy
    inventoryItem {{ id }} selectedOptions {{ value }}
  }} }} }}
  images(first: {IMAGES_PER_PRODUCT}) {{ edges {{ node {{ id url altText width height }} }} }}
"""

PRODUCTS_PAGE = f"""
query ProductsPage($first: Int!, $after: String, $query: String) {{
  products(first: $first, after: $after, query: $query, sortKey: ID) {{
    edges {{ cursor node {{ {PRODUCT_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

COLLECTIONS_PAGE = f"""
query CollectionsPage($first: Int!, $after: String, $query: String) {{
  collections(first: $first, after: $after, query: $query, sortKey: ID) {{
    edges {{ cursor node {{
      id handle title descriptionHtml updatedAt image {{ url }}
      products(first: {PRODUCTS_PER_COLLECTION_PAGE}) {{ edges {{ node {{ id }} }} pageInfo {{ hasNextPage endCursor }} }}
    }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

COLLECTION_MEMBERS_PAGE = """
query CollectionMembers($id: ID!, $first: Int!, $after: String) {
  collection(id: $id) {
    products(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } }
  }
}
"""

PRODUCT_IDS_PAGE = """
query ProductIds($first: Int!, $after: String) {
  products(first: $first, after: $after, sortKey: ID) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}
"""

# Bulk operations take no `first` (shopify.dev "Perform bulk operations"): nested
# connections come back flattened as JSONL lines linked by __parentId.
BULK_PRODUCTS = """
{
  products {
    edges { node {
      id handle title descriptionHtml vendor productType tags status updatedAt publishedAt
      options { name }
      variants { edges { node {
        id title sku price compareAtPrice position inventoryQuantity inventoryPolicy
        inventoryItem { id } selectedOptions { value }
      } } }
      images { edges { node { id url altText width height } } }
    } }
  }
}
"""

BULK_COLLECTIONS = """
{
  collections {
    edges { node {
      id handle title descriptionHtml updatedAt image { url }
      products { edges { node { id } } }
    } }
  }
}
"""

BULK_RUN = """
mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""
BULK_RUN_COST = 10

BULK_STATUS = """
query BulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}
"""
BULK_STATUS_COST = 1

SHOP_SETTINGS = """
query ShopSettings {
  shop {
    name email currencyCode
    primaryDomain { url }
    metafields(first: 10, namespace: "zelly") { edges { node { key value } } }
  }
}
"""
SHOP_SETTINGS_COST = 1 + 1 + connection_cost(10, 1)

METAFIELDS_SET = """
mutation PushSettings($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key value }
    userErrors { field message code }
  }
}
"""
METAFIELDS_SET_COST = 10
