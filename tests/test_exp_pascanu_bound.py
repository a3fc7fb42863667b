"""pascanu-bound: Pascanu's bound where it is tight, the 1.1^T explosion, and saturation."""

from __future__ import annotations

import math

import pytest

from conftest import evidence_failed, run_experiment, topic4_module

pb = topic4_module("pascanu_bound")


def run(profile: str = "quick", **overrides):
    return run_experiment("pascanu-bound", profile, **overrides)



@pytest.mark.parametrize("profile", ["quick", "full"])
def test_every_claim_holds(profile):
    result = run(profile)
    assert [c.id for c in result.claims] == ["bound", "linear-explosion",
                                             "necessary-not-sufficient"]
    assert all(c.passed for c in result.claims), result.claims


def test_the_sigmoid_bound_is_nearly_attained():
    """For the sigmoid at rho = 0.8 the gradient stays within ~10% per 60 steps of 0.2^k:
    a bound this tight fails for any derivative that is a little too large."""
    result = run("full")
    assert 1 < result.scalars["bound_tightest_factor"] < 1.15


def test_lags_past_float64_are_not_counted_as_held():
    """At T = 1000, rho = 0.01 underflows both the bound and the gradient to 0 and rho = 10
    overflows the bound to inf: "0 > 0" and "x > inf" were counted as 20000 lags held."""
    result = run(T=1000, rhos="0.01,10", seeds=2)
    judged = result.scalars["bound_judged_lags"]
    assert 0 < judged < 2 * 2 * 2 * 1000
    bound = result.claims[0]
    assert bound.passed is True
    assert f"of {judged:.0f} lags above" in bound.measured
    assert f"; {8000 - judged:.0f} lags where the bound or the gradient left" in bound.measured
    at_60 = run().scalars  # every lag of the default is a normal float64 number
    assert at_60["bound_judged_lags"] == 2 * 4 * 2 * 60


def test_the_linear_regime_explodes_by_exactly_1_1_per_step():
    result = run(T=60)
    assert result.scalars["explosion_ratio"] == pytest.approx(1.1**60, rel=5e-5)
    assert result.scalars["explosion_ratio"] == pytest.approx(304.48, abs=0.01)


# -- planted bugs: each must make an evidence claim fail ---------------------------------

def no_nonlinearity(monkeypatch):
    """sigma forgotten in the recurrence: x_t = W x_{t-1} + U u_t."""
    monkeypatch.setitem(pb.CELLS, "sigmoid", (lambda x: x, 0.25))


def sigmoid_slope_taken_as_one_half(monkeypatch):
    """The sigmoid replaced by a function twice as steep at 0 (slope 1/2 instead of 1/4)."""
    monkeypatch.setitem(pb.CELLS, "sigmoid", (lambda x: 1 / (1 + (-2 * x).exp()), 0.25))


def w_not_orthogonal(monkeypatch):
    """Q drawn as a plain Gaussian matrix: W's largest singular value is then ~2 rho, not rho."""
    monkeypatch.setattr(pb, "haar_orthogonal",
                        lambda n, gen, dtype, device: __import__("torch").randn(
                            (n, n), generator=gen, dtype=dtype, device=device) / math.sqrt(n))


def tanh_scaled_up(monkeypatch):
    """tanh(2x): a cell whose slope reaches 2, so gamma = 1 no longer bounds it."""
    monkeypatch.setitem(pb.CELLS, "tanh", (lambda x: x.mul(2).tanh(), 1.0))


MUTATIONS = {"no nonlinearity in the recurrence": no_nonlinearity,
             "sigmoid slope 1/2 instead of 1/4": sigmoid_slope_taken_as_one_half,
             "W Gaussian, not rho times orthogonal": w_not_orthogonal,
             "tanh twice as steep": tanh_scaled_up}


@pytest.mark.planted_bug("topic4", "pascanu-bound", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(plant, monkeypatch):
    plant(monkeypatch)
    assert evidence_failed(run())


def test_explosion_is_judged_only_inside_the_linear_regime():
    """From T = 140 the states leave tanh's linear regime and 1.1^T no longer holds."""
    (late,) = [c for c in run(T=150).claims if c.id == "linear-explosion"]
    assert late.passed is None and "T <= 120" in late.not_judged
    (edge,) = [c for c in run(T=120).claims if c.id == "linear-explosion"]
    assert edge.passed


def test_saturation_needs_steps_to_vanish():
    (short,) = [c for c in run(T=5).claims if c.id == "necessary-not-sufficient"]
    assert short.passed is None and "T >= 20" in short.not_judged


def test_a_figure_spanning_more_decades_than_float64_draws_them_all(recwarn):
    """At T = 1000 the ratios span 10^-161 to 10^150 and the bound passes 10^308 (inf): the
    log axis overflowed (a RuntimeWarning) and collapsed to 10^0..10^1, every curve off it."""
    figures = topic4_module("pascanu_bound_figures")
    result = run(T=1000, rhos="0.8,4.5", seeds=2)
    figure = figures.draw_bound(result)
    tanh = figure.axes[0]
    drawn = [v for line in tanh.get_lines() for v in line.get_ydata() if math.isfinite(v)]
    low, high = tanh.get_ylim()
    assert low <= min(drawn) < -100 and 100 < max(drawn) <= high
    labels = [label.get_text() for label in tanh.get_yticklabels()]
    assert "10⁰" in labels and "10⁻¹²⁰" in labels  # decades, written as powers of ten
    assert not [w for w in recwarn if "overflow" in str(w.message)]
