"""Screenshots of each demo store's home, collection and product pages, for docs/screenshots/.

    .venv/bin/python -m ops.screenshots [output directory]

Seeds the demo stores into a temporary directory, serves them with the real
origin on loopback (ops/demo_server.py) and has headless Chromium (CHROME_PATH,
default `chromium`) take one 1280x1400 PNG per page. Nothing is fetched from the
internet: the product pictures are the origin's own drawings.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ops.demo_server import serve_demo_stores
from ops.seed import DemoTenant, demo_memberships, demo_products

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
WINDOW = "1280,1400"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", f"--window-size={WINDOW}")


def sample_paths(demo: DemoTenant) -> dict[str, str]:
    """home, the featured collection and its first product with options (the variant picker shows)."""
    featured = demo.theme["featured_collection"]
    products = {product.handle: product for product in demo_products(demo)}
    members = demo_memberships(demo, list(products.values()))[featured]
    handle = next(h for h in members if products[h].option_names)
    return {"home": "/", "collection": f"/collections/{featured}", "product": f"/products/{handle}"}


async def screenshot(chromium: str, url: str, target: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        chromium, *CHROMIUM_FLAGS, f"--screenshot={target}", url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    await asyncio.wait_for(process.wait(), timeout=120)
    if process.returncode != 0 or not target.exists():
        raise RuntimeError(f"chromium could not take {url} (exit {process.returncode})")


async def take_all(output: Path) -> list[Path]:
    chromium = os.environ.get("CHROME_PATH") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("error: no chromium (apt-get install -y chromium, or set CHROME_PATH)")
    output.mkdir(parents=True, exist_ok=True)
    taken = []
    with tempfile.TemporaryDirectory(prefix="zelly-screenshots-") as data_dir:
        async with serve_demo_stores(Path(data_dir)) as stores:
            for demo in stores.tenants:
                for name, path in sample_paths(demo).items():
                    target = output / f"{demo.slug}-{name}.png"
                    await screenshot(chromium, stores.base_url(demo.slug) + path, target)
                    taken.append(target)
    return taken


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    for path in asyncio.run(take_all(output)):
        print(path)


if __name__ == "__main__":
    main()
