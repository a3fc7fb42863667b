"""Live values: chapters are sandboxed Jinja templates that read numbers from results."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from topicgen.errors import ContentError, did_you_mean
from topicgen.experiments.result import Result

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class LiveValueError(Exception):
    """A chapter asked for a result or a number that does not exist."""


class Values(dict):
    """A mapping whose entries read as attributes and whose misses suggest the closest key."""

    def __init__(self, data: dict[str, Any], what: str):
        super().__init__(data)
        self.what = what

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __missing__(self, key: str) -> Any:
        raise LiveValueError(f'{self.what} has no "{key}"' + did_you_mean(key, self))


class ResultView:
    """What a chapter may read from the run behind a figure."""

    def __init__(self, label: str, result: Result):
        self.scalars = Values(result.scalars, f'result("{label}").scalars')
        self.params = Values(result.params, f'result("{label}").params')
        self.claims = Values({c.id: c for c in result.claims}, f'result("{label}").claims')


def sig(value: float, digits: int = 3) -> str:
    """`digits` significant figures; very small or large numbers as a × 10ⁿ."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LiveValueError(f"sig() needs a number, got {value!r}")
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
        return f"{value:.{decimals}f}".replace("-", "−")
    return f"{mantissa.replace('-', '−')} × 10{str(exponent).translate(SUPERSCRIPT)}"


def pct(value: float, digits: int = 0) -> str:
    return f"{100 * value:.{digits}f} %"


def make_environment(results: dict[str, Result]) -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                               autoescape=False)

    def result(label: str) -> ResultView:
        if label not in results:
            raise LiveValueError(f'no figure labelled "{label}" to read a result from'
                                 + did_you_mean(label, results))
        return ResultView(label, results[label])

    env.globals = {"result": result}
    env.filters.update(sig=sig, pct=pct)
    return env


def render_live_values(text: str, path: Path, env: SandboxedEnvironment) -> str:
    """The chapter text with every `{{ ... }}` replaced; errors name the file and line."""
    try:
        return env.from_string(text).render()
    except jinja2.TemplateSyntaxError as error:
        raise ContentError(f"template syntax: {error.message}", path, error.lineno) from None
    except (LiveValueError, jinja2.UndefinedError, jinja2.TemplateError, TypeError,
            ValueError, ArithmeticError) as error:
        raise ContentError(str(error), path, template_line()) from None


def template_line() -> int | None:
    """The line of the template being rendered when the current exception was raised.

    Jinja compiles templates from strings to code named "<template>" and rewrites the
    traceback so those frames carry template line numbers.
    """
    tb, line = sys.exc_info()[2], None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
