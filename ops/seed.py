"""Demo data: three tenants with different currencies, languages and looks, 200 products each,
and the shipping and tax rates a shopper needs to check out in each (ops/demo_catalog.py CheckoutRules).

What they sell is in ops/demo_catalog.py: kinds of product per collection, with
plausible prices per currency and words in the shop's language (issue 20).

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
from html import escape
from typing import Callable

import sqlalchemy as sa

from edge import tags as cache_tags
from ops import demo_catalog
from origin.catalog import queries as catalog_queries
from origin.catalog.actions import insert_product
from origin.catalog.inputs import NewCollection, NewImage, NewProduct, NewVariant, clean_new_collection
from origin.catalog.tables import collection_products, collections
from origin.checkout import rules as checkout_rules
from origin.checkout.tables import shipping_rates, tax_rates
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
    kinds: tuple[demo_catalog.Kind, ...]
    series: tuple[demo_catalog.Series, ...]
    collections: tuple[demo_catalog.Collection, ...]
    title_format: str  # "{series} {kind}" in English, "{kind} {series}" in German, "{series}{kind}" in Japanese
    curated: tuple[str, ...]  # collections picked across kinds (new arrivals, bestsellers, gifts…)
    checkout: demo_catalog.CheckoutRules  # shipping and tax rates for the shop's country and currency


DEMO_TENANTS = (
    DemoTenant(
        slug="acme",
        name="Acme Outfitters",
        currency="USD",
        locale="en-US",
        theme={
            "colors": {"primary": "#1f5f3f", "accent": "#b35309", "background": "#fbfaf7", "text": "#1c1c1c"},
            "hero_title": "Gear for the long way round",
            "hero_text": "Packs, shells and camp kit, tested on real trails.",
            "hero_cta": "Shop packs",
            "featured_collection": "packs",
        },
        kinds=demo_catalog.ACME_KINDS,
        series=demo_catalog.ACME_SERIES,
        collections=demo_catalog.ACME_COLLECTIONS,
        title_format="{series} {kind}",
        curated=("new-arrivals",),
        checkout=demo_catalog.ACME_RULES,
    ),
    DemoTenant(
        slug="nordic",
        name="Nordic Living",
        currency="EUR",
        locale="de-DE",
        theme={
            "colors": {"primary": "#22313f", "accent": "#7a5f0e", "background": "#f4f6f8", "text": "#151b22"},
            "hero_title": "Stille Dinge für jeden Tag",
            "hero_text": "Eiche, Wolle und Steinzeug aus kleinen nordischen Werkstätten.",
            "hero_cta": "Zum Wohnzimmer",
            "featured_collection": "wohnzimmer",
        },
        kinds=demo_catalog.NORDIC_KINDS,
        series=demo_catalog.NORDIC_SERIES,
        collections=demo_catalog.NORDIC_COLLECTIONS,
        title_format="{kind} {series}",
        curated=("bestseller",),
        checkout=demo_catalog.NORDIC_RULES,
    ),
    DemoTenant(
        slug="kyoto",
        name="京都茶寮",
        currency="JPY",
        locale="ja-JP",
        theme={
            "colors": {"primary": "#7a1e1e", "accent": "#3c6e47", "background": "#fffdf8", "text": "#2b2118"},
            "hero_title": "お茶と器のある、静かな朝",
            "hero_text": "宇治の煎茶と抹茶、京都の窯元の茶器をお届けします。",
            "hero_cta": "日本茶を見る",
            "featured_collection": "green-tea",
            "logo_text": "京都茶寮",
        },
        kinds=demo_catalog.KYOTO_KINDS,
        series=demo_catalog.KYOTO_SERIES,
        collections=demo_catalog.KYOTO_COLLECTIONS,
        title_format="{series}{kind}",
        curated=("gifts", "seasonal"),
        checkout=demo_catalog.KYOTO_RULES,
    ),
)


def demo_api_token(keyring: Keyring, slug: str) -> str:
    """The demo tenant's API token: the same on every run for the same (current) secret key."""
    _, key = keyring.signing_key(KeyPurpose.DEMO_API_TOKEN)
    digest = hmac.new(key, f"demo-token:{slug}".encode(), hashlib.sha256).hexdigest()
    return f"{TOKEN_PREFIX}demo_{slug}_{digest[:32]}"


