"""Seller API test wiring: the real app on the real stores (both backends), two stores with tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from origin.app import create_app
from origin.services import Services
from origin.settings import Settings
from origin.tenancy import actions as tenancy
from origin.tenancy.models import Tenant
from tests.factories import make_tenant

API_HOST = "localhost"  # Settings().platform_domain


@dataclass(frozen=True)
class Store:
    tenant: Tenant
    token: str
    token_id: int

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.auth, **{name.replace("_", "-"): value for name, value in extra.items()}}


async def make_store(services: Services, **overrides: Any) -> Store:
    tenant = await make_tenant(services, **overrides)
    issued = await tenancy.do_issue_api_token(services, tenant.id)
    return Store(tenant=tenant, token=issued.token, token_id=issued.id)


@pytest.fixture
def app(settings: Settings, services: Services):
    return create_app(settings, services=services)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
async def store(services: Services) -> Store:
    return await make_store(services, currency="USD")


@pytest.fixture
async def other_store(services: Services) -> Store:
    return await make_store(services, currency="EUR")


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Linen Shirt",
        "handle": "linen-shirt",
        "vendor": "Acme",
        "tags": ["summer", "linen"],
        "option_names": ["Size"],
        "variants": [
            {"options": ["S"], "price": "49.00", "inventory_quantity": 3},
            {"options": ["M"], "price": "52.50", "compare_at_price": "60", "inventory_quantity": 0},
        ],
        "images": [{"url": "https://cdn.example.com/shirt.jpg", "alt": "A linen shirt", "width": 800, "height": 600}],
    }
    body.update(overrides)
    return body
