"""gradient-decay: the rho^k law and Pascanu's bound, the cells against PyTorch, determinism."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import topic4, topic4_module
from topicgen import experiments
from topicgen.errors import ParamError

gd = topic4_module("gradient_decay")
haar_orthogonal = topic4_module("_tensors").haar_orthogonal

CTX = experiments.Context()


def run(profile: str = "quick", **overrides):
    params = experiments.resolve_params(topic4("gradient-decay"), profile,
                                        {k: str(v) for k, v in overrides.items()})
    return experiments.run(topic4("gradient-decay"), params, CTX)


@pytest.mark.parametrize("rho", [0.9, 1.0, 1.1])
def test_linear_rnn_follows_rho_to_the_k_exactly(rho):
    result = run(cells="linear", rho=rho, T=50, hidden=32)
    norms = result.series["grad_norm"].y["linear"]
    for k, norm in enumerate(norms):
        assert norm == pytest.approx(rho**k, rel=1e-10)
    assert result.scalars["decay_factor_linear"] == pytest.approx(rho, rel=1e-10)


def test_float32_linear_law_holds_to_float32_precision():
    result = run(cells="linear", rho=0.9, T=60, dtype="float32")
    assert 0 < result.scalars["linear_max_rel_error"] <= 1e-4
    assert [c.id for c in result.claims if c.passed] == ["linear-law"]


def test_float32_underflow_is_exact_then_total():
    """0.5^k is exact to float32 rounding up to k = 100 and exactly 0 from k = 160."""
    result = run(cells="linear", rho=0.5, T=200, hidden=16, dtype="float32")
    claim = next(c for c in result.claims if c.id == "float32-underflow")
    assert claim.passed, claim
    assert 147 <= result.scalars["float32_first_zero_k"] <= 152
    assert "float32-underflow" not in {c.id for c in run(cells="linear").claims}  # float64


@pytest.mark.parametrize("rho", [0.1, 0.3])
def test_float32_underflow_holds_at_any_rho_that_reaches_it(rho):
    """Where exactness ends and zero begins follows rho (rho^k = 2^-100 and 2^-160)."""
    result = run(cells="linear", rho=rho, T=gd.zero_from(rho) + 20, hidden=16, dtype="float32")
    claim = next(c for c in result.claims if c.id == "float32-underflow")
    assert claim.passed, claim
    assert gd.precise_up_to(rho) < result.scalars["float32_first_zero_k"] <= gd.zero_from(rho)


def test_float32_rounding_grows_with_the_steps_it_is_judged_over():
    """One rounded matrix applied k times: 57 products of 20 seeds of two units (rho = 0.3,
    first seed 1000) left 1.3e-5, more than a fixed 1e-5, less than eight units per step."""
    overrides = {"cells": "linear", "rho": "0.3", "T": str(gd.zero_from(0.3) + 20),
                 "hidden": "2", "dtype": "float32", "seeds": "20"}
    params = experiments.resolve_params(topic4("gradient-decay"), "quick", overrides)
    result = experiments.run(topic4("gradient-decay"), params, experiments.Context(seed=1000))
    assert result.scalars["float32_rel_error_early"] > 1e-5
    assert next(c for c in result.claims if c.id == "float32-underflow").passed


def test_above_one_half_float32_rounding_can_hold_a_gradient_at_the_smallest_subnormal():
    """0.7 x 2^-149 rounds back to 2^-149: one unit's gradient never reaches zero, so the
    claim that it does is judged only at rho <= 1/2."""
    result = run(cells="linear", rho=0.7, T=gd.zero_from(0.7) + 20, hidden=1, dtype="float32")
    assert result.scalars["float32_nonzero_late"] > 0
    assert result.series["grad_norm"].y["linear"][-1] == 2.0**-149
    claim = next(c for c in result.claims if c.id == "float32-underflow")
    assert claim.passed is None and "rho <= 0.5" in claim.not_judged


def test_float64_norms_stay_exact_where_their_squares_would_underflow():
    """0.5^1100 is about 1e-331: its entries' squares underflow long before (k ~ 510)."""
    result = run(cells="linear", rho=0.5, T=1000, hidden=16)
    norms = result.series["grad_norm"].y["linear"]
    assert norms[900] == pytest.approx(0.5**900, rel=1e-10)
    assert next(c for c in result.claims if c.id == "linear-law").passed


