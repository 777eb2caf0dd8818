"""/media/demo serves only the names the store's catalog uses, on that store's hosts, and refuses the rest cheaply."""

from __future__ import annotations

from origin.catalog.inputs import NewImage
from tests.factories import make_product, make_tenant
from tests.storefront.conftest import count_queries

SEEDED = "/media/demo/acme/felt-hat-001-1.svg"


async def test_a_seeded_name_is_drawn_and_anything_else_is_a_plain_404_without_a_query(services, client) -> None:
    acme = await make_tenant(services, slug="acme")
    await make_tenant(services, slug="nordic")
    await make_product(services, acme.id, images=[NewImage(url=SEEDED)])

    seeded = await client.get(SEEDED, headers={"Host": "acme.localhost"})
    with count_queries(services) as queries:
        random_names = [await client.get(f"/media/demo/acme/random-{n}.svg", headers={"Host": "acme.localhost"}) for n in range(20)]
    other_store = await client.get(SEEDED, headers={"Host": "nordic.localhost"})  # acme's picture on nordic's host
    unknown_host = await client.get(SEEDED, headers={"Host": "nobody.localhost"})
    bad_name = await client.get("/media/demo/acme/UPPER.svg", headers={"Host": "acme.localhost"})

    assert seeded.status_code == 200 and (await seeded.get_data()).startswith(b"<svg")
    assert seeded.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert [r.status_code for r in random_names] == [404] * 20
    assert queries.count == 0  # the catalog's names are remembered per catalog version
    assert (await random_names[0].get_data()) == b"Not found."
    assert other_store.status_code == unknown_host.status_code == bad_name.status_code == 404


async def test_a_picture_added_to_the_catalog_is_served_once_the_catalog_version_moves(services, client) -> None:
    acme = await make_tenant(services, slug="acme")
    await make_product(services, acme.id, images=[NewImage(url=SEEDED)])
    before = await client.get("/media/demo/acme/scarf-002-1.svg", headers={"Host": "acme.localhost"})

    await make_product(services, acme.id, images=[NewImage(url="/media/demo/acme/scarf-002-1.svg")])
    after = await client.get("/media/demo/acme/scarf-002-1.svg", headers={"Host": "acme.localhost"})

    assert before.status_code == 404
    assert after.status_code == 200
