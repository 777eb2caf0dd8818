#!/usr/bin/env bash
# The Debian packages the test suite runs for real (make test calls this first):
#   dnsmasq-base  a DNS server on loopback for domain verification tests
#   chromium      a real headless browser for the storefront page tests
#   pebble        a test ACME CA for Caddy's on-demand certificate path
#   openssl       s_client, to send raw SNI values
#   nodejs npm    Lighthouse (npm, pinned in tests/lighthouse/) audits the demo stores
#   fonts-noto-cjk, fonts-noto-core  faces with Japanese, Chinese, Korean and Arabic glyphs (and
#                 the yen sign), so headless Chromium draws the demo stores' text, not boxes
#   redis-server  the fault suite's own Redis (tests/faults), which it stops and restarts
# With --bench (make bench-packages), also what only bench/ runs, never a test:
#   wrk           the load generator of the throughput benchmarks (docs/benchmarks.md)
# Installs what is missing when run as root (apt-get), else names what to install and fails.
set -euo pipefail

missing=()
if [ "${1:-}" = "--bench" ]; then
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
fi
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have dnsmasq  || missing+=(dnsmasq-base)
have chromium || missing+=(chromium)
have pebble   || missing+=(pebble)
have openssl  || missing+=(openssl)
have node     || missing+=(nodejs)
have npm      || missing+=(npm)
# A font package is there when fontconfig knows one of its faces.
has_font() { fc-list "$1" 2>/dev/null | grep -q .; }
has_font "Noto Sans CJK JP" || missing+=(fonts-noto-cjk)
has_font "Noto Sans Arabic" || missing+=(fonts-noto-core)
have redis-server || missing+=(redis-server)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "error: the tests need these Debian packages: ${missing[*]}" >&2
    echo "       run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing ${missing[*]} (Debian packages the tests run)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
