"""jacobian-spectrum: Gaussian spread ~ L, orthogonal isometry (Pennington 2017), the tanh bound."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import run_experiment, topic4, topic4_module
from topicgen import experiments as E
from topicgen.errors import ParamError

js = topic4_module("jacobian_spectrum")
generator = topic4_module("_tensors").generator

NAME = topic4("jacobian-spectrum")


def run(profile: str = "quick", seed: int = 0, **overrides):
    return run_experiment(NAME, profile, seed, **overrides)


@pytest.fixture(scope="module")
def quick():
    return run()


def test_exact_finite_width_mean_has_the_known_limits():
    n = 50
    assert js.expected_variance(n, 1) == pytest.approx(1 + 1 / n - 2 / n**2, rel=1e-14)  # Wishart
    assert js.expected_variance(10**7, 8) == pytest.approx(8, rel=1e-5)  # Pennington et al.'s L
    assert js.expected_variance(384, 8) / 8 - 1 == pytest.approx(0.0119, abs=1e-4)


def test_exact_finite_width_mean_matches_many_narrow_draws():
    """The Wick recursion against 600 draws at N = 16, where the finite-N excess is ~20%."""
    result = run(width=16, depths="1,3", seeds=600, weights="gaussian", activations="linear")
    for depth in (1, 3):
        mean = result.scalars[f"gaussian_variance_L{depth}"]
        standard_error = result.scalars[f"gaussian_variance_L{depth}_std"] / math.sqrt(600)
        assert abs(mean - js.expected_variance(16, depth)) < 4 * standard_error
    assert js.expected_variance(16, 3) / 3 > 1.1  # so the test tells the two apart


def test_gaussian_variance_grows_like_depth(quick):
    """Var(s^2) ~ L at N = 128: 1, 2, 4, 8 within the band of the quick profile's 24 seeds."""
    assert quick.params["seeds"] == 24
    assert js.law_tolerance(128, 5, 8) == pytest.approx(0.526, abs=0.005)  # 5 seeds: too wide
    for depth, tolerance in ((1, 0.15), (2, 0.15), (4, 0.15), (8, 0.260)):
        assert js.law_tolerance(128, 24, depth) == pytest.approx(tolerance, abs=0.005)
        measured = quick.scalars[f"gaussian_variance_L{depth}"]
        assert abs(measured / depth - 1) <= tolerance
    assert quick.scalars["gaussian_variance_L1"] == pytest.approx(1.0, abs=0.05)


def test_full_width_judges_every_depth_up_to_eight_at_fifteen_percent():
    assert [js.law_tolerance(384, 8, d) for d in (1, 2, 4, 8)] == [0.15] * 4


def test_orthogonal_products_are_exact_isometries_at_any_depth():
    result = run(depths="1,10,60", weights="orthogonal", activations="linear", width=32)
    assert result.scalars["orthogonal_sv_max_error"] <= 1e-12
    assert result.scalars["orthogonal_variance_max"] < 1e-25
    assert result.series["sv_largest"].y["orthogonal"] == pytest.approx([0.0] * 3, abs=1e-13)


def test_tanh_shrinks_singular_values_below_one_but_never_above(quick):
    assert quick.scalars["orthogonal_tanh_sv_max"] <= 1
    assert quick.scalars["orthogonal_tanh_sv_median_deepest"] < 0.5  # well inside tanh's curve
    median = quick.series["sv_median"].y["orthogonal + tanh"]
    assert all(later < earlier for earlier, later in zip(median, median[1:], strict=False))


def test_tanh_at_zero_input_is_the_linear_network():
    """tanh'(0) = 1: with x_0 = 0 the tanh Jacobian is the linear one, to rounding."""
    result = run(input_std=0.0, depths="1,4", weights="orthogonal", width=16)
    assert result.scalars["orthogonal_tanh_sv_max"] == pytest.approx(1.0, abs=1e-13)
    assert result.series["sv_median"].y["orthogonal + tanh"] == pytest.approx(
        result.series["sv_median"].y["orthogonal"], abs=1e-13)


def test_hand_written_jacobian_product_matches_autograd():
    """J_L = D_L W_L ... D_1 W_1 against autograd through the forward pass, float64."""
    params = E.resolve_params(NAME, "quick", {"width": "16", "depths": "3", "seeds": "2",
                                              "weights": "gaussian", "activations": "tanh"})
    ours = js.singular_values("gaussian", params, E.Context())["gaussian + tanh"][3]  # (2, 16)
    gens = [generator(0), generator(1)]  # the streams singular_values draws from, in order
    x0 = torch.stack([torch.randn(16, generator=g, dtype=torch.float64) for g in gens])
    layers = [js.draw_layer("gaussian", gens, 16, "cpu") for _ in range(3)]
    for seed in range(2):
        def net(x, seed=seed):
            for w in layers:
                x = torch.tanh(w[seed] @ x)
            return x
        jac = torch.autograd.functional.jacobian(net, x0[seed])
        torch.testing.assert_close(ours[seed], torch.linalg.svdvals(jac), rtol=1e-12, atol=1e-14)


