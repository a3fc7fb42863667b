"""Live values: chapters are sandboxed Jinja templates that read numbers from results."""

from __future__ import annotations

import math
import re
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from topicgen.api import Result
from topicgen.errors import ContentError, did_you_mean, jinja_location

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
MAX_DIGITS = 17  # a float carries 17 significant digits; more would print noise
# The largest string, list or integer (in bits) a live value may build: far more than a
# sentence needs, far less than `{{ 'a' * 10**10 }}` would take from the build machine.
MAX_SIZE = 100_000


class LiveValueError(Exception):
    """A chapter asked for a result or a number that does not exist."""


class Values(dict):
    """A mapping whose entries read as attributes and whose misses suggest the closest key."""

    def __init__(self, data: dict[str, Any], what: str, why_missing: str = ""):
        super().__init__(data)
        self.what = what
        self.why_missing = why_missing

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __missing__(self, key: str) -> Any:
        raise LiveValueError(f'{self.what} has no "{key}"' + did_you_mean(key, self)
                             + self.why_missing)


class ResultView:
    """What a chapter may read from the run behind a figure; `changed`: what a miss should
    add about the run (a variant that changed its parameters)."""

    def __init__(self, label: str, result: Result, changed: str = ""):
        shown = result.provenance.get("computed_for")
        partial = (f"; this build computed only what {', '.join(shown)} "
                   f"need{'s' if len(shown) == 1 else ''} of {result.experiment}, and a value "
                   "drawn for another of its figures needs that figure shown too") if shown else ""
        self.scalars = Values(result.scalars, f'result("{label}").scalars', partial + changed)
        self.params = Values(result.params, f'result("{label}").params')
        self.claims = Values({c.id: c for c in result.claims}, f'result("{label}").claims')


def sig(value: float, digits: int = 3) -> str:
    """`digits` significant figures; very small or large numbers as a × 10ⁿ."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LiveValueError(f"sig() needs a number, got {value!r}")
    check_digits("sig", digits, 1)
    if not math.isfinite(value):
        return "∞" if value > 0 else "−∞" if value < 0 else "NaN"
    if value == 0:
        return "0"
    # The exponent after rounding, so 0.9999 to two digits is 1.0 (not 1.00) and 9.99e-5
    # is 1.0 × 10⁻⁴ (not 10.0 × 10⁻⁵).
    mantissa, _, exponent_text = f"{value:.{max(digits - 1, 0)}e}".partition("e")
    exponent = int(exponent_text)
    if -3 <= exponent < 5:
        decimals = max(digits - 1 - exponent, 0)
        # Rounded to `digits` figures first: two of 71684 read 72000, not 71684.
        rounded = float(f"{mantissa}e{exponent}")
        return f"{rounded:.{decimals}f}".replace("-", "−")
    return f"{mantissa.replace('-', '−')} × 10{str(exponent).translate(SUPERSCRIPT)}"


def pct(value: float, digits: int = 0) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LiveValueError(f"pct() needs a number, got {value!r}")
    check_digits("pct", digits, 0)
    return f"{100 * value:.{digits}f} %"


def check_digits(name: str, digits: object, least: int) -> None:
    if isinstance(digits, bool) or not isinstance(digits, int) \
            or not least <= digits <= MAX_DIGITS:
        raise LiveValueError(f"{name}() digits must be a whole number from {least} to "
                             f"{MAX_DIGITS}, got {digits!r}")


class LiveValueEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus limits on `*` and `**` so a chapter cannot exhaust the machine.

    Immutable: a chapter may read results but never change them (no `.update()`, `.pop()`).
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "*":
            check_repeat(left, right)
            check_repeat(right, left)
        elif isinstance(left, int) and isinstance(right, int) and \
                max(left.bit_length(), 1) * right > MAX_SIZE:
            raise LiveValueError(f"{left} ** {right} is too large to print")
        return super().call_binop(context, operator, left, right)


def check_repeat(sequence: object, times: object) -> None:
    if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) \
            and len(sequence) * times > MAX_SIZE:
        raise LiveValueError(f"a text or list of {len(sequence) * times} items is too long "
                             f"(at most {MAX_SIZE})")


class NoFiles(jinja2.BaseLoader):
    """Refuses `{% include %}`, `{% import %}` and `{% extends %}`: content may read no files."""

    def get_source(self, environment, template):
        raise LiveValueError(f'cannot read "{template}": live values may not include, import '
                             'or extend files (quote results with result("label"))')


def make_environment(results: dict[str, Result], changed: dict[str, str] | None = None
                     ) -> SandboxedEnvironment:
    """The chapters' sandbox, reading `results` by figure label; `changed`: per label, what
    a missing scalar's error should add about its run."""
    env = LiveValueEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                               autoescape=False, loader=NoFiles())

    def result(label: str) -> ResultView:
        if label not in results:
            raise LiveValueError(f'no figure labelled "{label}" to read a result from'
                                 + did_you_mean(label, results))
        return ResultView(label, results[label], (changed or {}).get(label, ""))

    env.globals = {"result": result}
    env.filters.update(sig=sig, pct=pct)
    return env


def render_live_values(text: str, path: Path, env: SandboxedEnvironment) -> str:
    """The chapter text with every `{{ ... }}` replaced; errors name the file and line."""
    try:
        template = env.from_string(text)
        with time_limit(LIVE_VALUE_SECONDS):
            return template.render()
    except jinja2.TemplateSyntaxError as error:
        raise ContentError(f"template syntax: {error.message}" + tex_braces(text, error.lineno),
                           path, error.lineno) from None
    except (LiveValueError, jinja2.TemplateError, RecursionError, TypeError, ValueError,
            ArithmeticError, LookupError) as error:
        line = jinja_location()[1]
        hint = tex_braces(text, line) if isinstance(error, jinja2.UndefinedError) else ""
        raise ContentError(describe(error) + hint, path, line) from None


LIVE_VALUE_SECONDS = 10.0
"""How long a chapter's live values may take to fill in: they take milliseconds, but the
sandbox bounds `*` and `**`, not loops, and nested loops could hold a build (in CI, until
its own time runs out)."""


@contextmanager
def time_limit(seconds: float):
    """Raise LiveValueError in the block after `seconds` (in the main thread, where Python
    delivers signals; elsewhere there is no limit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum, _frame):
        raise LiveValueError(f"live values took more than {seconds:g} s to fill in (a loop "
                             "too large?)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def tex_braces(text: str, line: int | None) -> str:
    """A hint where the line at fault has `{{` inside a formula: TeX's nested braces
    ($W_{{k}}$) read as a live value, and the error ("'k' is undefined") says nothing of it."""
    lines = text.splitlines()
    if line and line <= len(lines) and re.search(r"\$[^$]*\{\{[^$]*\$", lines[line - 1]):
        return (" (in a formula, {{ starts a live value: write TeX's nested braces with a "
                "space, { {)")
    return ""


def describe(error: Exception) -> str:
    """The error in a chapter author's words; Python's own words for two are cryptic."""
    if isinstance(error, RecursionError):
        return "live values nest too deeply (a macro that calls itself?)"
    if isinstance(error, OverflowError):
        return "a number too large for a float"
    return str(error)
