"""Metrics, structured logs, traces and health for every Zelly process (issue 19, items 5-7).

A kernel beside ``tls/``: it imports nothing from ``origin``, ``edge``,
``workers``, ``storefront`` or ``ops`` (an import-linter contract), and each of
them may import it. Every process builds one :class:`~observability.metrics.Metrics`
(its own registry, exposed on its own internal listener), configures logging
once (:func:`~observability.logs.configure_logging`) and, only when an OTLP
endpoint is set, tracing (:mod:`observability.tracing`).

- ``context``   the request id and tenant id of the request or task being served (contextvars);
- ``metrics``   the metric families, the bounded tenant label, probes run at scrape time;
- ``logs``      the JSON formatter, secret redaction, the one logging configuration;
- ``tracing``   optional OpenTelemetry: nothing imported and nothing paid when off;
- ``requests``  the raw-ASGI layer timing, counting and tracing each request, and the request id;
- ``endpoints`` /metrics, /livez and /readyz as raw ASGI, and the standalone internal listener;
- ``stores``    DB (SQLAlchemy events) and Redis call timing.
"""
