"""Custom domains and on-demand TLS: hostname rules, the ask decision, DNS verification, Caddy's admin API.

Imports nothing from origin/: it receives lookups and clients as arguments.
"""
