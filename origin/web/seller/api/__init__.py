"""The seller API, ``/api/v1/`` on the platform host: the catalog (issue 3, item 5) and custom domains (issue 4).

Authenticated by the tenant's API token (``Authorization: Bearer …``, see
origin/web/seller/api_tokens.py). JSON in and out; prices are decimal strings next to the
tenant's currency code. Every write goes through an ``origin.catalog`` or
``origin.domains`` action, which publishes the cache purge after its
transaction commits.

Modules, one job each:

- ``v1``: the parent blueprint: host guard, error rendering, child blueprints;
- ``framework/``: what every resource shares: ``hosts`` (which ``Host`` values
  serve the API), ``routing`` (the ``<id:…>`` converter), ``problems`` (the JSON
  error shape), ``parsing`` (body/query validation, PATCH semantics),
  ``responses`` (serializing and documenting response models),
  ``idempotency`` (``Idempotency-Key`` on POST), ``openapi`` (``/api/v1/openapi.json``, its tags
  and servers);
- ``reference``: ``/api/v1/docs``, the document rendered by the vendored Swagger UI
  (``reference_assets/``);
- ``schemas/``: pydantic models, one module per resource;
- ``products`` / ``variants`` / ``collections`` / ``inventory`` / ``theme`` /
  ``domains`` / ``analytics`` / ``shopify``: the endpoints, one module per resource.

May import quart, quart_schema, pydantic, origin.catalog, origin.domains, origin.tenancy,
origin.web.seller.api_tokens, origin.web.context/errors, tls.verification (a domain's DNS instructions).
Nothing outside origin.web imports this package.
"""
