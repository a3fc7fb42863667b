"""gradient-decay under planted bugs: each must fail an evidence claim."""

from __future__ import annotations

import math

import pytest
import torch

from conftest import evidence_failed, run_experiment, topic4_module

gd = topic4_module("gradient_decay")


def gaussian_q(monkeypatch):
    """The linear RNN's Q drawn Gaussian instead of Haar-orthogonal."""
    monkeypatch.setattr(gd, "haar_orthogonal", lambda n, gen, dtype, device: torch.randn(
        (n, n), generator=gen, dtype=dtype, device=device) / math.sqrt(n))


def lstm_without_cell_path(monkeypatch):
    """The LSTM's cell state forgets everything each step: c_t = i * g, no f * c_{t-1}."""
    def step(w, x, h, c):
        gates = gd.batched_linear(w["w_ih"], x, w["b_ih"]) + gd.batched_linear(
            w["w_hh"], h, w["b_hh"])
        i, _, g, o = gates.chunk(4, dim=1)
        c_next = torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_next), c_next
    monkeypatch.setitem(gd.STEPS, "lstm", step)


def init_three_times_too_large(monkeypatch):
    """Recurrent weights drawn from U(+-3/sqrt(H)) instead of PyTorch's U(+-1/sqrt(H))."""
    init = gd.init_weights

    def larger(cell, *args):
        weights = init(cell, *args)
        if cell != "linear":
            weights["w_hh"] = weights["w_hh"] * 3
        return weights
    monkeypatch.setattr(gd, "init_weights", larger)


def norm_taken_in_float32(monkeypatch):
    """The gradient norm squared in the run's dtype: in float32, squares of entries below
    ~1e-23 underflow, so the norm fakes an early cut long before 2^-149."""
    def gradients(cell, weights, inputs, readout):
        h = torch.zeros_like(readout, requires_grad=True)
        c = torch.zeros_like(h)
        states = []
        for t in range(inputs.shape[1]):
            h, c = gd.STEPS[cell](weights, inputs[:, t], h, c)
            states.append(h)
        grads = torch.autograd.grad((readout * states[-1]).sum(), states)
        return torch.stack([g.norm(dim=1) for g in grads], dim=1)
    monkeypatch.setattr(gd, "hidden_state_gradients", gradients)


def tanh_dropped(monkeypatch):
    """The tanh RNN without its tanh: at default init it still vanishes, at about the same
    rate; only tanh-share, which predicts how much of the decay tanh' makes, can tell."""
    monkeypatch.setitem(gd.STEPS, "rnn", gd.linear_step)


MUTATIONS = {"linear RNN's Q Gaussian, not orthogonal": gaussian_q,
             "LSTM cell path cut (no f * c)": lstm_without_cell_path,
             "recurrent init three times too large": init_three_times_too_large,
             "gradient norm squared in float32": norm_taken_in_float32,
             "tanh dropped from the RNN step": tanh_dropped}
# Parameters a mutation is judged at, where the defaults cannot show it.
SETTINGS = {"gradient norm squared in float32": {"cells": "linear", "rho": 0.5, "T": 200,
                                                 "dtype": "float32"}}



def test_without_a_bug_every_claim_holds():
    result = run_experiment("gradient-decay", "quick")
    assert all(c.passed for c in result.claims), result.claims


@pytest.mark.planted_bug("topic4", "gradient-decay", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(plant, monkeypatch, request):
    plant(monkeypatch)
    settings = SETTINGS.get(request.node.callspec.id, {})
    assert evidence_failed(run_experiment("gradient-decay", "quick", **settings))
