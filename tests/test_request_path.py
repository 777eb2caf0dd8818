"""origin/app.py alone composes the ASGI stack (issue 10, item 1): the order is the listed one, nobody else assigns it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from origin.app import INTERNAL_LAYERS, PUBLIC_LAYERS, create_app, create_internal_app
from origin.web.asgi.domain_guard import DomainGuard
from origin.web.asgi.host import HostParse
from origin.web.asgi.internal_health import InternalHealth
from origin.web.asgi.observed import Observed
from origin.web.asgi.beacon_intake import BeaconIntake
from origin.web.asgi.storefront_pages import StorefrontPages
from origin.web.asgi.tls_ask import AskHook
from origin.web.asgi.webhook_intake import WebhookIntake

ROOT = Path(__file__).resolve().parents[1]


def layers_of(app) -> list[type]:
    found, asgi = [], app.asgi_app
    while not hasattr(asgi, "__func__"):  # down to Quart's own bound asgi_app
        found.append(type(asgi))
        asgi = getattr(asgi, "app", None) or asgi.downstream
    assert asgi.__func__ is type(app).asgi_app
    return found


def test_the_public_stack_is_the_listed_one_guards_first(settings) -> None:
    app = create_app(settings)

    assert layers_of(app) == list(PUBLIC_LAYERS) == [Observed, HostParse, DomainGuard, WebhookIntake, BeaconIntake, StorefrontPages]


def test_the_internal_stack_is_the_listed_one(settings) -> None:
    app = create_internal_app(settings)

    assert layers_of(app) == list(INTERNAL_LAYERS) == [InternalHealth, AskHook]


def test_only_origin_app_assigns_asgi_app() -> None:
    found = subprocess.run(
        ["git", "grep", "-n", "-E", r"\.asgi_app\s*=[^=]", "--", "origin/", "ops/"], cwd=ROOT, capture_output=True, text=True
    ).stdout.splitlines()

    assert [line.split(":")[0] for line in found] == ["origin/app.py"]


def test_app_wide_hooks_are_registered_in_origin_app_only(settings) -> None:
    # A blueprint's app_* decorators hook every request of the app from elsewhere: only origin/app.py may.
    app_wide = ("app_errorhandler", "before_app_request", "after_app_request", "while_app_serving",
                "before_app_serving", "after_app_serving", "teardown_app_request")
    found = subprocess.run(
        ["git", "grep", "-n", "-E", r"\.(" + "|".join(app_wide) + r")\b", "--", "origin"],
        cwd=ROOT, capture_output=True, text=True,
    )
    app = create_app(settings)

    assert found.stdout == ""
    assert app.while_serving_gens and app.after_request_funcs[None] and 404 in app.error_handler_spec[None]
