"""norm-placement: Post-LN versus Pre-LN at init (Xiong et al. 2020; Liu et al. 2020)."""

from __future__ import annotations

import math

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from conftest import topic4, topic4_module
from topicgen import experiments as E
from topicgen.errors import ParamError

N = topic4_module("norm_placement")
FIGURES = topic4_module("norm_placement_figures").FIGURES
generator = topic4_module("_tensors").generator

NAME = topic4("norm-placement")
SMALL = {"depths": "2,4", "d_model": "32", "seeds": "3"}


@pytest.fixture(scope="module")
def quick():
    return E.run(NAME, E.resolve_params(NAME, "quick"), E.Context())


@pytest.mark.parametrize("norm_first", [False, True])
def test_xiong_block_matches_pytorch_layer(norm_first):
    """The batched Lemma 2 block is nn.TransformerEncoderLayer with W^Q = W^K = 0, W^O = I."""
    d = 8
    gen = generator(0)
    w_v, w_1, w_2 = (torch.randn((d, d), generator=gen, dtype=torch.float64) / math.sqrt(d)
                     for _ in range(3))
    x = torch.randn((2, 5, d), generator=gen, dtype=torch.float64)  # (B, n, d)
    layer = nn.TransformerEncoderLayer(d, 1, d, dropout=0.0, batch_first=True,
                                       norm_first=norm_first, dtype=torch.float64)
    with torch.no_grad():
        layer.self_attn.in_proj_weight.zero_()
        layer.self_attn.in_proj_weight[2 * d:] = w_v.T  # nn.Linear computes x W^T
        layer.self_attn.in_proj_bias.zero_()
        layer.self_attn.out_proj.weight.copy_(torch.eye(d))
        layer.self_attn.out_proj.bias.zero_()
        layer.linear1.weight.copy_(w_1.T)
        layer.linear1.bias.zero_()
        layer.linear2.weight.copy_(w_2.T)
        layer.linear2.bias.zero_()
        expected = layer.train()(x)
    out, state = N.xiong_block(x[None], w_v[None], w_1[None], w_2[None], norm_first)
    assert (out[0] - expected).abs().max().item() < 1e-12
    if not norm_first:  # the block's output is LN of the state Lemma 2 measures
        assert (nn.functional.layer_norm(state, (d,)) - out).abs().max().item() < 1e-12


def test_layers_are_xavier_with_zero_biases_and_shared_between_placements():
    params = N.Params(depths=(2,), d_model=64, heads=4, seeds=3)
    stacks = N.build_stacks(2, params, "cpu")
    N.init_stacks_(stacks, generator(0))
    layer = stacks["post"][0]
    d = 64
    in_proj = layer.self_attn.in_proj_weight  # (3d, d): fan_in d, fan_out 3d
    assert in_proj.std().item() == pytest.approx(math.sqrt(2 / (4 * d)), rel=0.05)
    assert layer.linear1.weight.std().item() == pytest.approx(math.sqrt(2 / (5 * d)), rel=0.05)
    assert layer.linear2.bias.abs().max().item() == 0
    assert layer.norm1.weight.eq(1).all()
    assert [layer.norm_first for layer in stacks["pre"]] == [True, True]
    assert [layer.norm_first for layer in stacks["post"]] == [False, False]
    for a, b in zip(stacks["pre"].parameters(), stacks["post"].parameters(), strict=True):
        assert torch.equal(a, b)
    assert layer.training and layer.dropout.p == 0  # no fused eval fast path


def test_amplification_perturbs_both_placements_alike():
    params = N.Params(depths=(2,), d_model=32, heads=4, seeds=3)
    stacks = N.build_stacks(2, params, "cpu")
    gen = generator(0)
    N.init_stacks_(stacks, gen)
    x = torch.randn((N.BATCH, N.TOKENS, 32), generator=gen, dtype=N.DTYPE)
    before = [w.detach().clone() for w in stacks["post"].parameters()]
    change, size = N.amplification(stacks, [1, 2], x, gen)
    assert change["pre"].shape == change["post"].shape == (2,)
    for a, b in zip(stacks["pre"].parameters(), stacks["post"].parameters(), strict=True):
        assert torch.equal(a, b)
    after = [w.detach() for w in stacks["post"].parameters()]
    moved = sum((w - w0).square().sum().item() for w, w0 in zip(after, before, strict=True))
    norm = sum(w0.square().sum().item() for w0 in before if w0.dim() == 2)  # matrices only
    assert size.item() == pytest.approx(math.sqrt(moved / norm), rel=1e-4)
    assert size.item() == pytest.approx(N.EPSILON, rel=N.PERTURBATION_SLACK)


