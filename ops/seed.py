"""Demo data: filled in by the catalog work (see issue 2)."""


async def seed_demo(services, echo=print) -> None:
    raise NotImplementedError


async def seed_demo_if_empty(services, echo=print) -> None:
    return None
