"""taskiq brokers, worker deployments and the tasks they run.

One Redis stream and one worker deployment per queue (see ``queues``), built by
``brokers.make_broker(settings, queue)``; the in-memory broker on the embedded
default, where ``zelly dev`` runs every task in-process.

Layout:

- ``queues``        queue names and the stream key of each;
- ``brokers``       make_broker(): the reclaiming Redis stream broker, the in-memory one;
- ``retry``         exponential backoff for transient failures, dead letters for the rest;
- ``deadletters``   the dead-letter records: list, replay;
- ``runtime``       services opened at worker start-up, injected into tasks;
- ``dispatch``      the producer side (origin enqueues through a TaskQueue) and which
                    tasks each queue carries;
- ``shopify_tasks`` / ``store_events_tasks`` / ``email_tasks`` / ``checkout_tasks``  the tasks;
- ``shopify_webhook``, ``shopify_catalog_sync``, ``shopify_settings_push``,
  ``shopify_settings_fetch``, ``store_events``, ``email_outbox``, ``checkout_sweeps``: one importable module per worker
  deployment (``taskiq worker workers.<module>:broker``).

Tasks take ids and plain payloads and call ``origin.<domain>`` actions; nothing
here imports ``origin.web``.
"""
