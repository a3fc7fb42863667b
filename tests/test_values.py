"""Live values: number formatting and the sandboxed Jinja pass over each chapter."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from topicgen.api import Claim, Result
from topicgen.content.values import (
    LiveValueError,
    make_environment,
    pct,
    render_live_values,
    sig,
)
from topicgen.errors import ContentError

CHAPTER = Path("content/t1/01-decay.md")


@pytest.mark.parametrize(("value", "digits", "text"), [
    (0, 3, "0"),
    (0.0, 2, "0"),
    (0.5764, 2, "0.58"),
    (0.5764, 3, "0.576"),
    (-0.5764, 2, "−0.58"),
    (2.49e-60, 3, "2.49 × 10⁻⁶⁰"),
    (-2.49e-60, 2, "−2.5 × 10⁻⁶⁰"),
    (2.5e-17, 2, "2.5 × 10⁻¹⁷"),
    (0.001234, 2, "0.0012"),
    (0.0001234, 2, "1.2 × 10⁻⁴"),
    (12.345, 3, "12.3"),
    (123456.0, 3, "1.23 × 10⁵"),
    (6.02e23, 3, "6.02 × 10²³"),
    (42, 2, "42"),
    (7, 1, "7"),
    (-3, 1, "−3"),
    (10**6, 2, "1.0 × 10⁶"),
    (math.inf, 3, "∞"),
    (-math.inf, 3, "−∞"),
    (math.nan, 3, "NaN"),
])
def test_sig(value, digits, text):
    assert sig(value, digits) == text


@pytest.mark.parametrize(("value", "digits", "text"), [
    (0.9999, 2, "1.0"),          # rounding carries into the next decade
    (9.999e-5, 2, "1.0 × 10⁻⁴"),
    (-9.96e-9, 2, "−1.0 × 10⁻⁸"),
    (99999.9, 3, "1.00 × 10⁵"),
    (71684, 2, "72000"),         # whole numbers keep only the figures asked for
    (13781.4, 3, "13800"),
    (-456.7, 1, "−500"),
])
def test_sig_rounds_before_choosing_the_exponent(value, digits, text):
    assert sig(value, digits) == text


def test_sig_default_is_three_digits():
    assert sig(math.pi) == "3.14"


@pytest.mark.parametrize("value", ["0.5", None, True])
def test_sig_needs_a_number(value):
    with pytest.raises(LiveValueError, match=r"^sig\(\) needs a number, got "):
        sig(value)


@pytest.mark.parametrize(("value", "digits", "text"), [
    (0.1234, 0, "12 %"),
    (0.1234, 1, "12.3 %"),
    (1, 0, "100 %"),
    (0.005, 2, "0.50 %"),
])
def test_pct(value, digits, text):
    assert pct(value, digits) == text


# -- rendering chapters ---------------------------------------------------------------------

RESULT = Result(
    experiment="gradient-decay",
    params={"T": 10, "cells": ["rnn", "linear"], "rho": 1.0},
    series={},
    scalars={"decay_factor_rnn": 0.5764, "linear_max_rel_error": 2.49e-60, "zero": 0.0},
    claims=[Claim(id="tanh-bound", statement="Bounded.", expected="0", measured="0",
                  tolerance="0", passed=True)],
)


def live(text: str) -> str:
    return render_live_values(text, CHAPTER, make_environment({"fig-decay": RESULT}))


def live_error(text: str) -> str:
    with pytest.raises(ContentError) as excinfo:
        live(text)
    return f"Error: {excinfo.value.format_message()}"


def test_values_are_read_from_the_result():
    text = (
        "Decay {{ result('fig-decay').scalars.decay_factor_rnn | sig(2) }} per step,\n"
        "error {{ result('fig-decay').scalars['linear_max_rel_error'] | sig }},\n"
        "T = {{ result('fig-decay').params.T }}, cells {{ result('fig-decay').params.cells "
        "| join('/') }}, claim {{ result('fig-decay').claims['tanh-bound'].passed }}.\n"
    )
    assert live(text) == (
        "Decay 0.58 per step,\nerror 2.49 × 10⁻⁶⁰,\nT = 10, cells rnn/linear, claim True.\n"
    )


def test_text_without_jinja_is_unchanged():
    text = "# Title\n\n$h_{ {t} }$ and `code`\n"
    assert live(text) == text


def test_unknown_figure_label():
    text = "One\nTwo\n{{ result('fig-decy').scalars.zero }}\n"
    assert live_error(text) == (
        f'Error: {CHAPTER}:3: no figure labelled "fig-decy" to read a result from '
        '(did you mean "fig-decay"?)'
    )


def test_unknown_scalar():
    text = "One\n{{ result('fig-decay').scalars.decay_factor_rn | sig }}\n"
    assert live_error(text) == (
        f'Error: {CHAPTER}:2: result("fig-decay").scalars has no "decay_factor_rn" '
        '(did you mean "decay_factor_rnn"?)'
    )


def test_unknown_param_by_item():
    assert live_error("{{ result('fig-decay').params['t'] }}") == (
        f'Error: {CHAPTER}:1: result("fig-decay").params has no "t" (did you mean "T"?)'
    )


@pytest.mark.parametrize(("template", "message"), [
    ("{{ result(5) }}", 'no figure labelled "5" to read a result from (choose from: '
                        'fig-decay)'),
    ("{{ result(none) }}", 'no figure labelled "None" to read a result from (choose from: '
                           'fig-decay)'),
    ("{{ result('fig-decay').scalars[5] }}", 'result("fig-decay").scalars has no "5"'),
    ("{{ result('fig-decay').claims[99] }}", 'result("fig-decay").claims has no "99"'),
])
def test_a_label_or_key_that_is_not_text_is_named_too(template, message):
    """A number or none where a label or key goes was an internal error: the suggestion
    compared it as text."""
    assert live_error(template).startswith(f"Error: {CHAPTER}:1: {message}")


def test_live_values_that_take_too_long_stop_at_their_line(monkeypatch):
    """The sandbox bounds `*` and `**` but not loops: nested loops held a build for as long
    as they ran (killed at 120 s in an audit)."""
    import time

    from topicgen.content import values

    monkeypatch.setattr(values, "LIVE_VALUE_SECONDS", 0.3)
    loops = ("One\n{% for i in 'x' * 90000 %}{% for j in 'x' * 90000 %}"
             "{% endfor %}{% endfor %}\n")
    started = time.monotonic()
    assert live_error(loops) == (f"Error: {CHAPTER}:2: live values took more than 0.3 s to "
                                 "fill in (a loop too large?)")
    assert time.monotonic() - started < 5
    assert live("{{ result('fig-decay').params.T }}") == "10"  # the timer is gone


def test_undefined_name():
    assert live_error("a\n\n{{ reslt('fig-decay') }}\n") == (
        f"Error: {CHAPTER}:3: 'reslt' is undefined"
    )


def test_sig_of_a_string_names_the_line():
    assert live_error("a\n{{ 'x' | sig }}\n") == (
        f"Error: {CHAPTER}:2: sig() needs a number, got 'x'"
    )


def test_division_by_zero_names_the_line():
    assert live_error("a\n{{ 1 / result('fig-decay').scalars.zero }}\n") == (
        f"Error: {CHAPTER}:2: float division by zero"
    )


@pytest.mark.parametrize(("template", "message"), [
    ("{{ ''.__class__ }}", "access to attribute '__class__' of 'str' object is unsafe."),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}",
     "access to attribute '__class__' of 'str' object is unsafe."),
    ("{{ result.__globals__ }}",
     "access to attribute '__globals__' of 'function' object is unsafe."),
    ("{{ result('fig-decay').__class__ }}",
     "access to attribute '__class__' of 'ResultView' object is unsafe."),
    ("{{ result('fig-decay').scalars.__init__.__globals__ }}",
     "access to attribute '__init__' of 'Values' object is unsafe."),
    ("{{ result('fig-decay').claims['tanh-bound'].__class__ }}",
     "access to attribute '__class__' of 'Claim' object is unsafe."),
])
def test_sandbox_refuses_internals(template, message):
    assert live_error(f"Line one\n{template}\n") == f"Error: {CHAPTER}:2: {message}"


def test_private_names_are_not_reachable():
    assert live_error("{{ result('fig-decay').scalars._data }}") == (
        f'Error: {CHAPTER}:1: result("fig-decay").scalars has no "_data" '
        "(choose from: decay_factor_rnn, linear_max_rel_error, zero)"
    )


def test_jinja_syntax_error_names_the_line():
    assert live_error("One\nTwo\n{{ 1 + }}\n") == (
        f"Error: {CHAPTER}:3: template syntax: unexpected 'end of print statement'"
    )

