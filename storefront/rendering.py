"""ThemeRenderer: render a page with the tenant's theme, never failing a shopper.

A merchant override that does not compile, raises, or trips the sandbox is
recorded as a :class:`ThemeProblem` (logged, and kept for the merchant's
preview) and the shopper gets the same page from the default theme instead.

Pages with overrides render in a small thread pool, off the event loop, each
under the budget of storefront/budget.py. A page that ran over its budget is
remembered (per tenant, templates fingerprint and page) and served from the
default theme straight away after that, so a hostile template costs one
budget per process and page, not one per request; ``on_budget_error`` hands
the reason to the web layer, which keeps it on the template's row
(``last_budget_error`` on the template resource).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Awaitable, Callable, Mapping

from jinja2 import Environment, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SecurityError

from storefront.budget import TemplateBudgetExceeded
from storefront.environment import make_default_environment, make_platform_environment, make_tenant_environment
from storefront.views import PageMeta, build_shop

log = logging.getLogger(__name__)

MAX_TENANT_ENVIRONMENTS = 128
MAX_PROBLEMS_PER_TENANT = 20
MAX_OVER_BUDGET_PAGES = 4096
# Threads for tenant renders. Few on purpose: a render is CPU work under the GIL, so more
# threads add no throughput, and each hostile render holds one for at most RENDER_SECONDS.
RENDER_THREADS = 2
BUDGET = "budget"


@dataclass(frozen=True)
class ThemeProblem:
    tenant_id: int
    template: str  # the page being rendered
    source_name: str | None  # the override at fault, when Jinja knows it
    line: int | None
    message: str
    kind: str = "error"  # BUDGET: the template ran over its render budget

    def describe(self) -> str:
        where = f"{self.source_name or self.template}" + (f", line {self.line}" if self.line else "")
        return f"{where}: {self.message}"


def overrides_fingerprint(overrides: Mapping[str, str]) -> str:
    digest = hashlib.blake2b(digest_size=12)
    for name in sorted(overrides):
        digest.update(name.encode() + b"\0" + overrides[name].encode() + b"\0")
    return digest.hexdigest()


class ThemeRenderer:
    def __init__(self, *, strict: bool = False, on_budget_error: Callable[[ThemeProblem], Awaitable[None]] | None = None) -> None:
        # on_budget_error: how the web layer keeps the reason for the merchant (a database write; storefront does no I/O).
        self.on_budget_error = on_budget_error
        self.default = make_default_environment(strict=strict)
        self.platform = make_platform_environment()
        self._tenant_environments: OrderedDict[tuple[int, str], Environment] = OrderedDict()
        self._problems: dict[int, list[ThemeProblem]] = {}
        self._over_budget: OrderedDict[tuple[int, str, str], None] = OrderedDict()
        self._executor = ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="zelly-theme-render")

    def render(self, template: str, context: Mapping[str, Any], *, tenant_id: int, overrides: Mapping[str, str] | None = None) -> str:
        """On the calling thread (tests, tools); storefront requests use :meth:`render_async`."""
        if overrides:
            try:
                return self._render_override(template, context, tenant_id, overrides)
            except Exception as error:  # merchant code can raise anything; the shopper still gets a page
                self._failed(tenant_id, overrides, template, error)
        return self.default.get_template(template).render(context)

    async def render_async(self, template: str, context: Mapping[str, Any], *, tenant_id: int, overrides: Mapping[str, str] | None = None) -> str:
        """The default theme on the loop (our code, fast); a tenant's overrides in the render threads."""
        if overrides and (tenant_id, overrides_fingerprint(overrides), template) not in self._over_budget:
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    self._executor, self._render_override, template, context, tenant_id, overrides
                )
            except Exception as error:  # merchant code can raise anything; the shopper still gets a page
                problem = self._failed(tenant_id, overrides, template, error)
                if problem.kind == BUDGET and self.on_budget_error is not None:
                    await self.on_budget_error(problem)
        return self.default.get_template(template).render(context)

    def _render_override(self, template: str, context: Mapping[str, Any], tenant_id: int, overrides: Mapping[str, str]) -> str:
        return self._tenant_environment(tenant_id, overrides).get_template(template).render(context)

    def _failed(self, tenant_id: int, overrides: Mapping[str, str], template: str, error: Exception) -> ThemeProblem:
        problem = _problem(tenant_id, template, error)
        if problem.kind == BUDGET:
            self._over_budget[(tenant_id, overrides_fingerprint(overrides), template)] = None
            while len(self._over_budget) > MAX_OVER_BUDGET_PAGES:
                self._over_budget.popitem(last=False)
        self._record(problem)
        return problem

    def forget(self, tenant_id: int, source_name: str) -> None:
        """The merchant replaced or removed ``source_name``: its old problems no longer apply."""
        kept = [p for p in self._problems.get(tenant_id, ()) if p.source_name not in (source_name, None)]
        self._problems[tenant_id] = kept

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
        """Compile every override, then test-render each under the shoppers' budget.

        Syntax errors and templates over budget are refused before a shopper ever
        meets them. The test render uses a sample shop and leaves every other name
        undefined; other runtime errors are not refused here (they depend on the
        page's data) and fall back at render time as before. Run it off the event
        loop: a hostile template takes up to RENDER_SECONDS.
        """
        environment = make_tenant_environment(overrides)
        problems = []
        for name, source in overrides.items():
            try:
                environment.parse(source, name=name)
            except TemplateSyntaxError as error:
                problems.append(_problem(tenant_id, name, error))
        if problems:
            return problems
        sample = {"shop": sample_shop(), "page": PageMeta(title="Preview")}
        for name in overrides:
            if not name.endswith(".html"):
                continue
            try:
                environment.get_template(name).render(sample)
            except (TemplateBudgetExceeded, RecursionError) as error:
                problems.append(_problem(tenant_id, name, error))
            except Exception:  # noqa: BLE001 data-dependent failures fall back at render time (see above)
                pass
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


def sample_shop():
    """A shop for test renders: the default theme's settings, US dollars, English."""
    tenant = SimpleNamespace(id=0, name="Preview shop", currency="USD", currency_digits=2, locale="en-US", theme_settings={})
    return build_shop(tenant, "https://preview.invalid")


def _problem(tenant_id: int, template: str, error: Exception) -> ThemeProblem:
    if isinstance(error, TemplateBudgetExceeded):
        return ThemeProblem(tenant_id, template, error.source_name, error.line, f"over the render budget: {error.message}", BUDGET)
    if isinstance(error, RecursionError):
        return ThemeProblem(tenant_id, template, template, None, "over the render budget: macros or includes call themselves too deeply", BUDGET)
    if isinstance(error, TemplateSyntaxError):
        return ThemeProblem(tenant_id, template, error.name, error.lineno, f"syntax error: {error.message}")
    if isinstance(error, SecurityError):
        return ThemeProblem(tenant_id, template, None, None, f"not allowed in a theme: {error}")
    if isinstance(error, TemplateError):
        return ThemeProblem(tenant_id, template, None, None, f"{type(error).__name__}: {error.message or error}")
    return ThemeProblem(tenant_id, template, None, None, f"{type(error).__name__}: {error}")
