"""JSON from untrusted bodies, bounded in size and depth (issue 13).

``json.loads`` of 60,000 ``[`` raised RecursionError, which the handlers did
not expect (a 500); a document a few thousand levels deep parses but breaks
whatever walks it later. :func:`parse_json_document` is the one way request
bodies are parsed (the beacon, the seller API): it answers with
:class:`JsonInputError`, whose message each caller puts in its own 400.
"""

from __future__ import annotations

import json
from typing import Any, Callable

MAX_JSON_DEPTH = 32  # the deepest body the API or the beacon accepts is 5 levels


class JsonInputError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_json_document(
    raw: bytes,
    *,
    max_bytes: int,
    max_depth: int = MAX_JSON_DEPTH,
    parse_float: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    if len(raw) > max_bytes:
        raise JsonInputError(f"the body is {len(raw)} bytes; send at most {max_bytes}")
    try:
        value = json.loads(raw.decode("utf-8"), parse_float=parse_float, parse_constant=parse_constant)
    except UnicodeDecodeError:
        raise JsonInputError("the body is not UTF-8 text") from None
    except RecursionError:
        raise JsonInputError(f"the body nests more than {max_depth} levels") from None
    except ValueError as error:
        raise JsonInputError(f"the body is not valid JSON: {error}") from None
    if _depth_exceeds(value, max_depth):
        raise JsonInputError(f"the body nests more than {max_depth} levels")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    # An explicit stack, not recursion: the point is not to trust the depth.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
