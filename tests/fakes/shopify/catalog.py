"""The fake shop's data, in GraphQL shape, plus the REST shape its webhooks carry."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from dataclasses import dataclass, field

ID_BASE = 2**53 + 1  # every fake id is above 2**53: a float anywhere would corrupt it


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeCatalog:
    products: dict[str, dict] = field(default_factory=dict)  # gid -> GraphQL-shaped product
    collections: dict[str, dict] = field(default_factory=dict)  # gid -> collection + "productIds"
    shop: dict = field(default_factory=lambda: {
        "name": "Fake Shop", "email": "owner@fake-shop.example", "currencyCode": "USD",
        "primaryDomain": {"url": "https://fake-shop.example"}, "metafields": {},
    })
    next_id: int = ID_BASE

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_product(self, *, title: str, variants: int = 3, images: int = 2, price: str = "10.00",
                    updated_at: dt.datetime | None = None, inventory: int = 5) -> dict:
        number = self.new_id()
        moment = updated_at or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        product = {
            "id": f"gid://shopify/Product/{number}",
            "handle": f"{title.lower().replace(' ', '-')}-{number % 100000}",
            "title": title, "descriptionHtml": f"<p>{title}</p>", "vendor": "Fake", "productType": "Thing",
            "tags": ["fake", "synced"], "status": "ACTIVE", "updatedAt": iso(moment), "publishedAt": iso(moment),
            "options": [{"name": "Size"}],
            "variants": [
                {
                    "id": f"gid://shopify/ProductVariant/{self.new_id()}", "title": f"Size {index + 1}", "sku": f"SKU-{number}-{index}",
                    "price": str(Decimal(price) + index), "compareAtPrice": None, "position": index + 1,
                    "inventoryQuantity": inventory, "inventoryPolicy": "DENY",
                    "inventoryItem": {"id": f"gid://shopify/InventoryItem/{self.new_id()}"},
                    "selectedOptions": [{"value": f"Size {index + 1}"}],
                }
                for index in range(variants)
            ],
            "images": [
                {"id": f"gid://shopify/ProductImage/{self.new_id()}", "url": f"https://cdn.fake/{number}/{index}.jpg",
                 "altText": f"{title} {index}", "width": 800, "height": 600}
                for index in range(images)
            ],
        }
        self.products[product["id"]] = product
        return product

    def add_collection(self, *, title: str, product_ids: list[str], updated_at: dt.datetime | None = None) -> dict:
        number = self.new_id()
        moment = updated_at or dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        collection = {
            "id": f"gid://shopify/Collection/{number}", "handle": f"{title.lower().replace(' ', '-')}-{number % 100000}",
            "title": title, "descriptionHtml": "", "updatedAt": iso(moment), "image": None, "productIds": list(product_ids),
        }
        self.collections[collection["id"]] = collection
        return collection

    def touch(self, gid: str, moment: dt.datetime, **changes) -> dict:
        product = self.products[gid]
        product.update(changes, updatedAt=iso(moment))
        return product

    def delete_product(self, gid: str) -> None:
        self.products.pop(gid)
        for collection in self.collections.values():
            if gid in collection["productIds"]:
                collection["productIds"].remove(gid)


def numeric(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1])


def rest_product(product: dict) -> dict:
    """The products/create|update webhook body for a product (REST shape, numeric ids)."""
    product_id = numeric(product["id"])
    return {
        "id": product_id, "admin_graphql_api_id": product["id"], "title": product["title"], "handle": product["handle"],
        "body_html": product["descriptionHtml"], "vendor": product["vendor"], "product_type": product["productType"],
        "tags": ", ".join(product["tags"]), "status": product["status"].lower(), "updated_at": product["updatedAt"],
        "published_at": product["publishedAt"],
        "options": [{"name": option["name"], "position": index + 1} for index, option in enumerate(product["options"])],
        "variants": [
            {
                "id": numeric(variant["id"]), "admin_graphql_api_id": variant["id"], "product_id": product_id,
                "title": variant["title"], "sku": variant["sku"], "price": variant["price"], "compare_at_price": variant["compareAtPrice"],
                "position": variant["position"], "inventory_quantity": variant["inventoryQuantity"],
                "inventory_policy": variant["inventoryPolicy"].lower(), "inventory_item_id": numeric(variant["inventoryItem"]["id"]),
                "option1": variant["selectedOptions"][0]["value"] if variant["selectedOptions"] else None, "option2": None, "option3": None,
            }
            for variant in product["variants"]
        ],
        "images": [
            {"id": numeric(image["id"]), "admin_graphql_api_id": image["id"], "product_id": product_id, "position": index + 1,
             "src": image["url"], "alt": image["altText"], "width": image["width"], "height": image["height"]}
            for index, image in enumerate(product["images"])
        ],
    }


def rest_collection(collection: dict) -> dict:
    return {
        "id": numeric(collection["id"]), "admin_graphql_api_id": collection["id"], "handle": collection["handle"],
        "title": collection["title"], "body_html": collection["descriptionHtml"], "updated_at": collection["updatedAt"],
    }


def make_catalog(products: int, *, variants: int = 3, images: int = 2, collections: int = 2) -> FakeCatalog:
    catalog = FakeCatalog()
    made = [catalog.add_product(title=f"Product {index}", variants=variants, images=images) for index in range(products)]
    for index in range(collections):
        catalog.add_collection(title=f"Collection {index}", product_ids=[p["id"] for p in made[index::collections]])
    return catalog
