"""The ask decision from memory: allow, deny, garbage; refresh, notifications, negative cache."""

from __future__ import annotations

import asyncio

from tls.ask import AllowList, Verdict


class Names:
    """A loader over a mutable set, counting its calls (the origin's loader reads the database)."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.calls = 0

    async def __call__(self) -> set[str]:
        self.calls += 1
        return set(self.names)


async def test_answers_after_the_first_load() -> None:
    allow_list = AllowList(Names("shop.example.com", "acme.localhost"))

    before = allow_list.decide("shop.example.com")
    await allow_list.refresh()

    assert before.verdict is Verdict.NOT_READY
    assert allow_list.decide("shop.example.com").verdict is Verdict.ALLOW
    assert allow_list.decide("SHOP.Example.com.").verdict is Verdict.ALLOW
    assert allow_list.decide("acme.localhost").status == 200
    assert allow_list.decide("other.example.com").status == 404
    assert allow_list.decide("127.0.0.1").status == 400
    assert allow_list.decide("a" * 300 + ".com").status == 400
    assert allow_list.decide("").status == 400
    assert allow_list.decide(None).status == 400
    assert allow_list.decide("*.example.com").status == 400


async def test_negative_cache_answers_repeats_and_is_cleared_when_a_name_is_added() -> None:
    names = Names("shop.example.com")
    allow_list = AllowList(names)
    await allow_list.refresh()

    first = allow_list.decide("new.example.com")
    second = allow_list.decide("new.example.com")
    names.names.add("new.example.com")
    await allow_list.refresh()
    third = allow_list.decide("new.example.com")

    assert (first.status, second.status, third.status) == (404, 404, 200)
    assert allow_list.stats.negative_cache_hits == 1


async def test_forget_denies_at_once_and_marks_the_name_removed() -> None:
    names = Names("shop.example.com")
    allow_list = AllowList(names)
    await allow_list.refresh()

    allow_list.forget("shop.example.com")

    assert allow_list.decide("shop.example.com").status == 404
    assert allow_list.was_removed("shop.example.com") is True


async def test_a_refresh_racing_a_removal_cannot_bring_the_name_back() -> None:
    gate = asyncio.Event()

    async def slow_loader() -> set[str]:
        await gate.wait()  # read the database before the removal committed
        return {"shop.example.com"}

    allow_list = AllowList(slow_loader)
    allow_list._replace(frozenset({"shop.example.com"}))
    refreshing = asyncio.create_task(allow_list.refresh())
    await asyncio.sleep(0)
    allow_list.forget("shop.example.com")
    gate.set()
    await refreshing

    assert allow_list.decide("shop.example.com").status == 404


async def test_a_failed_refresh_keeps_the_last_set() -> None:
    names = Names("shop.example.com")
    allow_list = AllowList(names)
    await allow_list.refresh()

    async def broken() -> set[str]:
        raise ConnectionError("database down")

    allow_list._loader = broken
    await allow_list.refresh()

    assert allow_list.decide("shop.example.com").status == 200
    assert allow_list.stats.refresh_failures == 1


async def test_run_refreshes_on_each_notification_burst() -> None:
    names = Names()
    allow_list = AllowList(names, refresh_interval=3600)
    queue: asyncio.Queue[str] = asyncio.Queue()

    async def notifications():
        while True:
            yield await queue.get()

    runner = asyncio.create_task(allow_list.run(notifications()))
    await asyncio.sleep(0.01)
    names.names.add("shop.example.com")
    for _ in range(5):
        queue.put_nowait("change")
    for _ in range(100):
        if allow_list.decide("shop.example.com").status == 200:
            break
        await asyncio.sleep(0.01)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)

    assert allow_list.decide("shop.example.com").status == 200
    assert 2 <= names.calls <= 3  # the first load, then one (at most two) for the burst of five


async def test_run_refreshes_on_the_interval_without_notifications() -> None:
    names = Names()
    allow_list = AllowList(names, refresh_interval=0.02)

    runner = asyncio.create_task(allow_list.run())
    await asyncio.sleep(0.01)
    names.names.add("shop.example.com")
    await asyncio.sleep(0.1)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)

    assert allow_list.decide("shop.example.com").status == 200


async def test_stats_keep_recent_asks() -> None:
    allow_list = AllowList(Names("shop.example.com"))
    await allow_list.refresh()

    for name in ("shop.example.com", "x.example.com", "x.example.com", "1.2.3.4"):
        allow_list.decide(name)

    assert (allow_list.stats.allowed, allow_list.stats.denied, allow_list.stats.garbage) == (1, 2, 1)
    assert allow_list.stats.asks_for("x.example.com") == 2
