"""Jinja environments: one shared for the default theme, one sandboxed per tenant with overrides.

The default theme is our code, so it renders in a plain Environment (the
sandbox checks every attribute access and costs about a third more). A tenant
with template overrides renders *every* page in a BudgetedSandbox (storefront/budget.py)
whose ChoiceLoader looks in the tenant's templates first and the default theme
second, so an override of ``base.html`` also wraps default pages.

Templates render synchronously: they do no I/O, and Jinja's async mode cost
40-50 % more per render (issue 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined, Undefined, pass_context
from storefront import i18n
from storefront.chrome import SiteChromeExtension
from storefront.budget import BudgetedSandbox, budgeted_range
from storefront.money import format_money

DEFAULT_THEME_DIR = Path(__file__).parent / "themes" / "default"
# Platform-branded pages (unknown host, suspended store): never tenant-themed, never overridable.
PLATFORM_THEME_DIR = Path(__file__).parent / "themes" / "platform"

# Globals a merchant template may use; Jinja's ``lipsum`` is left out (it can be asked for megabytes).
SANDBOX_GLOBALS = ("range", "dict", "cycler", "joiner", "namespace")


@pass_context
def money_filter(context: Any, amount: Any) -> str:
    """``{{ amount|money }}`` in the current shop's currency and locale."""
    shop = context.get("shop")
    if shop is None or amount is None or isinstance(amount, Undefined):
        return ""
    return format_money(amount, shop.currency, shop.locale)


def _configure(environment: Environment) -> Environment:
    environment.filters["money"] = money_filter
    environment.add_extension(SiteChromeExtension)  # {% sitechrome %}: the chrome once per shop (storefront/chrome.py)
    i18n.install(environment)  # {{ _("Add to cart") }} in the rendered shop's language
    return environment


def default_theme_loader() -> FileSystemLoader:
    return FileSystemLoader(str(DEFAULT_THEME_DIR))


def make_default_environment(*, strict: bool = False) -> Environment:
    """The default theme; ``strict`` makes undefined names raise (the theme's own tests use it)."""
    return _configure(
        Environment(
            loader=default_theme_loader(),
            autoescape=True,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=StrictUndefined if strict else Undefined,
        )
    )


def make_tenant_environment(overrides: Mapping[str, str]) -> BudgetedSandbox:
    """Tenant templates first, then the default theme, all inside the budgeted sandbox (storefront/budget.py)."""
    environment = BudgetedSandbox(
        loader=ChoiceLoader([DictLoader(dict(overrides)), default_theme_loader()]),
        autoescape=True,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals = {name: environment.globals[name] for name in SANDBOX_GLOBALS if name in environment.globals}
    environment.globals["range"] = budgeted_range
    _configure(environment)
    environment.budget_filters()
    return environment


def default_template_names() -> tuple[str, ...]:
    return tuple(sorted(str(p.relative_to(DEFAULT_THEME_DIR)) for p in DEFAULT_THEME_DIR.rglob("*.html")))


def make_platform_environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(PLATFORM_THEME_DIR)), autoescape=True, auto_reload=False)
