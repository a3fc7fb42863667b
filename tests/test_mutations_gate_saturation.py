"""gate-saturation: planted bugs that an evidence claim must catch at the quick profile.

Each entry of MUTATIONS plants one plausible bug in the experiment module (a student's slip or
a careless refactor) with monkeypatch; the run must then fail at least one *evidence* claim.
SANITY_ONLY lists bugs that no measurement can see, because they only relabel a gate whose
weights are drawn from a symmetric distribution; the sanity claim against torch.nn catches them.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from conftest import evidence_failed, run_experiment, topic4_module

NAME = "gate-saturation"
# The training claim is judged from 200 steps on; one cell and one scale keep that fast.
TRAINING = {"cells": "gru", "scales": "1", "seeds": 2, "train_steps": 200}


def one_sided(monkeypatch, module):
    """Only gates stuck open (> 0.95) counted; those stuck shut (< 0.05) forgotten."""
    monkeypatch.setattr(module, "saturated", lambda pre: torch.sigmoid(pre) > 1 - module.SATURATED)


def threshold_on_pre_activation(monkeypatch, module):
    """The 0.95 threshold compared with |a| instead of with the gate value sigma(a)."""
    monkeypatch.setattr(module, "saturated", lambda pre: pre.abs() > 1 - module.SATURATED)


def _with_scales(monkeypatch, module, rescale):
    sweep = module.scale_sweep

    def scale_sweep(cell, params, inputs, ctx):
        scales = tuple(rescale(s) for s in params.scales)
        return sweep(cell, dataclasses.replace(params, scales=scales), inputs, ctx)
    monkeypatch.setattr(module, "scale_sweep", scale_sweep)


def scale_ignored(monkeypatch, module):
    """The sweep's weights never multiplied by s: every scale runs the default init."""
    _with_scales(monkeypatch, module, lambda s: 1.0)


def scale_applied_twice(monkeypatch, module):
    """The scale applied once when drawing and once more in the sweep: s^2."""
    _with_scales(monkeypatch, module, lambda s: s * s)


def _with_slope(monkeypatch, module, slope_of):
    statistics = module.step_statistics

    def step_statistics(pre, h):
        stats = statistics(pre, h)
        slope = slope_of(torch.sigmoid(pre))
        stats["mean_slope"], stats["max_slope"] = slope.mean((1, 2)), slope.amax((1, 2))
        return stats
    monkeypatch.setattr(module, "step_statistics", step_statistics)


def tanh_derivative(monkeypatch, module):
    """sigma' written as tanh's derivative, 1 - sigma^2."""
    _with_slope(monkeypatch, module, lambda gate: 1 - gate ** 2)


def slope_taken_as_a_half(monkeypatch, module):
    """sigma'(0) taken as 1/2: sigma' written 2 sigma (1 - sigma)."""
    _with_slope(monkeypatch, module, lambda gate: 2 * gate * (1 - gate))


def hidden_state_not_fed_back(monkeypatch, module):
    """The step's new h dropped (`_, c, pre = step(...)`): the cell has no memory."""
    for cell, step in list(module.STEPS.items()):
        monkeypatch.setitem(module.STEPS, cell,
                            lambda w, x, h, c, step=step: (h, *step(w, x, h, c)[1:]))


def optimizer_never_steps(monkeypatch, module):
    """zero_grad moved after backward in a refactor: Adam steps on zero gradients."""
    def train(cell, params, ctx):
        weights = module.init_weights(cell, params.hidden, params.seeds, ctx.seed, ctx.device)
        gen = module.generator(ctx.seed, ctx.device)
        readout = module.uniform((params.seeds, params.hidden), 1 / math.sqrt(params.hidden),
                                 gen, module.DTYPE, ctx.device)
        leaves = [*weights.values(), readout]
        for leaf in leaves:
            leaf.requires_grad_()
        optimizer = module.Adam(leaves, lr=params.lr)
        fractions, losses = [], []
        for _ in range(params.train_steps):
            inputs, target = module.marked_value_batch(params.seeds, params.batch, gen,
                                                       ctx.device)
            h, stats = module.unroll(cell, weights, inputs)
            loss = (((h * readout[:, None, :]).sum(-1) - target) ** 2).mean(1)
            loss.sum().backward()
            optimizer.zero_grad()  # the bug: the gradient is gone before the step
            optimizer.step()
            fractions.append(stats["saturated"])
            losses.append(loss.detach())
        return {"saturated": torch.stack(fractions, dim=1), "loss": torch.stack(losses, dim=1)}
    monkeypatch.setattr(module, "train", train)


