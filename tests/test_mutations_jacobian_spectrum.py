"""Planted bugs in jacobian-spectrum: each must make an evidence claim fail at the quick profile.

A bug is planted by recompiling one function of the experiment module with a line changed
(`mutate`), so the mutant is the real code with exactly one plausible mistake in it, and
the runner, which uses the same module object, runs it.
"""

from __future__ import annotations

import pytest

from conftest import evidence_failed, mutate, run_experiment, topic4_module

js = topic4_module("jacobian_spectrum")


LINEAR_GAUSSIAN = {"weights": "gaussian", "activations": "linear"}
TANH_ORTHOGONAL = {"weights": "orthogonal", "activations": "tanh"}


def unit_variance_weights(monkeypatch, module):
    mutate(monkeypatch, module, "draw_layer",
           "return torch.stack(draws) / math.sqrt(width)", "return torch.stack(draws)")
    return LINEAR_GAUSSIAN


def tanh_slope_dropped(monkeypatch, module):
    mutate(monkeypatch, module, "singular_values",
           "jac[act] = slope[:, :, None] * (w @ jac[act])", "jac[act] = w @ jac[act]")
    return TANH_ORTHOGONAL


def tanh_slope_one_layer_late(monkeypatch, module):
    # D_l read off the layer's input x_(l-1) instead of its output: tanh'(.) one layer late.
    mutate(monkeypatch, module, "singular_values",
           """x[act] = torch.tanh(torch.einsum("sij,sj->si", w, x[act]))  # (S, N)
                slope = 1 - x[act] ** 2""",
           """slope = 1 - x[act] ** 2
                x[act] = torch.tanh(torch.einsum("sij,sj->si", w, x[act]))  # (S, N)""")
    return TANH_ORTHOGONAL


def spread_of_s_not_s_squared(monkeypatch, module):
    mutate(monkeypatch, module, "run", "variance = (sv**2).var(dim=2, correction=0)",
           "variance = sv.var(dim=2, correction=0)")
    return LINEAR_GAUSSIAN


def product_not_accumulated(monkeypatch, module):
    mutate(monkeypatch, module, "singular_values", "jac[act] = w @ jac[act]", "jac[act] = w")
    return LINEAR_GAUSSIAN


# bug name -> plant(monkeypatch, module) returning the parameter overrides that keep the
# run small while the claim that catches it is still judged.
MUTATIONS = {
    "Gaussian weights with variance 1 instead of 1/N": unit_variance_weights,
    "tanh' dropped from the Jacobian": tanh_slope_dropped,
    "tanh' taken one layer late (at the layer's input)": tanh_slope_one_layer_late,
    "spread of s instead of s^2": spread_of_s_not_s_squared,
    "Jacobian product not accumulated (only the last factor)": product_not_accumulated,
}
# Not a bug here: one matrix reused, W^L, as an RNN would. The squared singular values of a
# Gaussian matrix's powers follow the same Fuss-Catalan law as a product of independent
# factors, so Var(s^2) -> L all the same (measured 1.01, 2.05, 4.24, 9.61 at N = 128).


@pytest.mark.planted_bug("topic4", "jacobian-spectrum", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_planted_bug_fails_an_evidence_claim(monkeypatch, plant):
    overrides = plant(monkeypatch, js)
    result = run_experiment("jacobian-spectrum", "quick", **overrides)
    caught = evidence_failed(result)
    assert caught, [(c.id, c.verdict, c.measured) for c in result.claims]


def test_without_a_bug_every_claim_holds():
    result = run_experiment("jacobian-spectrum", "quick")
    assert [(c.id, c.kind) for c in result.claims] == [
        ("gaussian-variance", "evidence"), ("orthogonal-variance", "sanity"),
        ("orthogonal-isometry", "sanity"), ("tanh-contraction", "sanity"),
        ("tanh-mean-field", "evidence")]
    assert all(c.passed for c in result.claims), result.claims


@pytest.mark.parametrize("overrides", [LINEAR_GAUSSIAN, TANH_ORTHOGONAL])
def test_without_a_bug_the_small_runs_hold_too(overrides):
    """The shrunken runs the bugs are planted in pass their judged claims when the code is right."""
    result = run_experiment("jacobian-spectrum", "quick", **overrides)
    judged = [c for c in result.claims if c.passed is not None]
    assert any(c.kind == "evidence" for c in judged)
    assert all(c.passed for c in judged), judged
