"""layernorm: LN's exact Jacobian and invariances, LN against nn.LayerNorm, the depth sweep."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import run_experiment, topic4, topic4_module
from topicgen import experiments as E
from topicgen.errors import ParamError

ln = topic4_module("layernorm")

NAME = topic4("layernorm")


def run(profile: str = "quick", seed: int = 0, **overrides):
    return run_experiment(NAME, profile, seed, **overrides)


@pytest.fixture(scope="module")
def quick():
    return run()


def inputs(seeds: int = 3, width: int = 64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return ln.INPUT_MEAN + ln.INPUT_STD * torch.randn(seeds, width, generator=gen,
                                                      dtype=torch.float64)


def test_layer_norm_matches_pytorch_with_the_biased_variance():
    x = inputs()
    reference = torch.nn.LayerNorm(64, eps=0.0, elementwise_affine=False).double()
    torch.testing.assert_close(ln.layer_norm(x), reference(x), rtol=1e-12, atol=1e-12)
    # The trap: torch.var is unbiased by default, off by sqrt(H / (H - 1)).
    unbiased = (x - x.mean(-1, keepdim=True)) / x.var(-1, keepdim=True).sqrt()
    assert (unbiased - reference(x)).abs().max() > 1e-3


def test_jacobian_is_one_over_sigma_times_a_projection():
    """dLN/dx = (1/sigma)(I - 1 1^T / H - y y^T / H), the formula in the module docstring."""
    x = inputs()
    y = ln.layer_norm(x)  # (S, H)
    sigma = ln.rms(x - x.mean(-1, keepdim=True))
    eye = torch.eye(64, dtype=torch.float64)
    formula = (eye - 1 / 64 - y[:, :, None] * y[:, None, :] / 64) / sigma[:, None, None]
    torch.testing.assert_close(ln.ln_jacobian(x), formula, rtol=1e-12, atol=1e-14)
    reference = torch.autograd.functional.jacobian(
        torch.nn.LayerNorm(64, eps=0.0, elementwise_affine=False).double(), x[0])
    torch.testing.assert_close(ln.ln_jacobian(x)[0], reference, rtol=1e-12, atol=1e-14)


def test_jacobian_spectrum_is_h_minus_two_ones_and_two_zeros(quick):
    """An independent reference run measured 1/sigma = 0.3355 and two zeros of ~3e-17."""
    assert quick.scalars["ln_sv_max_rel_error"] <= 1e-12
    assert quick.scalars["ln_null_sv_max"] <= 1e-12
    assert quick.scalars["ln_inverse_sigma"] == pytest.approx(1 / 3, rel=0.1)
    scaled = quick.series["ln_singular_values"].y["measured"]
    assert scaled[:62] == pytest.approx([1.0] * 62, abs=1e-12)
    assert scaled[62:] == pytest.approx([0.0, 0.0], abs=1e-12)


@pytest.mark.parametrize("delta", [0.1, 2.7, 10.0])
def test_invariances_and_the_gradient_scale(delta):
    """LN ignores W -> delta W + 1 gamma^T and x -> 5x; dL/dW scales by 1/delta (Ba et al. 2016)."""
    result = run(weight_scale=delta, depth=1)
    assert result.scalars["invariance_weight_error"] <= 1e-12
    assert result.scalars["invariance_example_error"] <= 1e-12
    assert result.scalars["row_rescale_change"] > 0.01  # one row is not a whole-matrix change
    assert result.scalars["grad_ratio"] == pytest.approx(delta, rel=1e-12)


def test_layernorm_pins_the_scale_and_its_absence_drifts_by_the_gain(quick):
    assert quick.scalars["layernorm_rms_max_error"] <= 1e-12
    assert quick.series["activation_scale"].y["layernorm"] == pytest.approx([1.0] * 21, abs=1e-12)
    typical = 1.1 * math.exp(-1.25 / 64)
    band = ln.growth_tolerance(64, 20, 3)
    assert abs(quick.scalars["no_norm_growth_factor"] / typical - 1) <= band
    assert quick.scalars["no_norm_final_rms"] > 3  # 1.08^20 = 4.6: unmistakably not 1


def test_at_gain_one_the_he_stack_keeps_its_scale():
    result = run(gain=1.0, width=256, depth=50)
    assert result.scalars["no_norm_growth_factor"] == pytest.approx(1.0, abs=0.01)
    drift = next(c for c in result.claims if c.id == "no-norm-drift")
    assert drift.passed


def test_growth_band_is_the_drift_plus_five_standard_errors():
    assert ln.growth_tolerance(64, 50, 5) == pytest.approx(
        1.25 / 64 + 5 * 1.2 / math.sqrt(64 * 50 * 5))
    assert ln.growth_tolerance(64, 50, 5) < 0.07  # the full profile's band


def test_every_claim_passes_in_both_profiles(quick):
    ids = ["ln-jacobian-spectrum", "ln-invariance", "ln-gradient-scale", "ln-depth-scale",
           "no-norm-drift", "ln-layer-gradient"]
    for result in (quick, run("full")):
        assert [c.id for c in result.claims] == ids
        assert all(c.passed for c in result.claims), result.claims
        assert [c.kind for c in result.claims] == ["sanity"] * 4 + ["evidence"] * 2


def test_each_ln_layer_multiplies_the_mean_squared_gradient_by_one_over_one_minus_one_over_pi(
        quick):
    """sigma^2 = g^2 (1 - 1/pi) for ReLU(N(0, 2 g^2)); measured with this code: 1.569 in the
    quick profile (60 layers), 1.523 in the full one (250 layers), against 1.467."""
    assert pytest.approx(1 / (1 - 1 / math.pi)) == ln.LAYER_GAIN
    band = ln.layer_gain_tolerance(64, 20, 3)
    assert band == pytest.approx(2 / 64 + 5 * 2.8 / math.sqrt(64 * 20 * 3))
    assert abs(quick.scalars["ln_layer_gradient_gain"] / ln.LAYER_GAIN - 1) <= band
    # LN(ReLU(g W x)) = LN(ReLU(W x)) for g > 0: the layer gain does not see the gain at all
    # (only the first layer's input differs, and it is the same x_0 in both runs).
    other = run(gain=0.6)
    assert other.scalars["ln_layer_gradient_gain"] == pytest.approx(
        quick.scalars["ln_layer_gradient_gain"], rel=1e-9)


def test_one_ln_layer_jacobian_against_autograd_functional():
    gen = torch.Generator().manual_seed(1)
    w = math.sqrt(2 / 32) * torch.randn(2, 32, 32, generator=gen, dtype=torch.float64)
    x = torch.randn(2, 32, generator=gen, dtype=torch.float64)
    ours = ln.batch_jacobian(lambda z: ln.ln_layer(w, z), x)
    for seed in range(2):
        reference = torch.autograd.functional.jacobian(
            lambda z, seed=seed: torch.nn.functional.layer_norm(
                torch.relu(w[seed] @ z), (32,), eps=0.0), x[seed])
        torch.testing.assert_close(ours[seed], reference, rtol=1e-10, atol=1e-12)


def test_same_seed_same_numbers_other_seed_other_numbers(quick):
    again = run()
    assert again.scalars == quick.scalars
    assert again.series["activation_scale"].y == quick.series["activation_scale"].y
    other = run(seed=7)
    assert other.scalars["no_norm_growth_factor"] != quick.scalars["no_norm_growth_factor"]
    assert other.provenance["seeds"] == [7, 8, 9]


@pytest.mark.parametrize("override, message", [
    ({"width": "16"}, 'parameter "width" of "layernorm" must be 32 <= width <= 1024, got 16'),
    ({"weight_scale": "0"}, 'parameter "weight_scale" of "layernorm" must be '
                            "0.1 <= weight_scale <= 10.0, got 0.0"),
    ({"gain": "nan"}, 'parameter "gain" of "layernorm" must be 0.5 <= gain <= 2.0, got nan'),
])
def test_bad_parameters_name_the_parameter(override, message):
    with pytest.raises(ParamError) as error:
        E.resolve_params(NAME, "quick", override)
    assert error.value.message == message
