"""Render budgets for merchant templates (issue 13): a template cannot stall or bloat its process.

Jinja's sandbox stops a template reaching Python's internals, not one that asks
for work: ``{{ 9 ** 30000000 }}``, ``'x' * 10**10`` or nested ``range`` loops
each held the event loop for seconds (or the memory for gigabytes). The tenant
environment (storefront/environment.py) is a :class:`BudgetedSandbox`, which
charges every step of a render to the :class:`Budget` of that render:

- ``**`` and ``*`` (and ``%`` formatting) are checked *before* they run, from the
  operands' sizes: a big-integer power or a string repetition is one C call that
  no counter could interrupt once started;
- every loop iteration (each ``for`` is rewritten to iterate through
  :meth:`BudgetedSandbox.budget_iter`), call, filter and operator is a step,
  at most ``MAX_STEPS`` per render; ``range`` pays for its length up front;
- every string the template builds (``~``, ``+``, filters, calls, block and
  macro bodies, each ``{{ }}`` output) is charged to ``MAX_CHARS``, so the
  memory a render holds stays bounded whatever it nests;
- the render has a deadline (``RENDER_SECONDS``), checked at every step.

Tenant renders run in a worker thread, off the event loop (ThemeRenderer.render_async).
A Python thread cannot be killed, so the deadline works from inside: each step
looks at the clock and raises :class:`TemplateBudgetExceeded`, and no single
step can take long because the operand checks above refuse the expensive ones
before they start. The GIL is the other half: a render still running after
``FREE_SECONDS`` (a default page takes 2-10 ms) is treated as suspect and from
then on sleeps ``PAUSE_SECONDS`` after every ``SLICE_SECONDS`` of work, so the
event loop thread finds the GIL free most of the time instead of waiting for
Python's 5 ms forced switches (with two busy render threads that wait
compounds: on the loaded 2-core test machine another shop's p99 was 36-72 ms
without the pauses and 4-25 ms with them; tests/abuse/test_template_budget.py).
A slow render pays for the pauses, not the other shops; ordinary renders never
reach them.

Constant folding is off for tenant templates (``optimized=False``): Jinja would
otherwise evaluate constant expressions such as ``9 ** 30000000`` at compile
time, outside any budget, on the thread that stores the template.
"""

from __future__ import annotations

import contextvars
import re
import sys
import time
import types
from functools import wraps
from typing import Any, Callable, Iterable, Iterator

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg
from jinja2.environment import Template
from jinja2.runtime import Macro

MAX_STEPS = 200_000  # loop iterations, calls, filters, operators and outputs, per render
MAX_CHARS = 4_000_000  # characters built or output, per render (a default page is ~30-100 k)
MAX_VALUE_CHARS = 1_000_000  # one string or list a single operation may make
MAX_INT_BITS = 4096  # integers a template may compute (a price in cents needs 40)
MAX_RANGE = 10_000
RENDER_SECONDS = 1.0
FREE_SECONDS = 0.02  # renders shorter than this never pause
SLICE_SECONDS = 0.001  # past it, a render thread runs this long...
PAUSE_SECONDS = 0.004  # ...then leaves the GIL to the event loop for this long
# A width or precision of six digits or more in a format string ('%999999999d', '{:999999999}').
HUGE_FORMAT_WIDTH = re.compile(r"\d{6,}")