def test_only_pre_ln_gets_a_final_layer_norm():
    x = 3 * torch.randn((2, 4, 16), generator=generator(0))
    assert torch.equal(N.read_out("post", x), x)
    pre = N.read_out("pre", x)
    assert pre.square().mean(-1).sub(1).abs().max().item() < 1e-3  # unit scale per token


def test_lemma2_hidden_scales(quick):
    s = quick.scalars
    assert abs(s["post_scale_mean"] - 1.5) <= 0.019  # 5 SE of 256 draws x 16 layers at d = 64
    assert abs(s["post_scale_worst"] - 1.5) <= N.SCALE_TOLERANCE
    assert s["pre_scale_lower_margin"] >= -N.SCALE_TOLERANCE
    assert s["pre_scale_upper_margin"] >= -N.SCALE_TOLERANCE
    layers = len(quick.series["hidden_scale"].x)
    # Measured 1.59 at layer 1 (1.5 + 1/n from the attention average of n = 16 tokens).
    assert s["pre_scale_first"] == pytest.approx(1.5 + 1 / N.TOKENS, abs=0.05)
    assert 1 + layers / 2 < s["pre_scale_last"] < 1 + 3 * layers / 2


def test_last_layer_gradients_match_reference_values(quick):
    # An independent reference run (4 seeds): Post 0.359, 0.393, 0.438, 0.471; Pre 0.281,
    # 0.233, 0.182, 0.145; Pre-LN stream scale 2.2, 3.5, 6.2, 11.6 for L = 2, 4, 8, 16.
    s = quick.scalars
    for L, post, pre, stream in [(2, 0.359, 0.281, 2.2), (4, 0.393, 0.233, 3.5),
                                 (8, 0.438, 0.182, 6.2), (16, 0.471, 0.145, 11.6)]:
        assert s[f"last_grad_post_L{L}"] == pytest.approx(post, rel=0.2)
        assert s[f"last_grad_pre_L{L}"] == pytest.approx(pre, rel=0.2)
        assert s[f"stream_scale_pre_L{L}"] == pytest.approx(stream, rel=0.2)


def test_amplification_matches_reference_values(quick):
    # An independent reference run: Post 1.26 and Pre 1.11 at L = 2 (seed spread ~3%); at
    # L = 16 Post-LN is several times Pre-LN (13.4 versus 5.0).
    s = quick.scalars
    assert s["amplification_post_L2"] == pytest.approx(1.26, abs=0.1)
    assert s["amplification_pre_L2"] == pytest.approx(1.11, abs=0.1)
    assert s["amplification_post_L16"] > 2 * s["amplification_pre_L16"]


def test_profile_is_top_heavy_for_post_ln(quick):
    profile = quick.series["layer_grad"]
    assert len(profile.x) == max(quick.params["depths"])
    pre, post = profile.y["pre"], profile.y["post"]
    assert post[-1] / post[0] > pre[-1] / pre[0]
    assert pre[-1] < pre[0]  # Pre-LN leans towards the input (Xiong's Fig. 3(a,b) has it flat)


IDS = ["post-ln-scale", "pre-ln-scale", "pre-ln-grad-falls", "post-pre-ratio",
       "pre-ln-mechanism", "post-ln-grad-flat", "post-ln-top-heavy", "pre-ln-bottom-heavy",
       "amplification-ratio", "amplification-growth", "perturbation-size"]


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_claims_pass(profile):
    result = E.run(NAME, E.resolve_params(NAME, profile), E.Context())
    assert [c.id for c in result.claims] == IDS
    failed = [c for c in result.claims if not c.passed]
    assert not failed, failed


