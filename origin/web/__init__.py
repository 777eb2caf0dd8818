"""The web layer: the only package that knows HTTP. One subpackage per audience.

- ``asgi/``: the raw-ASGI layers in front of Quart (composed in origin/app.py);
- ``storefront/``: shoppers on a tenant's host (pages, cart, beacon, media, page cache);
- ``seller/``: merchants on the platform host (``api/`` = /api/v1, ``panel/``, ``api_tokens``);
- ``internal/``: the internal listener's routes and the health check;
- ``context.py``: the process's Services from inside a request;
- ``errors.py``: the one map from domain errors to HTTP statuses.

Handlers parse the request, call a domain query or ``do_*`` action, render
(JSON for the API, themed HTML for the storefront), and set cache headers.
"""
