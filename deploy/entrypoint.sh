#!/bin/sh
# The image's entrypoint: the first argument names the process (docs/operations.md, "Service catalog").
#   origin | edge | consumer | migrate    the `zelly` sub-commands of the same names (consumer: `zelly analytics consume`)
#   worker <queue>                        a taskiq worker for workers/<queue>.py (one deployment per queue)
#   scheduler <queue>                     the taskiq scheduler of workers/<queue>.py (exactly one of each)
#   caddy                                 Caddy with the repository's Caddyfile (CADDY_* variables)
#   anything else                         passed to `zelly` (zelly tenant list, zelly queues --json, ...)
# Arguments after the process name are passed on. exec: the process gets SIGTERM from the runtime itself.
set -eu

# One container is one serving process, so its healthcheck and a scrape of its internal listener
# describe the container, and a deployment scales by containers:
#   origin    `zelly origin` serves both listeners in one asyncio process (it forks nothing)
#   edge      `zelly edge` runs granian with --workers 1 by default (each worker has its own memory tier)
#   worker    taskiq forks --workers child processes, 2 by default: two processes would share the one
#             ZELLY_WORKER_INTERNAL_BIND (SO_REUSEPORT), each scrape reaching either, and double the pools
# The worker flags are ops/deploy/systemd/zelly-worker@.service's and `zelly stack`'s: one process, 16 tasks
# at a time (workers/queues.py MAX_ASYNC_TASKS sizes the pools from it), and a bounded stop (issue 12, item 10).
WORKER_FLAGS="--workers 1 --max-async-tasks 16 --wait-tasks-timeout 2 --shutdown-timeout 2"
WORKER_QUEUES="shopify_webhook shopify_settings_push shopify_settings_fetch shopify_catalog_sync email_outbox checkout_sweeps"
SCHEDULED_QUEUES="shopify_catalog_sync email_outbox checkout_sweeps"

one_of() {  # value list...
    value=$1; shift
    for candidate in "$@"; do [ "$candidate" = "$value" ] && return 0; done
    return 1
}

process=${1:-origin}
[ $# -gt 0 ] && shift
case "$process" in
    worker)
        queue=${1:-}
        # shellcheck disable=SC2086
        one_of "$queue" $WORKER_QUEUES || { echo "zelly-entrypoint: worker needs one of: $WORKER_QUEUES" >&2; exit 2; }
        shift
        # shellcheck disable=SC2086
        exec taskiq worker "workers.$queue:broker" $WORKER_FLAGS "$@" ;;
    scheduler)
        queue=${1:-}
        # shellcheck disable=SC2086
        one_of "$queue" $SCHEDULED_QUEUES || { echo "zelly-entrypoint: scheduler needs one of: $SCHEDULED_QUEUES" >&2; exit 2; }
        shift
        exec taskiq scheduler "workers.$queue:scheduler" "$@" ;;
    consumer)
        exec zelly analytics consume "$@" ;;
    caddy)
        exec caddy run --config /app/Caddyfile --adapter caddyfile "$@" ;;
    *)
        exec zelly "$process" "$@" ;;
esac
