"""layernorm: planted bugs that at least one evidence claim must catch at the quick profile.

LN's identities (RMS 1, the Jacobian's spectrum, the invariances) are sanity claims: they
catch a wrong LN too, but only because they restate what LN computes. The evidence claims
are statistical: the no-norm stack's growth by the gain per layer, and each LN layer's
gradient factor 1/(1 - 1/pi). Every bug in MUTATIONS must fail one of those.
"""

from __future__ import annotations

import math

import pytest
import torch

from conftest import run_experiment, topic4_module

MODULE = topic4_module("layernorm")


def set_layer_norm(function):
    def plant(monkeypatch, module):
        monkeypatch.setattr(module, "layer_norm", function)
    return plant


def without_centring(x):
    """x / RMS(x): RMSNorm, not LayerNorm."""
    return x / x.pow(2).mean(-1, keepdim=True).sqrt()


def over_variance(x):
    """(x - mu) / sigma^2: the square root forgotten."""
    centered = x - x.mean(-1, keepdim=True)
    return centered / centered.pow(2).mean(-1, keepdim=True)


def unbiased(x):
    """(x - mu) / std with torch.var's default Bessel correction: off by sqrt(H / (H - 1))."""
    centered = x - x.mean(-1, keepdim=True)
    return centered / x.var(-1, keepdim=True).sqrt()


def with_eps(x):
    """nn.LayerNorm's default eps = 1e-5 inside the square root."""
    centered = x - x.mean(-1, keepdim=True)
    return centered / (centered.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()


def lecun_init(monkeypatch, module):
    """He's N(0, 2/N) written as N(0, 1/N): the factor 2 for the ReLU forgotten."""
    original = module.sweep_weights

    def sweep_weights(n, gain, gens, device):
        return original(n, gain, gens, device) / math.sqrt(2)

    monkeypatch.setattr(module, "sweep_weights", sweep_weights)


def relu_dropped(monkeypatch, module):
    """The sweep's layers left linear."""
    monkeypatch.setattr(module, "sweep_layer",
                        lambda w, x: torch.einsum("sij,s...j->s...i", w, x))


def ln_before_relu(monkeypatch, module):
    """ReLU(LN(W x)) instead of LN(ReLU(W x)): the output is no longer normalised."""
    monkeypatch.setattr(module, "ln_layer", lambda w, x: torch.relu(
        module.layer_norm(torch.einsum("sij,s...j->s...i", w, x))))


MUTATIONS = {
    "LayerNorm without centring": set_layer_norm(without_centring),
    "LayerNorm divides by the variance, not its square root": set_layer_norm(over_variance),
    "He init without the factor 2": lecun_init,
    "ReLU dropped from the sweep": relu_dropped,
    "LayerNorm before the ReLU": ln_before_relu,
}

# Bugs that change LN's output by a constant factor only. LN's scale invariance hides them
# from every statistical measurement (each layer's gradient factor is scale-free), so only
# the sanity identities can catch them: RMS = 1 and the 1/sigma spectrum.
SANITY_ONLY = {
    "unbiased variance (torch.var's default)": set_layer_norm(unbiased),
    "eps = 1e-5 inside the square root": set_layer_norm(with_eps),
}


def failed(result, kind):
    return [c.id for c in result.claims if c.passed is False and c.kind == kind]


def test_without_a_bug_every_claim_holds():
    result = run_experiment("layernorm", "quick")
    assert all(c.passed for c in result.claims), result.claims
    assert {c.id: c.kind for c in result.claims} == {
        "ln-jacobian-spectrum": "sanity", "ln-invariance": "sanity",
        "ln-gradient-scale": "sanity", "ln-depth-scale": "sanity",
        "no-norm-drift": "evidence", "ln-layer-gradient": "evidence"}


@pytest.mark.planted_bug("topic4", "layernorm", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(plant, monkeypatch):
    plant(monkeypatch, MODULE)
    result = run_experiment("layernorm", "quick")
    assert failed(result, "evidence"), result.claims


@pytest.mark.planted_bug("topic4", "layernorm", "sanity")
@pytest.mark.parametrize("plant", SANITY_ONLY.values(), ids=SANITY_ONLY.keys())
def test_a_scale_only_bug_fails_a_sanity_claim(plant, monkeypatch):
    plant(monkeypatch, MODULE)
    result = run_experiment("layernorm", "quick")
    assert "ln-depth-scale" in failed(result, "sanity"), result.claims
