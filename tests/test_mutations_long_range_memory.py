"""Planted bugs in long-range-memory: each must make an evidence claim fail at the quick profile.

A bug is planted by recompiling one function of the experiment module with a line changed
(`mutate`), so the mutant is the real code with exactly one plausible mistake in it, and
the runner, which uses the same module object, runs it.
"""

from __future__ import annotations

import pytest

from conftest import evidence_failed, mutate, run_experiment, topic4_module

lrm = topic4_module("long_range_memory")


# The gradients' reach is measured at initialisation, so a bug in the recurrent models needs
# no training: one step keeps the run short (attention-short is then not judged).
NO_TRAINING = {"steps": 1}
FORGET_LINE = 'w["bias_ih_l0"][hidden:2 * hidden] = FORGET_BIAS'


def forget_bias_ignored(monkeypatch, module):
    mutate(monkeypatch, module, "init_weights", FORGET_LINE, "pass")
    return NO_TRAINING


def forget_bias_in_the_input_gate(monkeypatch, module):
    # PyTorch's gate order is (i, f, g, o): [0:H] is the input gate.
    mutate(monkeypatch, module, "init_weights", FORGET_LINE,
           'w["bias_ih_l0"][:hidden] = FORGET_BIAS')
    return NO_TRAINING


def weights_not_scaled_by_width(monkeypatch, module):
    # U(-1, 1) for every recurrent weight: the 1/sqrt(H) of PyTorch's init dropped.
    mutate(monkeypatch, module, "init_weights", "h_bound = 1.0 / math.sqrt(hidden)",
           "h_bound = 1.0")
    return {**NO_TRAINING, "models": "rnn"}


def softmax_over_the_batch(monkeypatch, module):
    mutate(monkeypatch, module, "attention_forward", "torch.softmax(scores, dim=-1)",
           "torch.softmax(scores, dim=1)")
    return {"models": "attention"}


MUTATIONS = {
    "forget bias ignored": forget_bias_ignored,
    "forget bias written into the input gate's slice": forget_bias_in_the_input_gate,
    "recurrent weights U(-1, 1), the 1/sqrt(H) dropped": weights_not_scaled_by_width,
    "attention softmax over the batch instead of the steps": softmax_over_the_batch,
}
# Not caught, and rightly: attention without its softmax. An unnormalised readout
# sum_t (q . k_t) v_t can represent y = u_a + u_b exactly (score b m_t, value d u_t) and
# learns it at T = 20 as fast as the softmax does, so no measurement of the task can tell;
# tests/test_exp_long_range_memory.py compares the readout with scaled_dot_product_attention.


def double_forget_bias(monkeypatch, module):
    # The double-bias trap: PyTorch adds bias_ih and bias_hh, so 1 in both is 2.
    mutate(monkeypatch, module, "init_weights", FORGET_LINE,
           FORGET_LINE.replace(" = ", ' = w["bias_hh_l0"][hidden:2 * hidden] = '))
    return NO_TRAINING


def target_is_the_mean(monkeypatch, module):
    mutate(monkeypatch, module, "adding_batch", "ys.append((values * markers).sum(1))",
           "ys.append((values * markers).sum(1) / 2)")
    return NO_TRAINING


def hs97_values_in_zero_one(monkeypatch, module):
    # The variants mixed up: Arjovsky et al.'s U[0, 1] values in Hochreiter and Schmidhuber's task.
    mutate(monkeypatch, module, "hs97_constant_prediction", "device=ctx.device) * 2 - 1",
           "device=ctx.device)")
    return NO_TRAINING


# Bugs only a sanity claim catches. With forget bias 2 the LSTM's gradient reaches further
# (r = 0.95), which no evidence claim forbids: the lower bound sigmoid(b_f) still holds. The
# target u_a + u_b halved is a different task, as learnable as the right one.
SANITY_MUTATIONS = {
    "forget bias written into both biases (2, not 1)": double_forget_bias,
    "target is the mean of the two marked values": target_is_the_mean,
    "HS97 variant's values drawn from U[0, 1]": hs97_values_in_zero_one,
}


@pytest.mark.planted_bug("topic4", "long-range-memory", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_planted_bug_fails_an_evidence_claim(monkeypatch, plant):
    overrides = plant(monkeypatch, lrm)
    result = run_experiment("long-range-memory", "quick", **overrides)
    caught = evidence_failed(result)
    assert caught, [(c.id, c.verdict, c.measured) for c in result.claims]


@pytest.mark.planted_bug("topic4", "long-range-memory", "sanity")
@pytest.mark.parametrize("plant", SANITY_MUTATIONS.values(), ids=SANITY_MUTATIONS.keys())
def test_planted_bug_fails_a_sanity_claim(monkeypatch, plant):
    overrides = plant(monkeypatch, lrm)
    result = run_experiment("long-range-memory", "quick", **overrides)
    caught = [c.id for c in result.claims if c.passed is False and c.kind == "sanity"]
    assert caught, [(c.id, c.verdict, c.measured) for c in result.claims]


def test_without_a_bug_every_claim_holds():
    result = run_experiment("long-range-memory", "quick")
    assert [(c.id, c.kind, c.verdict) for c in result.claims] == [
        ("baseline", "sanity", "holds"), ("hs97-floor", "sanity", "holds"),
        ("forget-bias", "sanity", "holds"),
        ("rnn-gradient-vanishes", "evidence", "holds"),
        ("lstm-gradient-reach", "evidence", "holds"),
        ("attention-short", "evidence", "holds"),
        ("rnn-T100", "evidence", "not judged"), ("rnn-T10", "evidence", "not judged"),
        ("lstm-T100", "evidence", "not judged"), ("gru-T100", "evidence", "not judged"),
        ("attention-T100", "evidence", "not judged")]


@pytest.mark.parametrize("overrides", [NO_TRAINING, {**NO_TRAINING, "models": "rnn"},
                                       {"models": "attention"}])
def test_without_a_bug_the_small_runs_hold_too(overrides):
    """The shrunken runs the bugs are planted in pass their judged claims when the code is right."""
    result = run_experiment("long-range-memory", "quick", **overrides)
    judged = [c for c in result.claims if c.passed is not None]
    assert any(c.kind == "evidence" for c in judged)
    assert all(c.passed for c in judged), judged
