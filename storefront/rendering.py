"""ThemeRenderer: render a page with the tenant's theme, never failing a shopper.

A merchant override that does not compile, raises, or trips the sandbox is
recorded as a :class:`ThemeProblem` (logged, and kept for the merchant's
preview) and the shopper gets the same page from the default theme instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from jinja2 import Environment, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SecurityError

from storefront.environment import make_default_environment, make_platform_environment, make_tenant_environment

log = logging.getLogger(__name__)

MAX_TENANT_ENVIRONMENTS = 128
MAX_PROBLEMS_PER_TENANT = 20


@dataclass(frozen=True)
class ThemeProblem:
    tenant_id: int
    template: str  # the page being rendered
    source_name: str | None  # the override at fault, when Jinja knows it
    line: int | None
    message: str

    def describe(self) -> str:
        where = f"{self.source_name or self.template}" + (f", line {self.line}" if self.line else "")
        return f"{where}: {self.message}"


def overrides_fingerprint(overrides: Mapping[str, str]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for name in sorted(overrides):
        digest.update(name.encode() + b"\0" + overrides[name].encode() + b"\0")
    return digest.hexdigest()


class ThemeRenderer:
    def __init__(self, *, strict: bool = False) -> None:
        self.default = make_default_environment(strict=strict)
        self.platform = make_platform_environment()
        self._tenant_environments: OrderedDict[tuple[int, str], Environment] = OrderedDict()
        self._problems: dict[int, list[ThemeProblem]] = {}

    def render(self, template: str, context: Mapping[str, Any], *, tenant_id: int, overrides: Mapping[str, str] | None = None) -> str:
        if overrides:
            try:
                return self._tenant_environment(tenant_id, overrides).get_template(template).render(context)
            except Exception as error:  # merchant code can raise anything; the shopper still gets a page
                self._record(_problem(tenant_id, template, error))
        return self.default.get_template(template).render(context)

    def render_platform(self, heading: str, message: str) -> str:
        """A Zelly-branded page that names no tenant (unknown host, suspended store, bad request)."""
        return self.platform.get_template("page.html").render(heading=heading, message=message)

    def preview(self, template: str, context: Mapping[str, Any], *, tenant_id: int, overrides: Mapping[str, str]) -> tuple[str | None, ThemeProblem | None]:
        """For the merchant: the page from their templates, or what is wrong with them (no fallback)."""
        try:
            return self._tenant_environment(tenant_id, overrides).get_template(template).render(context), None
        except Exception as error:  # reported to the merchant, not raised
            return None, _problem(tenant_id, template, error)

    def check(self, tenant_id: int, overrides: Mapping[str, str]) -> list[ThemeProblem]:
        """Compile every override: syntax errors before a shopper ever meets them."""
        environment = make_tenant_environment(overrides)
        problems = []
        for name, source in overrides.items():
            try:
                environment.parse(source, name=name)
            except TemplateSyntaxError as error:
                problems.append(_problem(tenant_id, name, error))
        return problems

    def problems_for(self, tenant_id: int) -> list[ThemeProblem]:
        return list(self._problems.get(tenant_id, ()))

    def _tenant_environment(self, tenant_id: int, overrides: Mapping[str, str]) -> Environment:
        key = (tenant_id, overrides_fingerprint(overrides))
        environment = self._tenant_environments.get(key)
        if environment is None:
            environment = make_tenant_environment(overrides)
            self._tenant_environments[key] = environment
            while len(self._tenant_environments) > MAX_TENANT_ENVIRONMENTS:
                self._tenant_environments.popitem(last=False)
        else:
            self._tenant_environments.move_to_end(key)
        return environment

    def _record(self, problem: ThemeProblem) -> None:
        log.warning("tenant %s theme override failed, default template used: %s", problem.tenant_id, problem.describe())
        recorded = self._problems.setdefault(problem.tenant_id, [])
        if problem not in recorded:
            recorded.append(problem)
            del recorded[:-MAX_PROBLEMS_PER_TENANT]


def _problem(tenant_id: int, template: str, error: Exception) -> ThemeProblem:
    if isinstance(error, TemplateSyntaxError):
        return ThemeProblem(tenant_id, template, error.name, error.lineno, f"syntax error: {error.message}")
    if isinstance(error, SecurityError):
        return ThemeProblem(tenant_id, template, None, None, f"not allowed in a theme: {error}")
    if isinstance(error, TemplateError):
        return ThemeProblem(tenant_id, template, None, None, f"{type(error).__name__}: {error.message or error}")
    return ThemeProblem(tenant_id, template, None, None, f"{type(error).__name__}: {error}")
