"""residual-depth: planted bugs that at least one evidence claim must catch at the quick profile.

Each mutation is a slip a student or a careless refactor could make in the stacks; the
experiment's evidence claims (not its sanity identities) must fail for every one of them.
"""

from __future__ import annotations

import math

import pytest
import torch

from conftest import evidence_failed, run_experiment, topic4_module

MODULE = topic4_module("residual_depth")


def residual_update(step):
    """A `forward` whose residual layer is `step(x, update, w_l, b_l, depth)`; the plain and
    zero-init stacks stay as they are."""
    original = MODULE.forward

    def forward(stack, w, b, x, shortcut=1.0):
        if stack != "residual":
            return original(stack, w, b, x, shortcut)
        depth = w.shape[1]
        for layer in range(depth):
            update = MODULE.branch(w[:, layer], b[:, layer], x)
            x = step(x, update, w[:, layer], b[:, layer], depth)
        return x

    return forward


def post_activation(x, update, w, b, depth):
    """tanh after the addition, as in the original ResNet's ReLU after the sum."""
    return torch.tanh(x + (torch.einsum("sij,sbj->sbi", w, x) + b[:, None, :]) / math.sqrt(depth))


STEPS = {
    "shortcut dropped": lambda x, u, w, b, depth: u,
    "residual branch added twice": lambda x, u, w, b, depth: x + u / math.sqrt(depth)
    + u / math.sqrt(depth),
    "branch not divided by sqrt(L)": lambda x, u, w, b, depth: x + u,
    "branch divided by L instead of sqrt(L)": lambda x, u, w, b, depth: x + u / depth,
    "nonlinearity after the addition": post_activation,
}


def plant_step(name):
    def plant(monkeypatch, module):
        monkeypatch.setattr(module, "forward", residual_update(STEPS[name]))
    return plant


def init_bound_one_over_n(monkeypatch, module):
    """nn.Linear's bound written as 1/N instead of 1/sqrt(N)."""
    def draw_stack(depth, width, gens, device):
        w, b = original(depth, width, gens, device)
        return w / math.sqrt(width), b / math.sqrt(width)
    original = module.draw_stack
    monkeypatch.setattr(module, "draw_stack", draw_stack)


def gaussian_init(monkeypatch, module):
    """Weights N(0, 1) per entry: the 1/sqrt(N) of the init forgotten altogether."""
    def draw_stack(depth, width, gens, device):
        w, b = original(depth, width, gens, device)
        return w * math.sqrt(3 * width), b
    original = module.draw_stack
    monkeypatch.setattr(module, "draw_stack", draw_stack)


MUTATIONS = {
    **{name: plant_step(name) for name in STEPS},
    "init bound 1/N instead of 1/sqrt(N)": init_bound_one_over_n,
    "init without the 1/sqrt(N)": gaussian_init,
}


def test_without_a_bug_every_claim_holds():
    result = run_experiment("residual-depth", "quick")
    assert all(c.passed for c in result.claims), result.claims
    kinds = {c.id: c.kind for c in result.claims}
    assert kinds == {"shortcut-law": "sanity", "zero-init-identity": "sanity",
                     "plain-vs-residual": "evidence", "residual-mean-field": "evidence"}


@pytest.mark.planted_bug("topic4", "residual-depth", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(plant, monkeypatch):
    plant(monkeypatch, MODULE)
    result = run_experiment("residual-depth", "quick")
    assert evidence_failed(result), result.claims
