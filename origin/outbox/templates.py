"""EmailTemplate, the shipped defaults, and rendering with a tenant's overrides in the sandbox.

Every template has three parts, each a Jinja file under ``mail_templates/<name>/``:
``subject.txt`` (one line; whitespace is collapsed, so no header can be
injected), ``body.txt`` (plain text, not escaped) and ``body.html`` (autoescaped;
it may extend ``layout.html``). A tenant may override all three at once
(``email_template_overrides``); overrides render in storefront's sandbox, the
same budgeted sandbox (storefront/budget.py) and globals as a merchant's theme, with the
defaults behind them, so ``{% extends "layout.html" %}`` works there too.

An override is checked before it is stored (:func:`check_sources`): it must
compile and render the template's sample context, and a problem names the part
and the line. At send time an override that still fails (a context the sample
did not cover) falls back to the default, logged: an order never fails because
of a merchant's template, like the storefront's themes.
"""

from __future__ import annotations

import enum
import functools
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from jinja2 import (
    ChainableUndefined,
    ChoiceLoader,
    DictLoader,
    Environment,
    FileSystemLoader,
    TemplateError,
    TemplateSyntaxError,
)
from jinja2.sandbox import SecurityError

from storefront.budget import BudgetedSandbox, TemplateBudgetExceeded, budgeted_range
from storefront.environment import SANDBOX_GLOBALS

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "mail_templates"
MAX_SUBJECT_CHARS = 998  # RFC 5322's line limit; the column is as long
MAX_PART_CHARS = 64 * 1024


class EmailTemplate(enum.Enum):
    ORDER_CONFIRMATION = "order_confirmation"
    PAYMENT_RECEIVED = "payment_received"
    ORDER_SHIPPED = "order_shipped"
    ORDER_REFUNDED = "order_refunded"
    CUSTOMER_VERIFY_EMAIL = "customer_verify_email"
    CUSTOMER_SIGN_IN_CODE = "customer_sign_in_code"
    CUSTOMER_PASSWORD_RESET = "customer_password_reset"
    SELLER_INVITATION = "seller_invitation"

    @classmethod
    def named(cls, name: str) -> "EmailTemplate | None":
        """The template called ``name`` (its value, e.g. ``order_confirmation``), or None."""
        return cls._value2member_map_.get(name)  # type: ignore[return-value]


# The three parts, as (field of TemplateSources, file name under mail_templates/<template>/).
PARTS = (("subject", "subject.txt"), ("text", "body.txt"), ("html", "body.html"))


@dataclass(frozen=True)
class TemplateSources:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class TemplateProblem:
    part: str  # subject, text or html
    line: int | None
    message: str

    def describe(self) -> str:
        return f"{self.part}" + (f", line {self.line}" if self.line else "") + f": {self.message}"


def part_name(template: EmailTemplate, file_name: str) -> str:
    return f"{template.value}/{file_name}"


def _autoescape(name: str | None) -> bool:
    return bool(name and name.endswith(".html"))


def _environment_options() -> dict[str, Any]:
    # ChainableUndefined: an optional field the caller left out (line2, a tracking URL)
    # renders as nothing instead of failing the order's transaction.
    return dict(autoescape=_autoescape, auto_reload=False, trim_blocks=True, lstrip_blocks=True,
                keep_trailing_newline=True, undefined=ChainableUndefined)


@functools.cache
def default_environment() -> Environment:
    """The shipped templates are our code: a plain Environment, built once per process."""
    return Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), **_environment_options())


class _NamedDictLoader(DictLoader):
    """DictLoader whose templates carry their name as file name, so a runtime error's traceback names the part."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Any]:
        source, _filename, uptodate = super().get_source(environment, template)
        return source, template, uptodate


def tenant_environment(template: EmailTemplate, sources: TemplateSources) -> BudgetedSandbox:
    """The theme's budgeted sandbox (storefront/budget.py): an email override is merchant code too (issue 13).

    Without the budget ``{{ 9 ** 30000000 }}`` or nested ``range`` loops in a
    confirmation email stalled the process placing the order; over budget, the
    render raises and :func:`render_email` sends the default email.
    """
    overrides = {part_name(template, file_name): getattr(sources, field) for field, file_name in PARTS}
    environment = BudgetedSandbox(
        loader=ChoiceLoader([_NamedDictLoader(overrides), FileSystemLoader(str(TEMPLATES_DIR))]), **_environment_options()
    )
    environment.globals = {name: environment.globals[name] for name in SANDBOX_GLOBALS if name in environment.globals}
    environment.globals["range"] = budgeted_range
    environment.budget_filters()
    return environment


def default_sources(template: EmailTemplate) -> TemplateSources:
    return TemplateSources(**{field: (TEMPLATES_DIR / template.value / file_name).read_text() for field, file_name in PARTS})


def _render_with(environment: Environment, template: EmailTemplate, context: Mapping[str, Any]) -> RenderedEmail:
    parts = {field: environment.get_template(part_name(template, file_name)).render(context) for field, file_name in PARTS}
    subject = " ".join(parts["subject"].split())[:MAX_SUBJECT_CHARS]
    return RenderedEmail(subject=subject, text=parts["text"], html=parts["html"])


def render_email(
    template: EmailTemplate, context: Mapping[str, Any], *, tenant_id: int, overrides: TemplateSources | None = None
) -> RenderedEmail:
    """Subject, text and HTML of ``template``: the tenant's override, or the default when it fails."""
    if overrides is not None:
        try:
            return _render_with(tenant_environment(template, overrides), template, context)
        except Exception as error:  # merchant code can raise anything; the mail still goes out
            problem = _problem(template, error)
            log.warning("tenant %s email template %s failed, default used: %s", tenant_id, template.value, problem.describe())
    return _render_with(default_environment(), template, context)


