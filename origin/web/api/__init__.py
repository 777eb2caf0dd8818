"""The seller catalog API, ``/api/v1/`` on the platform host (issue 3, item 5).

Authenticated by the tenant's API token (``Authorization: Bearer …``, see
origin/web/auth.py). JSON in and out; prices are decimal strings next to the
tenant's currency code. Every write goes through an ``origin.catalog`` action,
which publishes the cache purge after its transaction commits.

Modules, one job each:

- ``v1``: the parent blueprint: host guard, error rendering, child blueprints;
- ``hosts``: which ``Host`` values serve the API (the platform host only);
- ``routing``: the ``<id:…>`` path converter (1-18 digits, else 404);
- ``problems``: the JSON error shape, validation errors with field paths;
- ``parsing``: JSON body / query string parsing and validation decorators, PATCH semantics;
- ``responses``: serializing response models, documenting them for OpenAPI;
- ``idempotency``: ``Idempotency-Key`` on POST (claim, replay, conflict);
- ``schemas_common`` / ``schemas_products`` / ``schemas_collections``: pydantic models;
- ``products`` / ``variants`` / ``collections`` / ``inventory``: the endpoints;
- ``openapi``: ``/api/v1/openapi.json`` built by quart-schema from the routes.

May import quart, quart_schema, pydantic, origin.catalog, origin.tenancy,
origin.web.auth/context/errors. Nothing outside origin.web imports this package.
"""
