"""One logging configuration for every process: JSON lines on stderr, secrets redacted.

Each line is one JSON object: ``ts`` (UTC, ISO 8601), ``level``, ``logger``,
``message``, ``service``, and — inside a request or a task —
``request_id`` and ``tenant_id`` (observability.context), plus ``exception``
when there is one. Secrets never reach the output (issue 19, item 6): the
exact values the process was configured with (its ``Secret`` settings) and
anything shaped like a credential (a bearer token, a Stripe or Shopify key, a Zelly API token, a
``password=``/``token=`` pair) are replaced by ``[redacted]`` in the message and
the traceback, whatever the logger that wrote it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Iterable, TextIO

from observability import context

REDACTED = "[redacted]"
# Credentials by shape. Stripe: sk_/rk_/pk_ live|test keys and whsec_ secrets; Shopify: shpat_/shpss_
# tokens; anything after "Bearer "; the value of a password/token/secret/key pair in a query or a form.
_CREDENTIAL_SHAPES = re.compile(
    r"(?:\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{6,}"
    r"|\bwhsec_[A-Za-z0-9]{6,}"
    r"|\bshp(?:at|ss|ca|pa)_[A-Za-z0-9]{6,}"
    r"|\bzly_[A-Za-z0-9_\-]{6,}"  # Zelly's own API tokens (origin/tenancy/actions.py TOKEN_PREFIX)
    r"|(?<=Bearer )[^\s\"',]+"
    r")",
    re.IGNORECASE,
)
_CREDENTIAL_PAIRS = re.compile(r"\b(password|passwd|token|secret|api_key|access_token)=[^&\s\"',]+", re.IGNORECASE)
MIN_SECRET_LENGTH = 6  # a shorter configured "secret" would redact common words


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({value for value in secrets if value and len(value) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._exact = re.compile("|".join(re.escape(value) for value in values)) if values else None

    def __call__(self, text: str) -> str:
        if self._exact is not None:
            text = self._exact.sub(REDACTED, text)
        text = _CREDENTIAL_SHAPES.sub(REDACTED, text)
        return _CREDENTIAL_PAIRS.sub(rf"\1={REDACTED}", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, redact: Redactor) -> None:
        super().__init__()
        self.service = service
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
            "service": self.service,
        }
        current = context.current.get()
        if current is not None:
            line["request_id"] = current.request_id
            if current.tenant_id is not None:
                line["tenant_id"] = current.tenant_id
        if record.exc_info:
            line["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str, *, service: str, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one JSON handler; quiet the chatty libraries.

    Every process calls this once at start-up (the zelly command, granian's
    edge factory, each taskiq worker and scheduler), before anything logs.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service, Redactor(secrets)))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # One INFO line per outbound request is noise (and carries URLs); errors still show.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
    return handler