def check_sources(template: EmailTemplate, sources: TemplateSources) -> TemplateProblem | None:
    """What is wrong with an override: it must compile and render the template's sample context."""
    for field, file_name in PARTS:
        source = getattr(sources, field)
        if len(source) > MAX_PART_CHARS:
            return TemplateProblem(field, None, f"at most {MAX_PART_CHARS} characters")
    environment = tenant_environment(template, sources)
    for field, file_name in PARTS:
        try:
            environment.parse(getattr(sources, field), name=part_name(template, file_name))
        except TemplateSyntaxError as error:
            return TemplateProblem(field, error.lineno, f"syntax error: {error.message}")
    try:
        rendered = _render_with(environment, template, sample_context(template))
    except Exception as error:  # a test render: whatever it raises is reported, not raised
        return _problem(template, error)
    if not rendered.subject:
        return TemplateProblem("subject", None, "the subject renders empty")
    return None


def _problem(template: EmailTemplate, error: BaseException) -> TemplateProblem:
    if isinstance(error, TemplateSyntaxError):
        return TemplateProblem(_part_of(template, error.name), error.lineno, f"syntax error: {error.message}")
    # Jinja rewrites tracebacks so a template's frames carry its name and line.
    part, line = "html", None
    for frame in traceback.extract_tb(error.__traceback__):
        for field, file_name in PARTS:
            if frame.filename == part_name(template, file_name):
                part, line = field, frame.lineno
    if isinstance(error, SecurityError):
        return TemplateProblem(part, line, f"not allowed in an email template: {error}")
    if isinstance(error, TemplateBudgetExceeded):
        if error.source_name:
            part = _part_of(template, error.source_name)
        return TemplateProblem(part, error.line or line, f"over the render budget: {error.message or error}")
    if isinstance(error, TemplateError):
        return TemplateProblem(part, line, f"{type(error).__name__}: {error.message or error}")
    return TemplateProblem(part, line, f"{type(error).__name__}: {error}")


def _part_of(template: EmailTemplate, name: str | None) -> str:
    for field, file_name in PARTS:
        if name == part_name(template, file_name):
            return field
    return "html"


_SAMPLE_STORE = {"name": "Sample Store", "url": "https://sample.example.com/"}
_SAMPLE_ORDER = {
    "number": "#1001",
    "status_url": "https://sample.example.com/orders/1001?token=sample",
    "email": "shopper@example.com",
    "currency": "USD",
    "lines": [
        {"title": "Linen Shirt", "variant_title": "M / Blue", "quantity": 2, "unit_price": "$49.00", "total": "$98.00"},
        {"title": "Gift Card", "variant_title": "", "quantity": 1, "unit_price": "$25.00", "total": "$25.00"},
    ],
    "subtotal": "$123.00",
    "shipping": "$5.00",
    "tax": "$10.24",
    "discount": "$0.00",
    "total": "$138.24",
    "shipping_address": {
        "name": "Ann Example", "line1": "1 Main Street", "line2": "Apt 2", "city": "Springfield",
        "region": "IL", "postal_code": "62701", "country": "US",
    },
    "tracking_number": "1Z999AA10123456784",
    "tracking_url": "https://carrier.example.com/track/1Z999AA10123456784",
    "refund_amount": "$49.00",
}


def sample_context(template: EmailTemplate) -> dict[str, Any]:
    """The context an override is test-rendered with: the documented shape (docs/email.md), sample values."""
    if template.value.startswith("order_") or template is EmailTemplate.PAYMENT_RECEIVED:
        return {"store": _SAMPLE_STORE, "order": _SAMPLE_ORDER}
    if template is EmailTemplate.CUSTOMER_SIGN_IN_CODE:
        return {"store": _SAMPLE_STORE, "code": "123456"}
    if template is EmailTemplate.SELLER_INVITATION:
        return {"store": _SAMPLE_STORE, "link": "https://sample.example.com/invite/sample", "inviter": "Sam Seller"}
    return {"store": _SAMPLE_STORE, "link": "https://sample.example.com/account/sample"}
