"""Custom domains of a tenant: add, verify (DNS), make primary, remove; what the ask hook may serve.

May import origin.db, origin.errors, origin.services, origin.invalidation,
origin.tenancy (models/queries), edge.tags and tls/. Never origin.web.
"""
