"""Store analytics: storefront events into ClickHouse, and the numbers merchants read.

The path of an event (issue 7):

    beacon / server code ─▶ intake (validate, privacy) ─▶ ``store-events`` queue
        ─▶ consumer (batch, insert off the loop, ack after insert) ─▶ ClickHouse / chDB
        ─▶ queries (seller API, dashboard) and the daily rollup into ``backoffice``

Modules: ``events`` (wire format and validation), ``privacy`` (visitor ids, DNT,
bots, devices), ``schema`` (ClickHouse DDL and migrations), ``engine`` (running
clickhouse-connect calls off the event loop), ``queue`` (the ``store-events``
stream: Redis consumer group or in-process queue), ``consumer``, ``emit``
(server-side events), ``queries``, ``rollup``, ``runtime`` (what a process starts).

May import: ``origin.settings``, ``origin.services``, ``origin.db``, ``origin.errors``,
``origin.tenancy``. Never ``origin.web``.
"""
