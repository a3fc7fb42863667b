"""gradient-clipping: the clip_grad_norm_ contract and the single-unit cliff (Pascanu 2013)."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import topic4, topic4_module
from topicgen import experiments as E
from topicgen.errors import ParamError

gc = topic4_module("gradient_clipping")
figures = topic4_module("gradient_clipping_figures")

NAME = topic4("gradient-clipping")


@pytest.fixture(scope="module")
def quick():
    return E.run(NAME, E.resolve_params(NAME, "quick"), E.Context())


def test_quick_claims_pass(quick):
    failed = [(c.id, c.measured) for c in quick.claims if not c.passed]
    assert not failed
    assert {c.id for c in quick.claims} == {
        "norm-clipping-exact", "value-clipping-turns", "clipped-norm-bounded",
        "linear-derivatives", "bistable-band", "memory-vanishes", "cliff-on-band-edge",
        "no-catapult", "catapult-strands"}
    evidence = {c.id for c in quick.claims if c.kind == "evidence"}
    assert evidence == {"bistable-band", "memory-vanishes", "cliff-on-band-edge",
                        "catapult-strands"}


def test_a_stored_bit_loses_its_gradient_at_the_rate_bengio_predicts(quick):
    """w = 5, b = -2.5: attractors at +-1.7760 with slope 0.619144; started 1e-3 off them,
    the rate over 200 steps is 0.619150 and 0.619138; on the boundary x = 0, 1.25 exactly."""
    s = quick.scalars
    assert s["attractor_lower_x"] == pytest.approx(-1.7760, abs=1e-4)
    assert s["attractor_upper_x"] == pytest.approx(1.7760, abs=1e-4)
    assert s["attractor_upper_slope"] == pytest.approx(0.619144, abs=1e-6)
    assert s["attractor_lower_rate"] == pytest.approx(0.619150, abs=2e-6)
    assert s["attractor_upper_rate"] == pytest.approx(0.619138, abs=2e-6)
    assert s["attractor_boundary_rate"] == s["attractor_boundary_slope"] == 1.25


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"threshold": "3"}, "needs 0.3 <= lr * c <= 1"),
    ({"starts": "10"}, "the comparison needs 5"),
    # Every start catapulted: the rate of "the other starts" was NaN, and the claim failed.
    ({"lr": "100", "threshold": "0.01"}, "needs 5 that were not"),
])
def test_stranding_claim_says_why_it_is_not_judged(overrides, reason):
    params = E.resolve_params(NAME, "quick", {"steps": "60", "train_steps": "5",
                                             "grid_density": "20", **overrides})
    result = E.run(NAME, params, E.Context())
    (claim,) = [c for c in result.claims if c.id == "catapult-strands"]
    assert claim.passed is None and reason in claim.not_judged
    assert not any(c.failed for c in result.claims)


def test_catapults_strand_plain_descent_and_clipping_keeps_it_off(quick):
    s = quick.scalars
    assert s["descent_catapulted_starts"] >= 5
    assert s["descent_unclipped_stranded_catapulted"] == 1.0  # every catapult strands
    assert s["descent_clipped_stranded_catapulted"] == 0.0  # clipped, none of those starts


def test_clip_grad_norm_contract(quick):
    s = quick.scalars
    assert s["clip_norm_rel_error_float64"] <= 1e-12  # only rounding once the epsilon is used
    assert s["clip_returned_rel_error_float64"] <= 1e-12  # returns the norm *before* clipping
    assert s["clip_min_cosine_float64"] == pytest.approx(1.0, abs=1e-12)
    assert s["clip_norm_rel_error_float32"] <= 1e-5
    assert s["clip_value_cosine"] < 0.999


def test_bistable_band_at_w5(quick):
    s = quick.scalars
    assert s["band_lower_theory"] == pytest.approx(-2.6556, abs=1e-4)
    assert s["band_upper_theory"] == pytest.approx(-2.3444, abs=1e-4)
    assert abs(s["band_lower"] - s["band_lower_theory"]) <= 2e-3
    assert abs(s["band_upper"] - s["band_upper_theory"]) <= 2e-3


def fixed_points(w: float, b: float) -> int:
    """How many x solve x = w sigmoid(x) + b: sign changes on a fine grid."""
    x = torch.linspace(-20, 20, 400_001, dtype=torch.float64)
    gap = w * torch.sigmoid(x) + b - x
    return int((gap[1:].sign() != gap[:-1].sign()).sum())


@pytest.mark.parametrize("w", [4.5, 5.0, 7.0])
def test_band_edges_bound_the_bistable_region(w):
    lower, upper = (edge.item() for edge in gc.band_edges(torch.tensor(w, dtype=torch.float64)))
    assert lower < upper
    # Three fixed points (two stable, one unstable) just inside the band, one just outside.
    assert fixed_points(w, lower + 1e-3) == 3
    assert fixed_points(w, upper - 1e-3) == 3
    assert fixed_points(w, lower - 1e-3) == 1
    assert fixed_points(w, upper + 1e-3) == 1


def test_linear_derivatives_match_closed_form():
    assert gc.linear_derivatives(50, "cpu") <= 1e-9
    # Spot values at w = 1: dx/dw = T x0 = 25, d2x/dw2 = T(T-1) x0 = 1225.
    w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    x = torch.tensor(gc.X0, dtype=torch.float64)
    for _ in range(50):
        x = w * x
    (first,) = torch.autograd.grad(x, w, create_graph=True)
    (second,) = torch.autograd.grad(first, w)
    assert first.item() == pytest.approx(25.0, rel=1e-12)
    assert second.item() == pytest.approx(1225.0, rel=1e-12)


def test_cliff_is_steep_and_on_the_band_edge(quick):
    s = quick.scalars
    assert s["surface_max_grad_norm"] / s["surface_median_grad_norm"] >= 100
    assert s["surface_argmax_w"] >= 4  # only there does the band exist
    assert s["surface_argmax_edge_distance"] <= 0.05


def test_clipping_bounds_training_norm_and_every_step(quick):
    s, p = quick.scalars, quick.params
    assert s["train_clipped_max_norm_after"] <= p["threshold"] * (1 + 1e-12)
    assert s["train_clipped_max_norm_before"] > p["threshold"]  # the runs do hit the wall
    assert s["descent_clipped_max_step"] <= p["lr"] * p["threshold"] * (1 + 1e-12)
    assert s["descent_unclipped_max_step"] > 5 * p["lr"] * p["threshold"]
    series = quick.series["grad_norm_during_training"]
    assert set(series.y) >= {"unclipped", "clipped"}
    assert len(series.x) == p["train_steps"]
    assert max(series.y["clipped"]) <= p["threshold"] * (1 + 1e-12)


def test_clip_rows_equals_clip_grad_norm_per_model():
    gen = torch.Generator().manual_seed(3)
    grads = torch.randn(6, 2, generator=gen, dtype=torch.float64) * torch.tensor(
        [[1e-3], [0.5], [1.0], [3.0], [40.0], [1e6]], dtype=torch.float64)
    ours = gc.clip_rows(grads, 1.0)
    for row, mine in zip(grads, ours, strict=True):
        params = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in range(2)]
        for p, g in zip(params, row, strict=True):
            p.grad = g.clone()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        reference = torch.stack([p.grad for p in params])
        assert torch.allclose(mine, reference, rtol=1e-14, atol=0)


def test_deterministic_and_seed_dependent():
    params = E.resolve_params(NAME, "quick", {"steps": "20", "train_steps": "10",
                                             "starts": "64"})
    first = E.run(NAME, params, E.Context(seed=0)).scalars
    again = E.run(NAME, params, E.Context(seed=0)).scalars
    other = E.run(NAME, params, E.Context(seed=1)).scalars
    assert first == again
    assert first["descent_unclipped_max_step"] != other["descent_unclipped_max_step"]
    assert first["train_unclipped_final_loss"] != other["train_unclipped_final_loss"]


@pytest.mark.parametrize(("key", "value"), [("T", "30"), ("threshold", "0"),
                                            ("grid_density", "100"), ("seeds", "0")])
def test_bad_parameter_is_named(key, value):
    with pytest.raises(ParamError, match=f'"{key}"'):
        E.resolve_params(NAME, "quick", {key: value})


def test_figures_draw(quick):
    for draw in figures.FIGURES.values():
        fig = draw(quick)
        assert fig.axes


def test_full_profile_reproduces_the_published_cliff():
    result = E.run(NAME, E.resolve_params(NAME, "full"), E.Context())
    assert all(c.passed for c in result.claims), [c for c in result.claims if not c.passed]
    s = result.scalars
    # Measured with this code: surface max/median ~1500 at (4.575, -2.35), on the band edge;
    # unclipped descent: longest step 489, 7% catapults.
    ratio = s["surface_max_grad_norm"] / s["surface_median_grad_norm"]
    assert ratio == pytest.approx(1506, rel=0.01)
    assert (s["surface_argmax_w"], s["surface_argmax_b"]) == pytest.approx((4.575, -2.35))
    assert s["descent_unclipped_max_step"] == pytest.approx(489, rel=0.01)
    assert s["descent_unclipped_catapult_fraction"] == pytest.approx(0.073, abs=0.005)
    assert s["descent_clipped_max_step"] <= 1 + 1e-12
    assert math.isclose(s["descent_unclipped_success_fraction"], 0.653, abs_tol=0.01)
    # All 146 catapulted starts end stranded unclipped, none clipped (others: 15% and 11%).
    assert s["descent_catapulted_starts"] == 146
    assert s["descent_unclipped_stranded_catapulted"] == 1.0
    assert s["descent_clipped_stranded_catapulted"] == 0.0


def test_bounds_that_clipping_never_had_to_enforce_are_not_judged():
    """With a threshold far above every gradient they would hold with clipping removed."""
    params = E.resolve_params(NAME, "quick", {"threshold": "1000", "lr": "100", "steps": "5",
                                             "train_steps": "5", "starts": "10"})
    verdicts = {c.id: c for c in E.run(NAME, params, E.Context()).claims}
    for id in ("clipped-norm-bounded", "no-catapult"):
        assert verdicts[id].passed is None, verdicts[id]
        assert "clipping never acted" in verdicts[id].not_judged
        assert verdicts[id].kind == "sanity"