def test_float32_underflow_is_never_read_as_a_measurement():
    """0.5^200 is exactly 0.0 in float32 (below its 1e-45 floor); the fit must skip it."""
    result = run(cells="linear", rho=0.5, T=200, hidden=8, dtype="float32")
    assert result.series["grad_norm"].y["linear"][-1] == 0.0
    assert math.isnan(result.series["log10_grad_norm"].y["linear"][-1])
    assert result.scalars["decay_factor_linear"] == pytest.approx(0.5, rel=1e-5)


def test_tanh_rnn_vanishes_although_the_sufficient_condition_fails():
    result = run("full", cells="rnn")
    assert result.scalars["decay_factor_rnn_max"] < 1
    # Pascanu's sufficient condition fails: default init has lambda_1 ~ 1.15 > 1 ...
    assert result.scalars["rnn_largest_singular_value"] == pytest.approx(1.15, abs=0.05)
    # ... yet the measured per-step decay is ~0.57, near the spectral radius (~0.6).
    assert result.scalars["decay_factor_rnn"] == pytest.approx(0.57, abs=0.05)


def test_gated_cells_decay_slower_than_the_tanh_rnn_at_default_init():
    scalars = run("full").scalars
    assert scalars["decay_factor_lstm"] > scalars["decay_factor_rnn"]
    assert scalars["decay_factor_gru"] > scalars["decay_factor_rnn"]


def test_every_claim_passes_in_both_profiles():
    for profile in ("quick", "full"):
        result = run(profile)
        assert {c.id for c in result.claims} == {"linear-law", "vanishes-above-the-bound",
                                                 "tanh-falls-fastest", "tanh-share"}
        assert all(c.passed for c in result.claims), result.claims


def test_exploding_linear_rnn_is_a_result_not_a_crash():
    result = run(cells="linear", rho=100.0, T=300, hidden=4, dtype="float32")
    data = result.to_json_dict()
    assert "series.grad_norm.y.linear" in data["flags"]["nonfinite"]
    assert None in data["series"]["grad_norm"]["y"]["linear"]


@pytest.mark.parametrize("cell, reference", [
    ("rnn", torch.nn.RNNCell), ("lstm", torch.nn.LSTMCell), ("gru", torch.nn.GRUCell)])
def test_hand_written_cells_match_pytorch(cell, reference):
    hidden, seeds = 6, 3
    weights = gd.init_weights(cell, hidden, seeds, 0, 1.0, torch.float64, "cpu")
    x = torch.randn(seeds, gd.INPUT_SIZE, dtype=torch.float64)
    h = torch.randn(seeds, hidden, dtype=torch.float64)
    c = torch.randn(seeds, hidden, dtype=torch.float64)
    ours_h, ours_c = gd.STEPS[cell](weights, x, h, c)
    for s in range(seeds):
        module = reference(gd.INPUT_SIZE, hidden).double()
        with torch.no_grad():
            for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
                getattr(module, name.replace("w_", "weight_").replace("b_", "bias_")).copy_(
                    weights[name][s])
        if cell == "lstm":
            ref_h, ref_c = module(x[s:s + 1], (h[s:s + 1], c[s:s + 1]))
            torch.testing.assert_close(ours_c[s:s + 1], ref_c, rtol=1e-12, atol=1e-12)
        else:
            ref_h = module(x[s:s + 1], h[s:s + 1])
        torch.testing.assert_close(ours_h[s:s + 1], ref_h, rtol=1e-12, atol=1e-12)


def test_default_init_matches_pytorch_bounds():
    weights = gd.init_weights("lstm", 16, 2, 0, 1.0, torch.float64, "cpu")
    assert weights["w_hh"].shape == (2, 64, 16)
    assert weights["w_hh"].abs().max() <= 1 / math.sqrt(16)


def test_haar_orthogonal_is_orthogonal_and_seeded():
    q = haar_orthogonal(32, torch.Generator().manual_seed(1), torch.float64, "cpu")
    torch.testing.assert_close(q @ q.T, torch.eye(32, dtype=torch.float64), rtol=0, atol=1e-12)
    again = haar_orthogonal(32, torch.Generator().manual_seed(1), torch.float64, "cpu")
    assert torch.equal(q, again)


