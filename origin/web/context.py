"""Access to the process's Services from inside a request."""

from __future__ import annotations

from quart import current_app

from origin.services import Services

SERVICES_KEY = "zelly.services"


def current_services() -> Services:
    return current_app.extensions[SERVICES_KEY]
