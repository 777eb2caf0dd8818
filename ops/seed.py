"""Demo data: three tenants with different currencies and looks, ~200 products each.

Deterministic (a seeded RNG per tenant) and idempotent: a tenant, product or
collection that exists is left as it is, so running it twice leaves exactly the
same rows. Images are SVGs the origin draws from their URL (origin/web/storefront/media.py);
nothing is fetched from the internet. Demo API tokens are derived from the
secret key, so they too are the same on every run and only their hash is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa

from edge import tags as cache_tags
from origin.catalog import queries as catalog_queries
from origin.catalog.actions import insert_product
from origin.catalog.inputs import NewCollection, NewImage, NewProduct, NewVariant, clean_new_collection
from origin.catalog.tables import collection_products, collections
from origin.tenancy.tables import tenant_api_tokens
from origin.invalidation import transaction
from origin.keyring import KeyPurpose, Keyring
from origin.services import Services
from origin.tenancy import queries as tenancy_queries
from origin.tenancy.actions import TOKEN_PREFIX, do_create_tenant, hash_token
from origin.tenancy.models import CURRENCY_DIGITS

PRODUCTS_PER_TENANT = 200


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    currency: str
    locale: str
    theme: dict
    price_range: tuple[int, int]
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]
    vendors: tuple[str, ...]
    collections: tuple[str, ...]
    colors: tuple[str, ...]


DEMO_TENANTS = (
    DemoTenant(
        slug="acme",
        name="Acme Outfitters",
        currency="USD",
        locale="en-US",
        theme={
            "colors": {"primary": "#1f5f3f", "accent": "#e07a1f", "background": "#fbfaf7", "text": "#1c1c1c"},
            "hero_title": "Gear for the long way round",
            "hero_text": "Packs, shells and camp kit, tested on real trails.",
            "hero_cta": "Shop packs",
            "featured_collection": "packs",
        },
        price_range=(12, 480),
        adjectives=("Alpine", "Trail", "Summit", "Ridge", "Canyon", "Storm", "Basecamp", "Granite", "Cedar", "Nomad"),
        nouns=("Backpack", "Rain Shell", "Fleece", "Trekking Pole", "Headlamp", "Water Bottle", "Tent", "Sleeping Bag", "Beanie", "Hiking Boot"),
        vendors=("Acme Labs", "Northbound", "Fieldcraft"),
        collections=("Packs", "Outerwear", "Camp", "Footwear", "New Arrivals", "Sale"),
        colors=("Moss", "Rust", "Slate", "Sand"),
    ),
    DemoTenant(
        slug="nordic",
        name="Nordic Living",
        currency="EUR",
        locale="de-DE",
        theme={
            "colors": {"primary": "#22313f", "accent": "#9a7b12", "background": "#f4f6f8", "text": "#151b22"},
            "hero_title": "Quiet objects for everyday rooms",
            "hero_text": "Oak, wool and stoneware from small Nordic workshops.",
            "hero_cta": "Explore the collection",
            "featured_collection": "living-room",
        },
        price_range=(9, 890),
        adjectives=("Fjord", "Birch", "Frost", "Linnea", "Oak", "Nord", "Halden", "Sølv", "Skog", "Vind"),
        nouns=("Chair", "Wool Throw", "Vase", "Pendant Lamp", "Mug", "Side Table", "Cushion", "Candle Holder", "Rug", "Shelf"),
        vendors=("Hygge Studio", "Skandi Works", "Fjell & Co"),
        collections=("Living Room", "Kitchen", "Lighting", "Textiles", "Bestsellers", "Sale"),
        colors=("Oak", "Ash", "Charcoal", "Natural"),
    ),
    DemoTenant(
        slug="kyoto",
        name="Kyoto Tea House",
        currency="JPY",
        locale="ja-JP",
        theme={
            "colors": {"primary": "#7a1e1e", "accent": "#3c6e47", "background": "#fffdf8", "text": "#2b2118"},
            "hero_title": "Tea, clay and quiet mornings",
            "hero_text": "Sencha, matcha and hand-thrown teaware from Uji and Kyoto.",
            "hero_cta": "Browse teas",
            "featured_collection": "green-tea",
        },
        price_range=(800, 48000),
        adjectives=("Uji", "Kiyomizu", "Gion", "Arashiyama", "Sakura", "Momiji", "Kinkaku", "Fushimi", "Higashiyama", "Kamo"),
        nouns=("Sencha", "Matcha", "Hojicha", "Teapot", "Tea Bowl", "Whisk", "Tea Caddy", "Cup Set", "Genmaicha", "Incense"),
        vendors=("Uji Gardens", "Kiyomizu Kiln", "Gion Craft"),
        collections=("Green Tea", "Teaware", "Gifts", "Seasonal", "Staff Picks", "Sale"),
        colors=("Celadon", "Ash Glaze", "Iron", "White"),
    ),
)


def demo_api_token(keyring: Keyring, slug: str) -> str:
    """The demo tenant's API token: the same on every run for the same (current) secret key."""
    _, key = keyring.signing_key(KeyPurpose.DEMO_API_TOKEN)
    digest = hmac.new(key, f"demo-token:{slug}".encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}demo_{slug}_{digest[:32]}"