def test_same_seed_same_numbers_other_seed_other_numbers():
    first, second = run(), run()
    assert first.scalars == second.scalars
    assert first.series["grad_norm"].y == second.series["grad_norm"].y
    params = experiments.resolve_params(topic4("gradient-decay"), "quick")
    other = experiments.run(topic4("gradient-decay"), params, experiments.Context(seed=7))
    assert other.scalars["decay_factor_rnn"] != first.scalars["decay_factor_rnn"]
    assert other.provenance["seeds"] == list(range(7, 17))


def test_contract_series_shape():
    result = run(T=25)
    series = result.series["grad_norm"]
    assert series.x == list(range(25))
    assert set(series.y) == {"rnn", "lstm", "gru", "linear"}
    assert series.y["rnn"][0] == pytest.approx(1.0)  # ||dL/dh_T|| = ||v|| = 1
    assert set(series.y_std) == set(series.y)


@pytest.mark.parametrize("override, message", [
    ({"T": "0"}, 'parameter "T" of "gradient-decay" must be 2 <= T <= 5000, got 0'),
    ({"rho": "0"}, 'parameter "rho" of "gradient-decay" must be 1e-06 <= rho <= 100.0, got 0.0'),
    ({"cells": ""}, 'parameter "cells" of "gradient-decay" must be one of rnn, lstm, gru, '
                    "linear, got an empty list"),
    ({"dtype": "float16"}, 'parameter "dtype" of "gradient-decay" must be one of float32, '
                           "float64, got 'float16'"),
])
def test_bad_parameters_name_the_parameter_and_range(override, message):
    with pytest.raises(ParamError) as error:
        experiments.resolve_params(topic4("gradient-decay"), "quick", override)
    assert error.value.message == message


def test_tanh_slope_accounts_for_the_tanh_rnns_extra_decay():
    """The ratio to the same weights run linearly is the rms of tanh', to about 2%."""
    result = run("full")
    assert result.scalars["tanh_share_ratio"] == pytest.approx(1, abs=0.02)
    assert 0.9 < result.scalars["tanh_rms_slope"] < 0.97  # small states: tanh' near 1


@pytest.mark.parametrize("seed", [682, 691, 980, 1033])
def test_the_order_of_the_cells_holds_at_seeds_where_five_seeds_failed_it(seed):
    """With five seeds, these first seeds' margin (two standard errors of the seed means)
    exceeded the gap between the tanh RNN and the gated cells; the claim holds there."""
    params = experiments.resolve_params(topic4("gradient-decay"), "quick")
    result = experiments.run(topic4("gradient-decay"), params, experiments.Context(seed=seed))
    assert [c.passed for c in result.claims if c.id == "tanh-falls-fastest"] == [True]


@pytest.mark.parametrize("T", [2, 3, 8])
def test_fitted_factors_are_not_judged_on_a_few_steps(T):
    """Past the first quarter of 8 steps the fit holds a few points of the transient (the
    order failed there for some seeds); with T = 2 or 3 it has one or two points."""
    result = run(T=T)
    verdicts = {c.id: c for c in result.claims}
    for id in ("vanishes-above-the-bound", "tanh-falls-fastest"):
        assert verdicts[id].passed is None and "T >= 16" in verdicts[id].not_judged
    assert verdicts["linear-law"].passed


def test_the_tanh_share_is_not_judged_where_the_gradient_underflowed():
    """At the largest T the tanh RNN's gradient leaves float64's range before the fit
    starts: the ratio was NaN, and the claim failed on it."""
    result = run(T=5000, cells="rnn,linear")
    assert not math.isfinite(result.scalars["decay_factor_rnn"])
    (share,) = [c for c in result.claims if c.id == "tanh-share"]
    assert share.passed is None and "no per-step factor" in share.not_judged


def test_one_seed_orders_nothing_and_warns_about_nothing(recwarn):
    result = run(seeds=1)
    (order,) = [c for c in result.claims if c.id == "tanh-falls-fastest"]
    assert order.passed is None and "two seeds" in order.not_judged
    assert math.isnan(result.scalars["tanh_share_ratio_std"])
    assert not [w for w in recwarn if "degrees of freedom" in str(w.message)]
