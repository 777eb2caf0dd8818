"""ASGI entry point for hypercorn: ``hypercorn ops.asgi:app``.

The public origin app, opening its own services and running the task queue (and,
without Redis, the analytics consumer) for the process's lifetime. It lives in
ops/, not origin/, because it wires workers into the origin and origin/ may not
import workers/ (the import contracts in pyproject.toml). ``zelly origin`` also
serves the internal listener and the background jobs; prefer it.
"""

from observability.process import configure_process
from ops.process import origin_process
from origin.app import create_app
from origin.settings import Settings

settings = Settings.from_env()
configure_process(service="origin", log_level=settings.log_level, secrets=settings.secret_values(), otlp_endpoint=settings.otlp_endpoint)
app = create_app(settings, process_contexts=(origin_process,))
