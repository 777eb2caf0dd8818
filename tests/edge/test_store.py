"""The memory tier: bounded in bytes, a per-tenant quota, purge indexes that follow evictions."""

from __future__ import annotations

from edge.store import ENTRY_OVERHEAD, Entry, MemoryStore, parse_cache_tags, tenant_of


def make_entry(key: str, tenant: int | None, body_size: int, tags: tuple[str, ...] = ()) -> Entry:
    all_tags = ((f"t{tenant}",) if tenant else ()) + tags
    return Entry(
        key=key, url_key=key, host=f"shop{tenant}.test", status=200, headers=[], body=b"x" * body_size,
        stored_at=0.0, initial_age=0, ttl=60, stale_while_revalidate=0, stale_if_error=0, etag=None, vary=(),
        tags=all_tags, tenant=str(tenant or ""),
    )


def size_of(key: str, body_size: int) -> int:
    return body_size + len(key) + ENTRY_OVERHEAD


def test_the_store_evicts_least_recently_used_entries_to_stay_within_its_bytes() -> None:
    store = MemoryStore(capacity_bytes=3 * size_of("k1", 1000), tenant_quota_bytes=10**9)
    for index in (1, 2, 3):
        store.put(make_entry(f"k{index}", index, 1000))
    store.get("k1")  # k1 is now the most recently used

    store.put(make_entry("k4", 4, 1000))

    assert sorted(store._entries) == ["k1", "k3", "k4"]
    assert store.bytes == 3 * size_of("k1", 1000)
    assert store.keys_for(tags=["t2"]) == set()


def test_a_tenant_over_its_quota_evicts_only_its_own_entries() -> None:
    store = MemoryStore(capacity_bytes=10**9, tenant_quota_bytes=2 * size_of("a1", 1000))
    store.put(make_entry("b1", 2, 1000))
    for key in ("a1", "a2", "a3"):
        store.put(make_entry(key, 1, 1000))

    assert sorted(store._entries) == ["a2", "a3", "b1"]
    assert store.tenant_bytes("1") == 2 * size_of("a1", 1000)
    assert store.tenant_bytes("2") == size_of("b1", 1000)


def test_an_entry_larger_than_the_quota_is_not_stored() -> None:
    store = MemoryStore(capacity_bytes=10**9, tenant_quota_bytes=500)

    assert store.put(make_entry("big", 1, 1000)) is False
    assert len(store) == 0 and store.bytes == 0


def test_purge_by_tag_reports_per_tenant_and_cleans_every_index() -> None:
    store = MemoryStore(capacity_bytes=10**9, tenant_quota_bytes=10**9)
    store.put(make_entry("a1", 1, 10, ("t1-p7",)))
    store.put(make_entry("a2", 1, 10, ("t1-p8",)))
    store.put(make_entry("b1", 2, 10, ("t2-p7",)))

    removed = store.purge(store.keys_for(tags=["t1-p7", "t2-p7"]))

    assert removed == {"1": 1, "2": 1}
    assert sorted(store._entries) == ["a2"]
    assert store.keys_for(hosts=["shop2.test"]) == set()
    assert store.tenant_bytes("2") == 0


def test_cache_tags_name_the_tenant() -> None:
    tags = parse_cache_tags(b"t12-p3, t12 ,hshop.test,t12")

    assert tags == ("t12-p3", "t12", "hshop.test")
    assert tenant_of(tags) == "12"
    assert tenant_of(("hshop.test",)) == ""