def _price(rng: random.Random, low: int, high: int, digits: int) -> Decimal:
    """A shelf price in the kind's range: yen in hundreds, euro and dollar ending .00, .90, .95 or .99."""
    whole = rng.randrange(low, high + 1)
    if digits == 0:
        return Decimal(max(low, whole // 100 * 100))
    return Decimal(f"{whole - 1 if whole > low else whole}.{rng.choice(('00', '90', '95', '99'))}")


def _step(price: Decimal, digits: int) -> Decimal:
    """What a bigger size or a dearer material adds: about a tenth of the price, rounded like a price."""
    if digits == 0:
        return max(Decimal(100), (price / 10 / 100).quantize(Decimal(1)) * 100)
    return max(Decimal(5), (price / 10).quantize(Decimal(1)))


def demo_products(demo: DemoTenant) -> list[NewProduct]:
    """One product per (series, kind): 20 series x 10 kinds = 200, interleaved so every page mixes kinds."""
    rng = random.Random(f"zelly-demo-{demo.slug}")
    digits = CURRENCY_DIGITS[demo.currency]
    result: list[NewProduct] = []
    number = 0
    for series in demo.series:
        for kind in demo.kinds:
            number += 1
            title = demo.title_format.format(series=series.name, kind=kind.product_type)
            handle = f"{series.handle}-{kind.handle}"
            base = _price(rng, *kind.price, digits)
            names = [name for name, _ in kind.options]
            combos: list[list[str]] = [[]]
            for _, values in kind.options:
                combos = [combo + [value] for combo in combos for value in values]
            # The first option's later values cost more (a larger size, a dearer wood); colours do not.
            first_values = kind.options[0][1] if kind.options else ()
            step = _step(base, digits)
            on_sale = number % 7 == 0
            variants = [
                NewVariant(
                    price=base + (step * first_values.index(combo[0]) if combo and len(first_values) > 1 and names[0] not in COLOUR_OPTIONS else 0),
                    compare_at_price=(base * Decimal("1.25")).quantize(Decimal(1).scaleb(-digits)) if on_sale else None,
                    options=combo,
                    sku=f"{demo.slug[:3].upper()}-{number:03d}-{index + 1}",
                    inventory_quantity=0 if number % 11 == 0 or rng.random() < 0.06 else rng.choice((2, 5, 8, 12, 20, 35)),
                )
                for index, combo in enumerate(combos)
            ]
            # The illustration takes the colour (or wood, glaze, metal) of the first variant, else the series'.
            colour_option = next((i for i, name in enumerate(names) if name in COLOUR_OPTIONS), None)
            colour = demo_catalog.COLOUR_WORDS.get(combos[0][colour_option], "plain") if colour_option is not None else "plain"
            images = [
                NewImage(url=f"/media/demo/{demo.slug}/{kind.picture}-{colour}-{handle}.svg", alt=title, width=800, height=800)
            ]
            detail = rng.choice(kind.details)
            result.append(
                NewProduct(
                    title=title,
                    handle=handle,
                    description_html=f"<p>{escape(kind.description.format(title=title, vendor=kind.vendor, detail=detail), quote=False)}</p>",
                    vendor=kind.vendor,
                    product_type=kind.product_type,
                    tags=[kind.handle, series.handle, demo.slug],
                    option_names=names,
                    variants=variants,
                    images=images,
                )
            )
    return result


# Option names whose values are colours or materials: they pick the illustration's colour, not the price.
COLOUR_OPTIONS = ("Color", "Farbe", "Holz", "釉薬", "素材", "香り")


def demo_memberships(demo: DemoTenant, products: list[NewProduct]) -> dict[str, list[str]]:
    """collection handle -> ordered product handles: each category holds its kinds only."""
    rng = random.Random(f"zelly-demo-collections-{demo.slug}")
    kind_collection = {kind.product_type: kind.collection for kind in demo.kinds}
    memberships: dict[str, list[str]] = {}
    handles = [p.handle for p in products]
    for index, collection in enumerate(demo.collections):
        if collection.handle == "sale":
            chosen = [p.handle for p in products if p.variants[0].compare_at_price is not None]
        elif collection.handle in demo.curated:
            chosen = handles[-36:][::-1] if index % 2 == 0 else rng.sample(handles, 36)
        else:
            chosen = [p.handle for p in products if kind_collection[p.product_type] == collection.handle]
        memberships[collection.handle] = chosen
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
        for collection_handle, members in demo_memberships(demo, products).items():
            existing = await catalog_queries.select_collection_by_handle(conn, tenant.id, collection_handle)
            if existing is not None:
                continue
            collection = next(c for c in demo.collections if c.handle == collection_handle)
            row = clean_new_collection(
                NewCollection(title=collection.title, handle=collection.handle, description_html=f"<p>{escape(collection.description, quote=False)}</p>")
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
    await seed_checkout_rules(services, tenant.id, demo, echo)


async def seed_checkout_rules(services: Services, tenant_id: int, demo: DemoTenant, echo: Callable[[str], None]) -> None:
    """The store's shipping and tax rates, through the seller API's own validation; a rate that exists stays."""
    async with services.db.connect() as conn:
        rate_names = set((await conn.execute(sa.select(shipping_rates.c.name).where(shipping_rates.c.tenant_id == tenant_id))).scalars())
        tax_places = {
            (row.country_code, row.region)
            for row in await conn.execute(sa.select(tax_rates.c.country_code, tax_rates.c.region).where(tax_rates.c.tenant_id == tenant_id))
        }
    created = 0
    for values in demo.checkout.shipping:
        if values["name"] not in rate_names:
            await checkout_rules.do_create_rule(services, tenant_id, "shipping", values)
            created += 1
    for values in demo.checkout.taxes:
        if (values["country_code"], values["region"]) not in tax_places:
            await checkout_rules.do_create_rule(services, tenant_id, "taxes", values)
            created += 1
    countries = sorted({country for values in demo.checkout.shipping for country in values["countries"]})
    echo(f"  {demo.slug}: ships to {', '.join(countries)}; {created} checkout rules created")


# On every later `zelly dev` the tokens are not printed again; this says how to see them (issue 20, item 5).
SEEDED_BEFORE = "demo stores already seeded; `zelly seed --demo` prints their API tokens again (and changes nothing)"


async def seed_demo(services: Services, echo: Callable[[str], None] = print) -> None:
    echo("seeding demo tenants")
    for demo in DEMO_TENANTS:
        await seed_tenant(services, demo, echo)
    for demo in DEMO_TENANTS:
        echo(f"  {demo.slug} API token: {demo_api_token(services.keyring, demo.slug)}")
    stripe = "and Stripe (card)" if services.settings.stripe_secret_key else "(set ZELLY_STRIPE_SECRET_KEY to offer Stripe too)"
    echo(f"  payment: manual (bank transfer / cash on delivery, the merchant marks it paid) {stripe}")


async def seed_demo_if_empty(services: Services, echo: Callable[[str], None] = print) -> bool:
    """Seed on the first run only (no tenants yet); True when it seeded."""
    async with services.db.connect() as conn:
        if await tenancy_queries.select_tenants(conn):
            echo(SEEDED_BEFORE)
            return False
    await seed_demo(services, echo)
    return True
