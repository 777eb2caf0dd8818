"""The error tree drawn in origin/errors.py is the real one, and every error takes its code from an Enum."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re

import pytest

import origin
from origin import errors
from origin.errors import ErrorKind, ZellyError
from origin.web.errors import STATUS_BY_KIND, status_for

DRAWN_LINE = re.compile(r"^\s{4}(?P<branch>(?:[│ ]   )*(?:[├└]── )?)(?P<name>\w+)\s+(?P<module>[\w.]+)(?:\s+(?P<codes>.+))?$")


def _import_all_of_origin() -> None:
    # An error class that is never imported would be missing from __subclasses__(): import everything.
    for module in pkgutil.walk_packages(origin.__path__, "origin."):
        if module.name != "origin.asgi":  # builds an app from the environment at import
            importlib.import_module(module.name)


def _drawn_tree() -> dict[str, tuple[str | None, str, tuple[str, ...]]]:
    """name -> (parent name, module, code Enum names), read from the docstring's drawing."""
    drawn: dict[str, tuple[str | None, str, tuple[str, ...]]] = {}
    parents: list[str] = []
    for line in errors.__doc__.splitlines():
        match = DRAWN_LINE.match(line)
        if match is None or not match["module"].startswith("origin"):
            continue
        depth = len(match["branch"]) // 4
        parents[depth:] = [match["name"]]
        codes = tuple(code.strip() for code in (match["codes"] or "").split(",") if code.strip())
        drawn[match["name"]] = (parents[depth - 1] if depth else None, match["module"], codes)
    return drawn


def _real_tree() -> dict[str, tuple[str | None, str, tuple[str, ...]]]:
    real: dict[str, tuple[str | None, str, tuple[str, ...]]] = {}

    def walk(cls: type[ZellyError], parent: str | None) -> None:
        real[cls.__name__] = (parent, cls.__module__, tuple(codes.__name__ for codes in cls.codes))
        for sub in cls.__subclasses__():
            walk(sub, cls.__name__)

    walk(ZellyError, None)
    return real


def _all_error_classes() -> list[type[ZellyError]]:
    found, todo = [], list(ZellyError.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_the_drawn_error_tree_is_the_real_one() -> None:
    _import_all_of_origin()

    drawn, real = _drawn_tree(), _real_tree()

    assert len(drawn) >= 9
    assert drawn == real


def test_every_error_takes_its_codes_from_enums() -> None:
    _import_all_of_origin()

    classes = _all_error_classes()

    assert classes
    for cls in classes:
        assert cls.codes, f"{cls.__name__} declares no code Enum"
        assert all(issubclass(codes, enum.Enum) for codes in cls.codes), cls.__name__


def test_a_plain_string_code_is_refused() -> None:
    from origin.catalog.errors import CatalogError, CatalogErrorCode
    from origin.tenancy.errors import TenancyErrorCode

    with pytest.raises(TypeError, match="CatalogError takes a code from CatalogErrorCode"):
        CatalogError("duplicate_handle", "a string is not a code")
    with pytest.raises(TypeError):
        CatalogError(TenancyErrorCode.SLUG_TAKEN, "another package's code")
    with pytest.raises(TypeError):
        ZellyError(CatalogErrorCode.DUPLICATE_HANDLE, "the root has no codes of its own")

    error = CatalogError(CatalogErrorCode.DUPLICATE_HANDLE, "taken", field="handle", kind=ErrorKind.CONFLICT)

    assert (error.code, error.as_dict()) == ("duplicate_handle", {"code": "duplicate_handle", "message": "taken", "field": "handle"})


@pytest.mark.parametrize(
    ("kind", "api_status", "page_status"),
    [
        (ErrorKind.INVALID, 422, 400),
        (ErrorKind.NOT_FOUND, 404, 404),
        (ErrorKind.CONFLICT, 409, 409),
        (ErrorKind.FORBIDDEN, 403, 403),
        (ErrorKind.UNAUTHORIZED, 401, 401),
        (ErrorKind.UNAVAILABLE, 503, 503),
    ],
)
def test_one_map_from_error_kind_to_status(kind: ErrorKind, api_status: int, page_status: int) -> None:
    from origin.catalog.errors import CatalogError, CatalogErrorCode

    error = CatalogError(CatalogErrorCode.INVALID_TITLE, "bad", kind=kind)

    assert (status_for(error), status_for(error, page=True), STATUS_BY_KIND[kind]) == (api_status, page_status, api_status)
    assert set(STATUS_BY_KIND) == set(ErrorKind)
