#!/usr/bin/env bash
# The Debian packages the test suite runs for real (make test calls this first):
#   dnsmasq-base  a DNS server on loopback for domain verification tests
#   chromium      a real headless browser for the storefront page tests
#   pebble        a test ACME CA for Caddy's on-demand certificate path
#   openssl       s_client, to send raw SNI values
#   redis-server  the fault suite's own Redis (tests/faults), which it stops and restarts
# Installs what is missing when run as root (apt-get), else names what to install and fails.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have dnsmasq  || missing+=(dnsmasq-base)
have chromium || missing+=(chromium)
have pebble   || missing+=(pebble)
have openssl  || missing+=(openssl)
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