def test_lemma2_tolerances_follow_the_draws():
    """+-0.08 per layer (5 SE of 256 draws at d = 64 is 0.076); the mean over L layers /sqrt(L)."""
    assert 5 * math.sqrt(N.COLLAPSED_VARIANCE / (64 * 256)) == pytest.approx(0.0757, abs=1e-4)
    result = E.run(NAME, E.resolve_params(NAME, "quick", {"lemma_draws": "64"}), E.Context())
    claim = result.claims[0]
    assert claim.tolerance.startswith("each layer ±0.15, the mean ±0.038")
    assert claim.passed


def test_a_single_depth_judges_only_lemma2():
    params = E.resolve_params(NAME, "quick", {"depths": "1", "d_model": "32", "seeds": "3"})
    result = E.run(NAME, params, E.Context())
    assert [c.id for c in result.claims] == IDS  # never silently dropped
    judged = [c.id for c in result.claims if c.passed is not None]
    assert judged == ["post-ln-scale", "pre-ln-scale", "perturbation-size"]
    assert all(c.passed for c in result.claims if c.passed is not None)
    reasons = {c.id: c.not_judged for c in result.claims}
    assert reasons["pre-ln-grad-falls"] == "needs two depths >= 2, at least 2x apart"
    assert reasons["post-ln-grad-flat"] == "needs two depths between 2 and 32"
    assert reasons["post-ln-top-heavy"] == "needs a depth >= 2"
    assert reasons["pre-ln-bottom-heavy"] == "needs a depth >= 4"
    assert reasons["amplification-ratio"].startswith("needs at least 6 seeds")


@pytest.mark.parametrize("seed", [1365, 1379])
def test_amplification_ratio_holds_where_seed_noise_reversed_neighbouring_depths(seed):
    """Post/Pre fell from L = 8 to L = 16 (2.19 -> 2.17): the trend is judged 4x apart."""
    result = E.run(NAME, E.resolve_params(NAME, "quick"), E.Context(seed=seed))
    assert [c.passed for c in result.claims if c.id == "amplification-ratio"] == [True]


def test_amplification_is_judged_only_with_enough_seeds():
    result = E.run(NAME, E.resolve_params(NAME, "quick", SMALL), E.Context())
    assert "amplification_post_L4" in result.scalars
    amplification = [c for c in result.claims if c.id.startswith("amplification")]
    assert [c.verdict for c in amplification] == ["not judged", "not judged"]
    assert amplification[0].not_judged == ("needs at least 6 seeds: Liu's output change "
                                           "varies tenfold between networks")
    enough = E.run(NAME, E.resolve_params(NAME, "quick", {**SMALL, "seeds": "6"}), E.Context())
    growth = [c for c in enough.claims if c.id == "amplification-growth"]
    assert growth[0].not_judged == "needs depths 2 and 16"


def test_deterministic_per_seed():
    params = E.resolve_params(NAME, "quick", SMALL)
    a = E.run(NAME, params, E.Context(seed=5)).scalars
    b = E.run(NAME, params, E.Context(seed=5)).scalars
    c = E.run(NAME, params, E.Context(seed=6)).scalars
    assert a == b
    assert a["last_grad_post_L4"] != c["last_grad_post_L4"]


def test_run_leaves_global_random_state_alone():
    state = torch.random.get_rng_state()
    E.run(NAME, E.resolve_params(NAME, "quick", SMALL), E.Context())
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize(("overrides", "key"), [
    ({"depths": "0"}, "depths"), ({"seeds": "1"}, "seeds"), ({"d_model": "8"}, "d_model")])
def test_bad_parameter_is_named(overrides, key):
    with pytest.raises(ParamError, match=key):
        E.resolve_params(NAME, "quick", overrides)


def test_heads_must_divide_the_width():
    with pytest.raises(ParamError) as error:
        E.resolve_params(NAME, "quick", {"heads": "5"})
    assert error.value.message == ('parameter "heads" of "norm-placement" must divide '
                                   "d_model = 64, got 5")


def test_figures_draw(quick):
    for draw in FIGURES.values():
        assert isinstance(draw(quick), Figure)
