"""attention-scaling: planted bugs that at least one evidence claim must catch at the quick profile.

Each mutation is a slip a student or a careless refactor could make in the scaled dot product,
the draws or the softmax statistics; an evidence claim must fail for every one of them.
"""

from __future__ import annotations

import pytest
import torch

from conftest import evidence_failed, run_experiment, topic4_module

MODULE = topic4_module("attention_scaling")


def set_scale(function):
    def plant(monkeypatch, module):
        monkeypatch.setattr(module, "scale_logits", function)
    return plant


def uniform_draws(monkeypatch, module):
    """torch.rand for torch.randn: components U(0, 1), mean 1/2 and variance 1/12."""
    monkeypatch.setattr(module, "draw", lambda shape, gen, device: torch.rand(
        shape, generator=gen, device=device))


def softmax_over_queries(monkeypatch, module):
    """softmax(dim=0): each key's weights normalised over the queries, not each query's over
    its keys."""
    def softmax_statistics(logits):
        p = logits.softmax(dim=0)
        jacobian = module.softmax_jacobian(p)
        top = p.amax(dim=1)
        return {"max_weight": top.mean().item(),
                "saturated_fraction": (top > module.SATURATED).double().mean().item(),
                "jacobian_norm": torch.linalg.matrix_norm(jacobian).mean().item()}

    monkeypatch.setattr(module, "softmax_statistics", softmax_statistics)


def jacobian_without_outer_product(monkeypatch, module):
    """d softmax/dz taken as diag(p), the - p p^T forgotten."""
    monkeypatch.setattr(module, "softmax_jacobian", lambda p: torch.diag_embed(p))


def jacobian_without_diagonal(monkeypatch, module):
    """d softmax/dz taken as - p p^T, the diag(p) forgotten."""
    monkeypatch.setattr(module, "softmax_jacobian", lambda p: -p[:, :, None] * p[:, None, :])


MUTATIONS = {
    "no 1/sqrt(d_k)": set_scale(lambda logits, d_k: logits),
    "scaled by 1/d_k instead of 1/sqrt(d_k)": set_scale(lambda logits, d_k: logits / d_k),
    "scaled by the base model's 1/sqrt(64) at every d_k": set_scale(lambda logits, d_k: logits / 8),
    "uniform draws instead of normal": uniform_draws,
    "softmax over the queries instead of the keys": softmax_over_queries,
    "softmax Jacobian without - p p^T": jacobian_without_outer_product,
    "softmax Jacobian without diag(p)": jacobian_without_diagonal,
}


def test_without_a_bug_every_claim_holds():
    result = run_experiment("attention-scaling", "quick")
    assert all(c.passed for c in result.claims), result.claims
    assert {c.id: c.kind for c in result.claims} == {
        "logit-variance": "evidence", "unscaled-saturation": "evidence",
        "scaled-flat": "evidence"}


@pytest.mark.planted_bug("topic4", "attention-scaling", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(plant, monkeypatch):
    plant(monkeypatch, MODULE)
    result = run_experiment("attention-scaling", "quick")
    assert evidence_failed(result), result.claims
