"""gate-saturation: saturated gates versus weight scale, sigma' <= 1/4, gates in [0, 1]."""

from __future__ import annotations

import pytest
import torch

from conftest import topic4, topic4_module
from topicgen import experiments as E
from topicgen.errors import ParamError

gs = topic4_module("gate_saturation")
figures = topic4_module("gate_saturation_figures")

NAME = topic4("gate-saturation")


@pytest.fixture(scope="module")
def quick():
    return E.run(NAME, E.resolve_params(NAME, "quick"), E.Context())


def test_quick_claims_pass(quick):
    assert [c.id for c in quick.claims if c.passed is False] == []
    kinds = {c.id: c.kind for c in quick.claims}
    for cell in ("lstm", "gru"):
        for claim in ("saturation-rises", "saturation-floor", "slope-ceiling",
                      "first-step-gaussian", "trained-gates-saturate"):
            assert kinds.pop(f"{claim}-{cell}") == "evidence"
        for claim in ("slope-bound", "gates-in-unit-interval", "cell-matches-pytorch"):
            assert kinds.pop(f"{claim}-{cell}") == "sanity"
    assert kinds == {}
    assert all(c.passed is not None for c in quick.claims)  # the training claim included


def test_a_run_too_short_to_learn_says_so_instead_of_vanishing():
    params = E.resolve_params(NAME, "quick", {"train_steps": "40", "scales": "1,8"})
    not_judged = {c.id: c.not_judged for c in E.run(NAME, params, E.Context()).claims
                  if c.passed is None}
    assert set(not_judged) == {"trained-gates-saturate-lstm", "trained-gates-saturate-gru"}
    assert "needs train_steps >= 200" in not_judged["trained-gates-saturate-gru"]


def test_one_scale_has_no_trend_to_judge():
    params = E.resolve_params(NAME, "quick", {"scales": "4", "train_steps": "1"})
    claims = {c.id: c for c in E.run(NAME, params, E.Context()).claims}
    assert claims["saturation-rises-lstm"].passed is None
    assert "two scales" in claims["saturation-rises-lstm"].not_judged
    assert claims["saturation-floor-lstm"].passed is True  # the bounds hold at any one scale


def test_input_only_theory_brackets_the_sweep(quick):
    bounds = quick.series["input_only_bounds"]
    measured = quick.series["saturated_fraction"]
    slopes = quick.series["mean_gate_slope"]
    for cell in ("lstm", "gru"):
        # Measured with this code: floor 0.74 under 0.82 (LSTM) and 0.87 (GRU) at s = 32.
        assert bounds.y[f"floor_{cell}"][-1] == pytest.approx(0.735, abs=0.01)
        assert all(f <= m + 1e-9 for f, m in zip(bounds.y[f"floor_{cell}"], measured.y[cell],
                                                  strict=True))
        assert all(m <= c for m, c in zip(slopes.y[cell], bounds.y[f"ceiling_{cell}"],
                                          strict=True))
        assert bounds.y[f"ceiling_{cell}"][0] == pytest.approx(0.2487, abs=1e-3)
        assert quick.scalars[f"first_step_error_ratio_{cell}"] < 1


def test_saturation_rises_from_none_at_default_init(quick):
    series = quick.series["saturated_fraction"]
    default = series.x.index(1.0)
    for cell in ("lstm", "gru"):
        fractions = series.y[cell]
        # PyTorch's default init leaves every gate in its linear region...
        assert fractions[default] < 0.01
        # ...and 32 times larger weights saturate most of them.
        assert fractions[-1] > 0.5
        steps = zip(fractions, fractions[1:], strict=False)
        assert all(b >= a - gs.MONOTONE_SLACK for a, b in steps)


def test_sigmoid_slope_peaks_at_a_quarter_at_zero():
    a = torch.linspace(-10, 10, 2001, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(torch.sigmoid(a).sum(), a)
    assert slope.max().item() == 0.25
    assert abs(a[slope.argmax()].item()) < 1e-12  # linspace puts its middle point at ~0


def test_gate_slope_never_exceeds_a_quarter(quick):
    for cell in ("lstm", "gru"):
        assert quick.scalars[f"max_gate_slope_{cell}"] <= 0.25
        slopes = quick.series["mean_gate_slope"].y[cell]
        assert slopes[0] > 0.24  # small weights: sigma'(a) ~ sigma'(0)
        assert slopes[-1] < 0.05  # saturated gates pass little gradient
        assert slopes == sorted(slopes, reverse=True)


def test_gates_and_states_stay_bounded(quick):
    for cell in ("lstm", "gru"):
        assert quick.scalars[f"min_gate_{cell}"] >= 0
        assert quick.scalars[f"max_gate_{cell}"] <= 1
        assert quick.scalars[f"max_abs_h_{cell}"] <= 1


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_hand_written_cell_equals_pytorch(cell):
    torch.manual_seed(0)
    reference = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell](
        gs.INPUT_SIZE, 32, dtype=torch.float64)
    weights = {name: getattr(reference, f"weight_{name[2:]}" if name[0] == "w" else
                             f"bias_{name[2:]}").detach()[None] for name in
               ("w_ih", "w_hh", "b_ih", "b_hh")}
    x = torch.randn(1, 4, gs.INPUT_SIZE, dtype=torch.float64)
    h = torch.randn(1, 4, 32, dtype=torch.float64)
    c = torch.randn(1, 4, 32, dtype=torch.float64)
    ours_h, ours_c, _ = gs.STEPS[cell](weights, x, h, c)
    if cell == "lstm":
        ref_h, ref_c = reference(x[0], (h[0], c[0]))
        assert torch.allclose(ours_c[0], ref_c, rtol=1e-12, atol=1e-14)
    else:
        ref_h = reference(x[0], h[0])
    assert torch.allclose(ours_h[0], ref_h, rtol=1e-12, atol=1e-14)


def test_training_pushes_gates_into_saturation():
    params = E.resolve_params(NAME, "quick", {"train_steps": "120", "cells": "gru",
                                             "scales": "1", "seeds": "2"})
    result = E.run(NAME, params, E.Context())
    s = result.scalars
    assert s["train_saturated_first_gru"] == 0  # default init: nothing saturated
    assert s["train_saturated_last_gru"] > 0.05
    assert s["train_loss_last_gru"] < 0.1  # learned the marked-value task (baseline 1)
    assert len(result.series["saturation_during_training"].x) == 120


def test_deterministic_and_seed_dependent():
    params = E.resolve_params(NAME, "quick", {"train_steps": "5", "scales": "1,8"})
    first = E.run(NAME, params, E.Context(seed=0)).scalars
    assert first == E.run(NAME, params, E.Context(seed=0)).scalars
    other = E.run(NAME, params, E.Context(seed=1)).scalars
    assert first["saturated_at_largest_scale_lstm"] != other["saturated_at_largest_scale_lstm"]


@pytest.mark.parametrize(("key", "value"), [("hidden", "8"), ("cells", "lstm,rnn"),
                                            ("scales", "1,-2"), ("batch", "4")])
def test_bad_parameter_is_named(key, value):
    with pytest.raises(ParamError, match=f'"{key}"'):
        E.resolve_params(NAME, "quick", {key: value})


def test_figures_draw(quick):
    for draw in figures.FIGURES.values():
        assert draw(quick).axes


@pytest.mark.slow
def test_full_profile_claims_pass():
    result = E.run(NAME, E.resolve_params(NAME, "full"), E.Context())
    assert [c.id for c in result.claims if c.passed is not True] == []
    for cell in ("lstm", "gru"):
        assert result.scalars[f"train_saturated_last_{cell}"] > 0.02
