"""A fake Shopify Admin API for tests and benchmarks (an outside service, so a fake is allowed).

It behaves as shopify.dev documents: Admin GraphQL over POST
/admin/api/<version>/graphql.json with X-Shopify-Access-Token; products and
collections with opaque cursor pagination; the calculated query cost (object 1,
connection 2 + first x node) charged against a per-shop leaky bucket (size and
restore rate per plan) with refunds to the actual cost, THROTTLED and
MAX_COST_EXCEEDED errors in Shopify's shape; injected 429/5xx; bulk operations
producing a JSONL file with __parentId; and a sender of signed webhooks.
"""

from tests.fakes.shopify.app import FakeShopify, serve_fake
from tests.fakes.shopify.catalog import FakeCatalog, make_catalog
from tests.fakes.shopify.webhooks import WebhookSender

__all__ = ["FakeShopify", "serve_fake", "FakeCatalog", "make_catalog", "WebhookSender"]
