"""Planted bugs in norm-placement: each must make an evidence claim fail at the quick profile.

A bug is planted by recompiling one function of the experiment module with a line changed
(`mutate`), so the mutant is the real code with exactly one plausible mistake in it, and
the runner, which uses the same module object, runs it.
"""

from __future__ import annotations

import pytest
import torch

from conftest import evidence_failed, mutate, run_experiment, topic4_module

N = topic4_module("norm_placement")


def placements_swapped(monkeypatch, module):
    mutate(monkeypatch, module, "build_stacks", 'norm_first=placement == "pre"',
           'norm_first=placement == "post"')


def pre_ln_normalised_after_the_add(monkeypatch, module):
    # Lemma 2's Pre-LN block with its FFN sublayer written Post-LN style: LN(h + F(h)).
    mutate(monkeypatch, module, "xiong_block", "out = h + ffn(F.layer_norm(h, (d,)))",
           "out = F.layer_norm(h + ffn(h), (d,))")


def pre_ln_without_final_layer_norm(monkeypatch, module):
    mutate(monkeypatch, module, "read_out",
           'return F.layer_norm(state, state.shape[-1:]) if placement == "pre" else state',
           "return state")


def post_ln_scale_read_after_the_last_layer_norm(monkeypatch, module):
    mutate(monkeypatch, module, "xiong_block", "return F.layer_norm(post5, (d,)), post5",
           "return F.layer_norm(post5, (d,)), F.layer_norm(post5, (d,))")


def relu_dropped(monkeypatch, module):
    mutate(monkeypatch, module, "xiong_block",
           'hidden = torch.relu(torch.einsum("sbnd,sde->sbne", h, w_1))',
           'hidden = torch.einsum("sbnd,sde->sbne", h, w_1)')


def layer_profile_listed_output_first(monkeypatch, module):
    mutate(monkeypatch, module, "w2_gradients",
           "norms[depth] = torch.stack([g.norm() for g in grads])",
           "norms[depth] = torch.stack([g.norm() for g in grads][::-1])")


def lemma2_weights_unit_variance(monkeypatch, module):
    mutate(monkeypatch, module, "xiong_weights", "return out.div_(math.sqrt(out.shape[-1]))",
           "return out")


def linear_default_init_instead_of_xavier(monkeypatch, module):
    # nn.Linear's own default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), kept for every matrix.
    mutate(monkeypatch, module, "init_layer_", "nn.init.xavier_normal_(tensor, generator=gen)",
           "nn.init.kaiming_uniform_(tensor, a=math.sqrt(5), generator=gen)")


def dropout_left_at_default(monkeypatch, module):
    mutate(monkeypatch, module, "build_stacks", "dropout=0.0", "dropout=0.1")


MUTATIONS = {
    "Post-LN and Pre-LN swapped": placements_swapped,
    "LayerNorm applied after the residual add in Pre-LN": pre_ln_normalised_after_the_add,
    "Pre-LN without its final LayerNorm": pre_ln_without_final_layer_norm,
    "Post-LN scale read after the block's last LayerNorm":
        post_ln_scale_read_after_the_last_layer_norm,
    "ReLU dropped from the feed-forward net": relu_dropped,
    "layer profile listed output-first": layer_profile_listed_output_first,
    "Lemma 2 weights N(0, 1) instead of N(0, 1/d)": lemma2_weights_unit_variance,
    "nn.Linear's default init instead of Xavier": linear_default_init_instead_of_xavier,
    "dropout left at PyTorch's default 0.1": dropout_left_at_default,
}


def unscaled_perturbation(monkeypatch, module):
    mutate(monkeypatch, module, "amplification", "w.add_(EPSILON * w.std() * noise)",
           "w.add_(EPSILON * noise)")


# Bugs that only a sanity claim can catch. Liu's perturbation without its std(W) factor is
# about 12 times too large, but every amplification claim is a ratio (Post/Pre, L = 16 over
# L = 2) in which a common factor cancels, so only the identity ||W* - W|| = eps ||W|| sees it.
SANITY_MUTATIONS = {
    "Liu's perturbation not scaled by std(W)": unscaled_perturbation,
}


def run_quick():
    with torch.random.fork_rng(devices=[]):  # dropout, when planted, draws from the global RNG
        return run_experiment("norm-placement", "quick")


@pytest.mark.planted_bug("topic4", "norm-placement", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_planted_bug_fails_an_evidence_claim(monkeypatch, plant):
    plant(monkeypatch, N)
    result = run_quick()
    caught = evidence_failed(result)
    assert caught, [(c.id, c.verdict, c.measured) for c in result.claims]


@pytest.mark.planted_bug("topic4", "norm-placement", "sanity")
@pytest.mark.parametrize("plant", SANITY_MUTATIONS.values(), ids=SANITY_MUTATIONS.keys())
def test_planted_bug_fails_a_sanity_claim(monkeypatch, plant):
    plant(monkeypatch, N)
    result = run_quick()
    caught = [c.id for c in result.claims if c.passed is False and c.kind == "sanity"]
    assert caught, [(c.id, c.verdict, c.measured) for c in result.claims]


def test_without_a_bug_every_claim_holds():
    result = run_quick()
    assert [(c.id, c.kind) for c in result.claims] == [
        ("post-ln-scale", "evidence"), ("pre-ln-scale", "evidence"),
        ("pre-ln-grad-falls", "evidence"), ("post-pre-ratio", "evidence"),
        ("pre-ln-mechanism", "evidence"), ("post-ln-grad-flat", "evidence"),
        ("post-ln-top-heavy", "evidence"), ("pre-ln-bottom-heavy", "evidence"),
        ("amplification-ratio", "evidence"),
        ("amplification-growth", "evidence"), ("perturbation-size", "sanity")]
    assert all(c.passed for c in result.claims), result.claims