# bug name -> (plant, overrides of the quick profile)
MUTATIONS = {
    "saturation counted on one side": (one_sided, {}),
    "threshold applied to the pre-activation": (threshold_on_pre_activation, {}),
    "weight scale ignored": (scale_ignored, {}),
    "weight scale applied twice": (scale_applied_twice, {}),
    "sigmoid slope taken as tanh's": (tanh_derivative, {}),
    "sigmoid slope taken as 1/2": (slope_taken_as_a_half, {}),
    "hidden state not fed back": (hidden_state_not_fed_back, TRAINING),
    "optimizer never steps": (optimizer_never_steps, TRAINING),
}


def gate_order_swapped(monkeypatch, module):
    """LSTM rows read as (i, g, f, o) instead of PyTorch's (i, f, g, o)."""
    step = module.lstm_step

    def lstm_step(w, x, h, c):
        swap = torch.cat([torch.arange(0, 1), torch.arange(2, 3), torch.arange(1, 2),
                          torch.arange(3, 4)])
        hidden = h.shape[-1]
        rows = (swap[:, None] * hidden + torch.arange(hidden)).flatten()
        return step({name: v[:, rows] for name, v in w.items()}, x, h, c)
    monkeypatch.setitem(module.STEPS, "lstm", lstm_step)


def gru_convention_swapped(monkeypatch, module):
    """Chung et al.'s h = z n + (1 - z) h in place of PyTorch's (1 - z) n + z h."""
    step = module.gru_step

    def gru_step(w, x, h, c):
        flipped = {name: v.clone() for name, v in w.items()}
        hidden = h.shape[-1]
        for name in flipped:  # z -> 1 - z is sigma(-a): negate the update gate's rows
            flipped[name][:, hidden:2 * hidden] *= -1
        new_h, c, pre = step(flipped, x, h, c)
        return new_h, c, pre
    monkeypatch.setitem(module.STEPS, "gru", gru_step)


# A relabelled gate is the same random draw: every statistic has the same distribution, so
# only the comparison with torch.nn's cells (a sanity claim) sees these.
SANITY_ONLY = {
    "gate order (i, f, g, o) swapped to (i, g, f, o)": (gate_order_swapped,
                                                        "cell-matches-pytorch-lstm"),
    "GRU convention z and 1 - z swapped": (gru_convention_swapped, "cell-matches-pytorch-gru"),
}


@pytest.fixture
def module():
    return topic4_module("gate_saturation")


@pytest.mark.parametrize("overrides", [{}, TRAINING], ids=["quick", "training judged"])
def test_without_a_bug_every_claim_holds(overrides):
    result = run_experiment(NAME, "quick", **overrides)
    assert [c.id for c in result.claims if c.passed is False] == []
    judged = {c.id for c in result.claims if c.passed is True and c.kind == "evidence"}
    if overrides:
        assert "trained-gates-saturate-gru" in judged
    else:
        assert {"saturation-floor-lstm", "slope-ceiling-gru", "first-step-gaussian-lstm"} <= judged


@pytest.mark.planted_bug("topic4", "gate-saturation", "evidence")
@pytest.mark.parametrize(("plant", "overrides"), MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(monkeypatch, module, plant, overrides):
    plant(monkeypatch, module)
    result = run_experiment(NAME, "quick", **overrides)
    caught = evidence_failed(result)
    assert caught, [(c.id, c.kind, c.verdict, c.measured) for c in result.claims]


@pytest.mark.planted_bug("topic4", "gate-saturation", "sanity")
@pytest.mark.parametrize(("plant", "claim"), SANITY_ONLY.values(), ids=SANITY_ONLY.keys())
def test_a_relabelled_gate_fails_the_pytorch_comparison(monkeypatch, module, plant, claim):
    plant(monkeypatch, module)
    result = run_experiment(NAME, "quick", train_steps=1)
    verdicts = {c.id: (c.passed, c.kind) for c in result.claims}
    assert verdicts[claim] == (False, "sanity")
