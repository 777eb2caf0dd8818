"""The API's error bodies: one JSON shape for every 4xx.

    {"error": {"code": "validation_failed",
               "message": "…",
               "fields": [{"path": "variants[0].price", "code": "…", "message": "…"}]}}

Request-shape errors (pydantic, raised while parsing) and domain errors
(``CatalogError`` with a ``field``) both become 422 ``validation_failed`` with
the same ``fields`` list, so a client has one thing to parse. Paths use the
request's own names: ``variants[2].options[0]``; ``$`` is the body as a whole;
query parameters are named as sent (``limit``), headers as ``header:<Name>``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

from pydantic import ValidationError
from quart import Response

from origin.errors import ErrorKind, ZellyError
from origin.web.errors import json_error, status_for

ROOT_PATH = "$"
VALIDATION_FAILED = "validation_failed"


@dataclass(frozen=True)
class FieldProblem:
    path: str
    code: str
    message: str


class ApiValidationError(Exception):
    """Input the API refuses before any domain code runs; rendered as 422."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in self.problems))


class ApiRequestError(Exception):
    """A request the API cannot read at all (400 malformed JSON, 415 wrong type, …)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(message)


def field_path(location: Iterable[str | int], prefix: str = "") -> str:
    """``("variants", 0, "price")`` -> ``variants[0].price``."""
    path = prefix
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or ROOT_PATH


def _clean_message(message: str) -> str:
    # A ValueError raised in a validator reads "Value error, <ours>": keep ours.
    for noise in ("Value error, ", "Assertion failed, "):
        if message.startswith(noise):
            return message[len(noise):]
    return message


def pydantic_problems(error: ValidationError, prefix: str = "") -> list[FieldProblem]:
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        location = [part for part in detail["loc"] if part != "__root__"]
        # A tagged/union type adds the type name to the path: it means nothing to a client.
        location = [part for part in location if not (isinstance(part, str) and part.startswith(("function-", "constrained-")))]
        problems.append(FieldProblem(field_path(location, prefix), detail["type"], _clean_message(detail["msg"])))
    return _unique(problems)


def _unique(problems: list[FieldProblem]) -> list[FieldProblem]:
    return list(dict.fromkeys(problems))


def validation_failed(problems: list[FieldProblem]) -> Response:
    count = len(problems)
    message = f"{count} field{'s' if count != 1 else ''} failed validation; nothing was written"
    return json_error(422, VALIDATION_FAILED, message, fields=[asdict(problem) for problem in problems])


def domain_error_response(error: ZellyError) -> Response:
    """A domain error in the API's shape: INVALID joins the validation shape, the rest keep their code."""
    problems = _domain_problems(error)
    if error.kind is ErrorKind.INVALID:
        return validation_failed(problems)
    extra = {"fields": [asdict(problem) for problem in problems]} if error.field else {}
    return json_error(status_for(error), error.code, error.message, **extra)


def _domain_problems(error: ZellyError) -> list[FieldProblem]:
    # A domain error may carry several problems (``errors``: a list of ZellyError); most carry one.
    items = getattr(error, "errors", None) or [error]
    return _unique([FieldProblem(item.field or ROOT_PATH, item.code, item.message) for item in items])


def request_error_response(error: ApiRequestError) -> Response:
    return json_error(error.status, error.code, error.message)


# What the API renders itself; HTTP exceptions (404, 405) go to the app's handlers in origin/web/errors.py.
API_ERRORS = (ZellyError, ApiValidationError, ApiRequestError)


def render_api_error(error: Exception) -> Response:
    if isinstance(error, ApiValidationError):
        return validation_failed(error.problems)
    if isinstance(error, ApiRequestError):
        return request_error_response(error)
    if isinstance(error, ZellyError):
        return domain_error_response(error)
    raise TypeError(f"not an API error: {error!r}")

