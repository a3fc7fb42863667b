"""attention-scaling: Var(q . k) = d_k and softmax saturation (Vaswani et al. 2017, §3.2.1)."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

from conftest import topic4, topic4_module
from topicgen import experiments as E
from topicgen.errors import ParamError

A = topic4_module("attention_scaling")
FIGURES = topic4_module("attention_scaling_figures").FIGURES

NAME = topic4("attention-scaling")


@pytest.fixture(scope="module")
def quick():
    return E.run(NAME, E.resolve_params(NAME, "quick"), E.Context())


def test_variance_equals_d_k(quick):
    n = quick.params["samples"]
    for d in quick.params["d_k"]:
        assert abs(quick.scalars[f"var_ratio_dk{d}"] - 1) <= A.variance_tolerance(d, n)
    logit = quick.series["logit_variance"]
    for d, unscaled, scaled in zip(logit.x, logit.y["unscaled"], logit.y["scaled"], strict=True):
        assert scaled == pytest.approx(unscaled / d, rel=1e-12)  # measured through scale_logits
        assert quick.scalars[f"var_scaled_dk{d}"] == scaled


def test_quick_tolerance_is_six_standard_errors():
    # 20k samples: SE = sqrt(2/n) = 0.01 for wide keys, so 6 SE = 0.06, looser than 0.02.
    assert A.variance_tolerance(256, 20_000) == pytest.approx(6 * (2.0234375 / 20_000) ** 0.5)
    assert A.variance_tolerance(64, 200_000) == pytest.approx(0.02)


def test_standard_error_formula():
    # Var(S^2) = 2 d^2 + 6 d for S = q . k with Gaussian components, the basis of the tolerance.
    gen = torch.Generator().manual_seed(1)
    d = 4
    s = (torch.randn((1_000_000, d), generator=gen, dtype=torch.float64)
         * torch.randn((1_000_000, d), generator=gen, dtype=torch.float64)).sum(1)
    assert s.square().var().item() == pytest.approx(2 * d**2 + 6 * d, rel=0.05)


def test_saturation_matches_reference_values(quick):
    # An independent reference run with 4000 queries; 1000 here, so the slack is ~4 SE.
    s = quick.scalars
    assert s["max_weight_unscaled_dk64"] == pytest.approx(0.85, abs=0.03)
    assert s["saturated_fraction_unscaled_dk64"] == pytest.approx(0.31, abs=0.06)
    assert s["jacobian_norm_unscaled_dk64"] == pytest.approx(0.17, abs=0.02)
    assert s["jacobian_norm_unscaled_dk256"] == pytest.approx(0.099, abs=0.015)
    for d in quick.params["d_k"]:
        assert s[f"max_weight_scaled_dk{d}"] == pytest.approx(0.245, abs=0.015)
        assert s[f"jacobian_norm_scaled_dk{d}"] == pytest.approx(0.305, abs=0.015)
        assert s[f"saturated_fraction_scaled_dk{d}"] == 0.0


def test_jacobian_matches_autograd():
    gen = torch.Generator().manual_seed(0)
    z = (torch.randn(16, generator=gen, dtype=torch.float64) * 4).requires_grad_()
    p = z.softmax(dim=0)
    rows = [torch.autograd.grad(p[i], z, retain_graph=True)[0] for i in range(16)]
    closed = A.softmax_jacobian(p.detach()[None])[0]  # (16, 16), row i = dp_i/dz
    assert (closed - torch.stack(rows)).abs().max().item() < 1e-15


def test_spaced_keeps_values_a_factor_apart():
    assert A.spaced([64, 1, 2, 3, 4, 16, 20], 4) == [1, 4, 16, 64]


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_claims_pass(profile):
    result = E.run(NAME, E.resolve_params(NAME, profile), E.Context())
    ids = [c.id for c in result.claims]
    assert ids == ["logit-variance", "unscaled-saturation", "scaled-flat"]
    assert all(c.kind == "evidence" for c in result.claims)
    failed = [c for c in result.claims if not c.passed]
    assert not failed, failed


def test_claims_the_widths_cannot_show_say_not_judged():
    params = E.resolve_params(NAME, "quick", {"d_k": "1,2,3"})
    result = E.run(NAME, params, E.Context())
    assert [c.id for c in result.claims] == ["logit-variance", "unscaled-saturation",
                                             "scaled-flat"]
    assert result.claims[0].passed
    monotone, flat = result.claims[1:]
    assert monotone.passed is None and "two d_k >= 4, at least 4x apart" in monotone.not_judged
    assert flat.passed is None and "two d_k >= 4" in flat.not_judged
    # Two widths >= 4 but under 4x apart: the flatness is judged, the monotonicity is not.
    close = E.run(NAME, E.resolve_params(NAME, "quick", {"d_k": "8,16"}), E.Context())
    assert [c.passed for c in close.claims] == [True, None, True]


def test_flat_claim_uses_the_median_without_d_k_64():
    params = E.resolve_params(NAME, "quick", {"d_k": "8,32,128"})
    result = E.run(NAME, params, E.Context())
    flat = next(c for c in result.claims if c.id == "scaled-flat")
    assert "the median" in flat.measured and flat.passed


def test_scaled_statistics_stay_flat_at_a_seed_where_a_thousand_queries_strayed():
    result = E.run(NAME, E.resolve_params(NAME, "quick"), E.Context(seed=364))
    assert [c.passed for c in result.claims if c.id == "scaled-flat"] == [True]


def test_deterministic_per_seed():
    params = E.resolve_params(NAME, "quick", {"d_k": "4,64", "samples": "2000"})
    a = E.run(NAME, params, E.Context(seed=3)).scalars
    b = E.run(NAME, params, E.Context(seed=3)).scalars
    c = E.run(NAME, params, E.Context(seed=4)).scalars
    assert a == b
    assert a["var_ratio_dk64"] != c["var_ratio_dk64"]


@pytest.mark.parametrize(("key", "value"), [("d_k", "0"), ("samples", "10"), ("queries", "5")])
def test_bad_parameter_is_named(key, value):
    with pytest.raises(ParamError, match=key):
        E.resolve_params(NAME, "quick", {key: value})


def test_figures_draw(quick):
    for draw in FIGURES.values():
        assert isinstance(draw(quick), Figure)
