"""ASGI entry point for hypercorn: ``hypercorn origin.asgi:app``."""

from origin.app import create_app
from origin.settings import Settings

app = create_app(Settings.from_env())
