"""cell-highway: planted bugs that an evidence claim must catch at the quick profile.

Each entry of MUTATIONS plants one plausible bug in the experiment module (a student's slip or
a careless refactor) with monkeypatch; the run must then fail at least one *evidence* claim.
SANITY_ONLY lists bugs in the exact zero-weight checks, which are identities of PyTorch's
cells: only their sanity claims can see them.
"""

from __future__ import annotations

import math

import pytest
import torch

from conftest import evidence_failed, run_experiment, topic4_module

NAME = "cell-highway"


def _writes_bias(monkeypatch, module, rows, factor=1.0):
    """set_forget_bias writing factor * b_f into block `rows` (0..3) of bias_ih."""
    def set_forget_bias(bias_ih, value):
        hidden = bias_ih.shape[0] // 4
        with torch.no_grad():
            bias_ih[rows * hidden:(rows + 1) * hidden] = factor * value
    monkeypatch.setattr(module, "set_forget_bias", set_forget_bias)


def bias_in_input_gate(monkeypatch, module):
    """Gate order taken as (f, i, g, o): b_f written into the input gate's slice [0:H]."""
    _writes_bias(monkeypatch, module, 0)


def bias_in_candidate(monkeypatch, module):
    """Gate order taken as (i, g, f, o): b_f written into the candidate's slice [2H:3H]."""
    _writes_bias(monkeypatch, module, 2)


def bias_counted_twice(monkeypatch, module):
    """The double-bias trap in the experiment itself: b_f in bias_ih and bias_hh, 2 b_f."""
    _writes_bias(monkeypatch, module, 1, factor=2.0)


def bias_ignored(monkeypatch, module):
    """set_forget_bias lost in a refactor: every run keeps the drawn forget bias."""
    monkeypatch.setattr(module, "set_forget_bias", lambda bias_ih, value: None)


def decay_over_all_steps(monkeypatch, module):
    """The per-step decay's root taken over T steps, not the T - T/3 the ratio spans."""
    def per_step_decay(norms, steps):
        start = round(module.FIT_START_FRACTION * steps)
        return (norms[:, steps] / norms[:, start]) ** (1 / steps)
    monkeypatch.setattr(module, "per_step_decay", per_step_decay)


def distances_reversed(monkeypatch, module):
    """The gradients stacked in time order, not flipped: index k is distance T - k."""
    measure = module.distance_jacobian_norms
    monkeypatch.setattr(module, "distance_jacobian_norms",
                        lambda cell, inputs, warmup: measure(cell, inputs, warmup).flip(0))


def init_one_sided(monkeypatch, module):
    """PyTorch's init drawn as U(0, 1/sqrt(H)) instead of U(-1/sqrt(H), 1/sqrt(H))."""
    def default_cell(cell, hidden, gen, device):
        kind = {"lstm": torch.nn.LSTMCell, "rnn": torch.nn.RNNCell}[cell]
        built = module.build(kind, hidden, device)
        with torch.no_grad():
            for weight in built.parameters():
                weight.uniform_(0, 1 / math.sqrt(hidden), generator=gen)
        return built
    monkeypatch.setattr(module, "default_cell", default_cell)


MUTATIONS = {
    "forget bias in the input gate's slice": bias_in_input_gate,
    "gate order (i, f, g, o) taken as (i, g, f, o)": bias_in_candidate,
    "forget bias counted twice": bias_counted_twice,
    "forget bias ignored": bias_ignored,
    "per-step root over the wrong span": decay_over_all_steps,
    "distances reversed": distances_reversed,
    "one-sided default init": init_one_sided,
}


def zero_weight_bias_misplaced(monkeypatch, module):
    """The zero-weight check writes b into slice [0:H], reading PyTorch's (r, z, n) as
    (z, r, n) and the LSTM's (i, f, g, o) as (f, i, g, o)."""
    gain = module.zero_weight_gain

    def zero_weight_gain(cell, hidden, steps, bias, device, also_bias_hh=False):
        # A bias in the input/reset slice leaves the forget/update gate at sigmoid(0).
        return gain(cell, hidden, steps, 0.0, device, also_bias_hh)
    monkeypatch.setattr(module, "zero_weight_gain", zero_weight_gain)


# The zero-weight measurements feed only the exact (sanity) claims, by design: they check
# PyTorch's cells against identities, with nothing left to measure.
SANITY_ONLY = {
    "zero-weight check writes the wrong slice": (zero_weight_bias_misplaced,
                                                 ("lstm-zero-weights-exact",
                                                  "gru-zero-weights-exact")),
}

# Not caught: PyTorch's bound taken as 1/H instead of 1/sqrt(H). The smaller weights move the
# default-init decays towards sigmoid(b_f) and keep every order relation, and no theory pins
# the default-init decay more tightly than those relations.


@pytest.fixture
def module():
    return topic4_module("cell_highway")


def test_without_a_bug_every_claim_holds():
    result = run_experiment(NAME, "quick")
    assert [c.id for c in result.claims if c.passed is not True] == []


@pytest.mark.planted_bug("topic4", "cell-highway", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_a_planted_bug_fails_an_evidence_claim(monkeypatch, module, plant):
    plant(monkeypatch, module)
    result = run_experiment(NAME, "quick")
    caught = evidence_failed(result)
    assert caught, [(c.id, c.kind, c.verdict, c.measured) for c in result.claims]


@pytest.mark.planted_bug("topic4", "cell-highway", "sanity")
@pytest.mark.parametrize(("plant", "claims"), SANITY_ONLY.values(), ids=SANITY_ONLY.keys())
def test_a_wrong_exact_check_fails_its_sanity_claims(monkeypatch, module, plant, claims):
    plant(monkeypatch, module)
    result = run_experiment(NAME, "quick")
    verdicts = {c.id: (c.passed, c.kind) for c in result.claims}
    assert all(verdicts[claim] == (False, "sanity") for claim in claims)
