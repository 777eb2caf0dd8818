"""The public app as hypercorn serves it: its lifespan runs (and stops the catalog snapshot builders it starts)."""

from __future__ import annotations

import pytest

from origin.app import create_app
from origin.services import Services


@pytest.fixture
async def public_app(services: Services):
    app = create_app(services.settings, services=services)
    async with app.test_app() as served:
        yield served