class TemplateBudgetExceeded(TemplateError):
    """The render asked for more than its budget; ``line`` names the template line when known."""

    def __init__(self, message: str, *, source_name: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.source_name = source_name
        self.line = line


class Budget:
    __slots__ = ("steps", "chars", "deadline", "pause_at")

    def __init__(self, seconds: float = RENDER_SECONDS) -> None:
        self.steps = 0
        self.chars = 0
        now = time.monotonic()
        self.deadline = now + seconds
        self.pause_at = now + FREE_SECONDS

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise over_budget(f"the template takes more than {MAX_STEPS} steps (loop iterations, calls, operators)")
        now = time.monotonic()
        if now >= self.pause_at:
            if now > self.deadline:
                raise over_budget(f"the template takes longer than {RENDER_SECONDS:g} s to render")
            time.sleep(PAUSE_SECONDS)  # the event loop thread takes the GIL meanwhile
            self.pause_at = time.monotonic() + SLICE_SECONDS

    def spend(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_CHARS:
            raise over_budget(f"the template builds more than {MAX_CHARS} characters")

    def built(self, value: Any) -> Any:
        """Charge a value the template made; refuse integers past MAX_INT_BITS."""
        self.step()
        if isinstance(value, (str, list, tuple, dict, set, frozenset)):
            self.spend(len(value))
        elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise over_budget(f"numbers in a template are limited to {MAX_INT_BITS} bits")
        return value


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("zelly_template_budget", default=None)


def current_budget() -> Budget:
    budget = _current.get()
    # Outside BudgetedTemplate.render (Jinja folding a filter on constants at compile time,
    # a macro reached through a module): a fresh budget per operation. The operand checks
    # still apply; nothing is stored, so no expired deadline leaks into the caller's context.
    return budget if budget is not None else Budget()


def over_budget(message: str) -> TemplateBudgetExceeded:
    """The error, with the tenant template line being run when the limit was hit."""
    frame = sys._getframe(1)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return TemplateBudgetExceeded(message, source_name=template.name, line=template.get_corresponding_lineno(frame.f_lineno))
        frame = frame.f_back
    return TemplateBudgetExceeded(message)


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_power(base: Any, exponent: Any) -> None:
    if _is_size(base) and _is_size(exponent) and exponent > 0 and abs(base) > 1:
        if abs(base).bit_length() * exponent > MAX_INT_BITS:
            raise over_budget(f"{base} ** {exponent} is too large (numbers are limited to {MAX_INT_BITS} bits)")


def check_product(left: Any, right: Any) -> None:
    if _is_size(left) and _is_size(right):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise over_budget(f"the product is too large (numbers are limited to {MAX_INT_BITS} bits)")
        return
    sequence, count = (left, right) if _is_size(right) else (right, left)
    if _is_size(count) and isinstance(sequence, (str, list, tuple)) and len(sequence) * count > MAX_VALUE_CHARS:
        raise over_budget(f"repeating a value {count} times makes more than {MAX_VALUE_CHARS} items")


def check_format(template: str, arguments: Any) -> None:
    if HUGE_FORMAT_WIDTH.search(template):
        raise over_budget("format widths and precisions are limited to five digits")
    values = arguments if isinstance(arguments, tuple) else (arguments,)
    if "*" in template and any(_is_size(value) and abs(value) > MAX_VALUE_CHARS for value in values):
        raise over_budget(f"format widths are limited to {MAX_VALUE_CHARS}")


def check_join(separator: str, items: list) -> None:
    size = sum(len(str(item)) for item in items) + len(separator) * max(len(items) - 1, 0)
    if size > MAX_VALUE_CHARS:
        raise over_budget(f"the joined text would be more than {MAX_VALUE_CHARS} characters")


def check_replace(text: str, old: Any, new: Any, count: Any = -1) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    found = text.count(old) if old else len(text) + 1
    if _is_size(count) and count >= 0:
        found = min(found, count)
    if len(text) + found * len(new) > MAX_VALUE_CHARS:
        raise over_budget(f"the replaced text would be more than {MAX_VALUE_CHARS} characters")


def check_sizes(arguments: Iterable[Any]) -> None:
    """Widths and counts handed to builtins (center, ljust, zfill, indent, truncate...)."""
    for value in arguments:
        if _is_size(value) and abs(value) > MAX_VALUE_CHARS:
            raise over_budget(f"sizes passed to a filter or method are limited to {MAX_VALUE_CHARS}")


def budgeted_range(*arguments: int) -> range:
    numbers = range(*arguments)
    if len(numbers) > MAX_RANGE:
        raise over_budget(f"range() is limited to {MAX_RANGE} numbers")
    current_budget().step(len(numbers))  # paid up front: a range can be consumed by |list or |sum without a loop
    return numbers


def budgeted_filter(name: str, function: Callable) -> Callable:
    pass_arg = _PassArg.from_obj(function)
    skip = 0 if pass_arg is None else 1

    @wraps(function)
    def checked(*arguments: Any, **keywords: Any) -> Any:
        budget = current_budget()
        budget.step()
        value, extra = (arguments[skip], arguments[skip + 1 :]) if len(arguments) > skip else (None, ())
        check_sizes((*extra, *keywords.values()))
        if name == "format" and isinstance(value, str):
            check_format(value, tuple(extra) or tuple(keywords.values()))
        elif name == "replace" and extra[:2]:
            check_replace(str(value), *extra[:3])
        elif name == "join" and value is not None and not isinstance(value, (str, bytes)):
            items = list(value)
            check_join(str(extra[0]) if extra else str(keywords.get("d", "")), items)
            arguments = (*arguments[:skip], items, *extra)
        return budget.built(function(*arguments, **keywords))

    if pass_arg is not None:
        checked.jinja_pass_arg = pass_arg  # type: ignore[attr-defined]
    return checked


class BudgetedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        # ``a ~ b`` builds a string without a call the sandbox sees: charge it.
        self.write("environment.budget_built(")
        super().visit_Concat(node, frame)
        self.write(")")


class BudgetedTemplate(Template):
    def render(self, *args: Any, **kwargs: Any) -> str:
        budget = Budget()
        token = _current.set(budget)
        try:
            context = self.new_context(dict(*args, **kwargs))
            parts = []
            for part in self.root_render_func(context):
                budget.spend(len(part))
                budget.step()
                parts.append(part)
            return "".join(parts)
        except Exception:
            self.environment.handle_exception()
        finally:
            _current.reset(token)


class BudgetedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox for tenant templates: every step charged to the render's Budget."""

    intercepted_binops = frozenset({"**", "*", "%", "+", "//", "/", "-"})
    code_generator_class = BudgetedCodeGenerator
    template_class = BudgetedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(optimized=False, finalize=self._output, **options)
        # The bounded join is what block, macro and {% set %} bodies use (the generated
        # code reads ``concat = environment.concat``).
        self.concat = self._bounded_concat  # type: ignore[method-assign]

    def budget_filters(self) -> None:
        """Wrap every filter; called once the environment's filters are all installed."""
        self.filters = {name: budgeted_filter(name, function) for name, function in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("budget_iter"), [loop.iter], [], None, None, lineno=loop.lineno)
        return tree

    @staticmethod
    def budget_iter(iterable: Any) -> Iterator[Any]:
        budget = current_budget()
        for item in iterable:
            budget.step()
            yield item

    @staticmethod
    def budget_built(value: Any) -> Any:
        return current_budget().built(value)

    @staticmethod
    def _output(value: Any) -> Any:
        budget = current_budget()
        budget.step()
        if isinstance(value, str):
            budget.spend(len(value))
        return value

    @staticmethod
    def _bounded_concat(parts: Iterable[str]) -> str:
        parts = list(parts)
        current_budget().spend(sum(map(len, parts)))
        return "".join(parts)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # str.format reaches the template through here (jinja wraps it in its safe formatter).
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and HUGE_FORMAT_WIDTH.search(value.__self__):
            raise over_budget("format widths and precisions are limited to five digits")
        return wrapped

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        current_budget().step()
        if operator == "**":
            check_power(left, right)
        elif operator == "*":
            check_product(left, right)
        elif operator == "%" and isinstance(left, str):
            check_format(left, right)
        return current_budget().built(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (jinja's signature)
        budget = current_budget()
        budget.step()
        if not isinstance(__obj, Macro):  # a macro's arguments are the merchant's data, not sizes
            check_sizes((*args, *kwargs.values()))
        if isinstance(__obj, (types.BuiltinMethodType, types.BuiltinFunctionType)):
            owner = getattr(__obj, "__self__", None)
            name = getattr(__obj, "__name__", "")
            if isinstance(owner, str):
                if name == "join" and args:
                    items = list(args[0])
                    check_join(owner, items)
                    args = (items, *args[1:])
                elif name == "replace":
                    check_replace(owner, *args[:3])
                elif name == "expandtabs" and len(owner) * max([8, *[a for a in args if _is_size(a)]]) > MAX_VALUE_CHARS:
                    raise over_budget(f"the expanded text would be more than {MAX_VALUE_CHARS} characters")
        return budget.built(super().call(__context, __obj, *args, **kwargs))
