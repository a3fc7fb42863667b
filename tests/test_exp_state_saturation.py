"""state-saturation: saturation alone makes a recurrent gradient vanish, as the mean field says."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import evidence_failed, mutate, run_experiment, topic4_module

ss = topic4_module("state_saturation")


def run(profile: str = "quick", **overrides):
    return run_experiment("state-saturation", profile, **overrides)


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_every_claim_holds(profile):
    result = run(profile)
    assert {c.id: c.kind for c in result.claims} == {"mean-field-product": "evidence",
                                                     "committed-forgets": "evidence"}
    assert all(c.passed for c in result.claims), result.claims


def test_without_saturation_an_orthogonal_recurrence_keeps_the_gradient():
    """At a tiny drive tanh' ~ 1: the ratio stays near rho^k = 1, so all decay is saturation's."""
    result = run(drives="0.001,10", T=40)
    curves = result.series["gradient"].y
    assert abs(curves["s = 0.001"][-1]) < 0.01  # log10: within 2% of 1 after 40 steps
    assert curves["s = 10"][-1] < -20


def test_the_prediction_reads_the_states_only():
    """rho^k exactly for a state that never leaves 0 (no drive): every slope is 1, c_t = 0."""
    params = ss.Params(drives=(0.0001,), T=5, hidden=8, seeds=2)
    weights = ss.draw(params, ss.Context(seed=0))
    weights["drive"] = torch.zeros_like(weights["drive"])
    found = ss.measure(params, weights, 1.0)
    assert torch.allclose(found["predicted"], torch.zeros_like(found["predicted"]))
    assert torch.allclose(found["measured"], torch.zeros_like(found["measured"]), atol=1e-12)


def test_a_gradient_that_would_underflow_is_not_judged_but_a_missing_one_fails():
    deep = run(T=200, drives="100")
    assert [c.passed for c in deep.claims] == [None, None]
    assert "underflow" in deep.claims[0].not_judged


def test_a_drive_whose_gradient_underflowed_is_left_out_of_the_ordering():
    """At 8 units the mean field foresaw no underflow at s = 30, yet the gradient reached
    exactly 0 in every seed; its NaN compared as in order, and the claim passed on it."""
    result = run(hidden=8)
    assert math.isnan(result.scalars["log10_influence_6"])  # s = 30, the largest drive
    ordering = result.claims[1]
    assert ordering.passed is True
    assert ordering.measured.endswith("; left out where the gradient underflowed: s = 30")
    assert "nan" not in ordering.measured


def test_tiny_gradients_are_measured_without_squaring_them():
    """1e-200 squared underflows float64; the norm must still come out as 1e-200 * sqrt(2)."""
    g = torch.full((1, 2), 1e-200, dtype=torch.float64)
    assert ss.scaled_norm(g).item() == pytest.approx(math.sqrt(2) * 1e-200, rel=1e-12)


def test_above_rho_1_the_ordering_is_not_judged():
    result = run(rho=1.5)
    assert result.claims[1].passed is None and "rho <= 1" in result.claims[1].not_judged


# -- planted bugs: each must make an evidence claim fail ---------------------------------

def tanh_slope_dropped(monkeypatch):
    """tanh' dropped from the backward pass: the forward is tanh, the gradient passes as if
    the step were linear (a straight-through estimator by mistake)."""
    def step(h, q, rho, drive):
        a = rho * torch.einsum("snm,sm->sn", q, h) + drive
        return a + (torch.tanh(a) - a).detach()
    monkeypatch.setattr(ss, "step", step)


def slope_one_minus_abs(monkeypatch):
    mutate(monkeypatch, ss, "measure", "1 - state.detach().square()", "1 - state.detach().abs()")


def mean_slope_instead_of_rms(monkeypatch):
    mutate(monkeypatch, ss, "measure", "0.5 * m2.log()", "slopes.mean(2).log()")


def finite_width_drift_sign_flipped(monkeypatch):
    mutate(monkeypatch, ss, "measure", "- drift).flip(1)", "+ drift).flip(1)")


def state_not_carried(monkeypatch):
    """Each step reads h_0 instead of h_(t-1): the state never accumulates anything."""
    mutate(monkeypatch, ss, "measure", "h = step(h,", "h = step(states[0],")


def drive_ignored_after_the_first_step(monkeypatch):
    mutate(monkeypatch, ss, "measure", 's * weights["drive"][:, t]', 's * weights["drive"][:, 0]')


MUTATIONS = {
    "tanh' dropped from the backward pass": tanh_slope_dropped,
    "tanh' taken as 1 - |h| instead of 1 - h^2": slope_one_minus_abs,
    "mean slope instead of its root mean square": mean_slope_instead_of_rms,
    "finite-width drift added instead of subtracted": finite_width_drift_sign_flipped,
    "state not carried from step to step": state_not_carried,
    "one input repeated at every step": drive_ignored_after_the_first_step,
}


@pytest.mark.planted_bug("topic4", "state-saturation", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(plant, monkeypatch):
    plant(monkeypatch)
    assert evidence_failed(run()), run().claims
