"""Tenants, their API tokens and their domain rows; Host -> tenant resolution.

May import origin.db, origin.errors, tls.hostnames, storefront (theme template checks). Never origin.web.
"""