def _price(rng: random.Random, low: int, high: int, digits: int) -> Decimal:
    if digits == 0:
        return Decimal(rng.randrange(low, high) // 100 * 100 + 100)
    whole = rng.randrange(low, high)
    return Decimal(f"{whole}.{rng.choice(('00', '50', '95', '99'))}")


def demo_products(demo: DemoTenant) -> list[NewProduct]:
    rng = random.Random(f"zelly-demo-{demo.slug}")
    digits = CURRENCY_DIGITS[demo.currency]
    result: list[NewProduct] = []
    for number in range(1, PRODUCTS_PER_TENANT + 1):
        adjective, noun = rng.choice(demo.adjectives), rng.choice(demo.nouns)
        title = f"{adjective} {noun} {number:03d}"
        handle = f"{adjective}-{noun}-{number:03d}".lower().replace(" ", "-").replace("ø", "o")
        base = _price(rng, *demo.price_range, digits)
        shape = number % 4
        if shape == 0:
            option_names, combos = [], [[]]
        elif shape == 1:
            option_names, combos = ["Size"], [["S"], ["M"], ["L"]]
        elif shape == 2:
            option_names, combos = ["Color"], [[c] for c in demo.colors[:3]]
        else:
            option_names, combos = ["Size", "Color"], [[s, c] for s in ("S", "M") for c in demo.colors[:2]]
        step = Decimal(100) if digits == 0 else Decimal("5.00")
        variants = [
            NewVariant(
                price=base + step * index,
                compare_at_price=(base * Decimal("1.25")).quantize(Decimal(1).scaleb(-digits)) if number % 7 == 0 else None,
                options=combo,
                sku=f"{demo.slug[:3].upper()}-{number:03d}-{index + 1}",
                inventory_quantity=0 if number % 11 == 0 else rng.randrange(0, 40),
            )
            for index, combo in enumerate(combos)
        ]
        images = [
            NewImage(url=f"/media/demo/{demo.slug}/{handle}-{view}.svg", alt=f"{title}, {label}", width=800, height=800)
            for view, label in ((1, "front view"), (2, "detail"))
        ]
        result.append(
            NewProduct(
                title=title,
                handle=handle,
                description_html=(
                    f"<p>The {title} is part of our {adjective} line: made to last, easy to care for, "
                    f"and backed by {rng.choice(demo.vendors)}'s two-year guarantee.</p>"
                ),
                vendor=rng.choice(demo.vendors),
                product_type=noun,
                tags=[noun.lower(), adjective.lower(), demo.slug],
                option_names=option_names,
                variants=variants,
                images=images,
            )
        )
    return result


def demo_memberships(demo: DemoTenant, handles: list[str]) -> dict[str, list[str]]:
    """collection handle -> ordered product handles."""
    rng = random.Random(f"zelly-demo-collections-{demo.slug}")
    memberships: dict[str, list[str]] = {}
    for index, title in enumerate(demo.collections):
        handle = title.lower().replace(" ", "-")
        if title in ("New Arrivals", "Bestsellers", "Staff Picks"):
            chosen = handles[-36:][::-1] if index % 2 else rng.sample(handles, 36)
        elif title == "Sale":
            chosen = handles[6::7]
        else:
            chosen = [h for i, h in enumerate(handles) if i % (len(demo.collections) - 2) == index % (len(demo.collections) - 2)]
        memberships[handle] = chosen
    return memberships


async def seed_tenant(services: Services, demo: DemoTenant, echo: Callable[[str], None]) -> None:
    async with services.db.connect() as conn:
        tenant = await tenancy_queries.select_tenant_by_slug(conn, demo.slug)
    if tenant is None:
        tenant = await do_create_tenant(
            services, slug=demo.slug, name=demo.name, currency=demo.currency, locale=demo.locale, theme_settings=demo.theme
        )
    token = demo_api_token(services.keyring, demo.slug)
    products = demo_products(demo)
    created = 0
    async with transaction(services) as (conn, effects):
        if (
            await conn.execute(sa.select(tenant_api_tokens.c.id).where(tenant_api_tokens.c.token_hash == hash_token(token)))
        ).first() is None:
            await conn.execute(
                tenant_api_tokens.insert().values(
                    tenant_id=tenant.id, name="demo", token_prefix=token[:12], token_hash=hash_token(token)
                )
            )
        for index, product in enumerate(products, start=1):
            if await catalog_queries.select_product_id_by_handle(conn, tenant.id, product.handle) is None:
                await insert_product(conn, tenant.id, product, CURRENCY_DIGITS[demo.currency])
                created += 1
            if index % 50 == 0 or index == len(products):
                echo(f"  {demo.slug}: products {index}/{len(products)}")
        handles = [p.handle for p in products]
        for collection_handle, members in demo_memberships(demo, handles).items():
            existing = await catalog_queries.select_collection_by_handle(conn, tenant.id, collection_handle)
            if existing is not None:
                continue
            title = next(t for t in demo.collections if t.lower().replace(" ", "-") == collection_handle)
            row = clean_new_collection(
                NewCollection(title=title, handle=collection_handle, description_html=f"<p>{title} from {demo.name}.</p>")
            )
            collection_id = (await conn.execute(collections.insert().values(tenant_id=tenant.id, **row))).inserted_primary_key[0]
            ids = [await catalog_queries.select_product_id_by_handle(conn, tenant.id, h) for h in members]
            await conn.execute(
                collection_products.insert(),
                [
                    {"tenant_id": tenant.id, "collection_id": collection_id, "product_id": pid, "position": i + 1}
                    for i, pid in enumerate(ids)
                ],
            )
        if created:
            effects.purge(tenant.id, cache_tags.tenant_tag(tenant.id))
    echo(f"  {demo.slug}: {created} products created, {len(products) - created} already there")


async def seed_demo(services: Services, echo: Callable[[str], None] = print) -> None:
    echo("seeding demo tenants")
    for demo in DEMO_TENANTS:
        await seed_tenant(services, demo, echo)
    for demo in DEMO_TENANTS:
        echo(f"  {demo.slug} API token: {demo_api_token(services.keyring, demo.slug)}")


async def seed_demo_if_empty(services: Services, echo: Callable[[str], None] = print) -> bool:
    """Seed on the first run only (no tenants yet); True when it seeded."""
    async with services.db.connect() as conn:
        if await tenancy_queries.select_tenants(conn):
            return False
    await seed_demo(services, echo)
    return True