def test_every_claim_passes_in_the_quick_profile(quick):
    assert [(c.id, c.kind) for c in quick.claims] == [
        ("gaussian-variance", "evidence"), ("orthogonal-variance", "sanity"),
        ("orthogonal-isometry", "sanity"), ("tanh-contraction", "sanity"),
        ("tanh-mean-field", "evidence")]
    assert all(c.passed for c in quick.claims), quick.claims


def test_mean_field_product_of_slopes():
    """chi_1 = E[tanh'(z)^2] = 0.4644 at q = 1; zero input keeps every slope at 1."""
    assert js.mean_field_mean_square(1.0, [1])[0] == pytest.approx(0.46440, abs=1e-4)
    assert js.mean_field_mean_square(0.0, [1, 8]) == [1.0, 1.0]
    theory = js.mean_field_mean_square(1.0, [1, 2, 4, 8])
    assert all(b < a for a, b in zip(theory, theory[1:], strict=False))


def test_tanh_mean_square_follows_mean_field(quick):
    theory = js.mean_field_mean_square(1.0, [1, 2, 4, 8])
    tolerance = js.mean_field_tolerance(128, 24)
    assert tolerance == pytest.approx(0.168, abs=0.002)
    for depth, expected in zip((1, 2, 4, 8), theory, strict=True):
        measured = quick.scalars[f"orthogonal_tanh_mean_square_L{depth}"]
        assert abs(measured / expected - 1) <= tolerance


@pytest.mark.slow
def test_every_claim_passes_in_the_full_profile():
    result = run("full")
    assert len(result.claims) == 5 and all(c.passed for c in result.claims), result.claims
    assert js.mean_field_tolerance(384, 8) == pytest.approx(0.152, abs=0.002)
    assert result.scalars["gaussian_variance_L8"] == pytest.approx(8, rel=0.15)


IDS = ["gaussian-variance", "orthogonal-variance", "orthogonal-isometry", "tanh-contraction",
       "tanh-mean-field"]


def judged(result) -> list[str]:
    """Every claim is listed whatever ran; those these parameters cannot judge say why."""
    assert [c.id for c in result.claims] == IDS
    assert all(c.not_judged for c in result.claims if c.passed is None)
    return [c.id for c in result.claims if c.passed is not None]


def test_claims_follow_the_cases_and_depths_that_ran():
    deep_only = run(depths="16,32", width=32, activations="linear")
    assert judged(deep_only) == ["orthogonal-variance", "orthogonal-isometry"]
    assert deep_only.claims[0].not_judged == "needs a depth L <= 8 with 3.5 L / N <= 0.25 (N = 32)"
    assert deep_only.claims[4].not_judged == "needs weights orthogonal and activations tanh"
    narrow = run(width=16, depths="1,2,4", weights="gaussian", activations="linear")
    # 3.5 L / N <= 0.25 only at L = 1
    assert narrow.claims[0].expected == r"$\operatorname{Var}(s^2) = L$ at $L = 1$"
    assert judged(narrow) == ["gaussian-variance"]
    tanh_only = run(activations="tanh", width=32, depths="2")
    assert judged(tanh_only) == ["tanh-contraction", "tanh-mean-field"]
    assert all(c.passed for c in tanh_only.claims if c.passed is not None)
    too_deep = run(activations="tanh", weights="orthogonal", width=16, depths="20")
    assert judged(too_deep) == ["tanh-contraction"]
    assert too_deep.claims[4].not_judged.startswith("needs a depth L <= 16")


def test_same_seed_same_numbers_other_seed_other_numbers(quick):
    again = run()
    assert again.scalars == quick.scalars
    assert again.series["sv_spread"].y == quick.series["sv_spread"].y
    other = run(seed=7)
    assert other.scalars["gaussian_variance_L4"] != quick.scalars["gaussian_variance_L4"]
    assert other.provenance["seeds"] == list(range(7, 7 + 24))


def test_series_contract(quick):
    spread = quick.series["sv_spread"]
    assert spread.x == [1, 2, 4, 8]
    assert {"gaussian", "orthogonal", "gaussian + tanh", "orthogonal + tanh"} <= set(spread.y)
    assert spread.y[js.THEORY_LIMIT] == [1.0, 2.0, 4.0, 8.0]
    assert set(spread.y_std) == set(spread.y) - {js.THEORY_LIMIT, js.THEORY_EXACT}


@pytest.mark.parametrize("override, message", [
    ({"width": "8"}, 'parameter "width" of "jacobian-spectrum" must be 16 <= width <= 2048, '
                     "got 8"),
    ({"weights": "uniform"}, 'parameter "weights" of "jacobian-spectrum" must be one of '
                             "gaussian, orthogonal, got 'uniform'"),
    ({"depths": "0,4"}, 'parameter "depths" of "jacobian-spectrum" must be 1 <= depths <= 1000, '
                        "got 0"),
])
def test_bad_parameters_name_the_parameter(override, message):
    with pytest.raises(ParamError) as error:
        E.resolve_params(NAME, "quick", override)
    assert error.value.message == message
