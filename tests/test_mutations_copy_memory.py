"""Planted bugs in copy-memory: each must make a claim of its kind fail at the quick profile.

A bug is planted by recompiling one function of the experiment module with a line changed
(`mutate`), so the mutant is the real code with exactly one plausible mistake in it.
"""

from __future__ import annotations

import pytest

from conftest import evidence_failed, mutate, run_experiment, topic4_module

cm = topic4_module("copy_memory")
LOSS = "F.cross_entropy(logits.flatten(0, 1), targets.flatten())"


def loss_over_the_copy_steps_only(monkeypatch, module):
    # The loss of the last N outputs: the same model, on a scale where the baseline is ln K.
    mutate(monkeypatch, module, "seed_losses", "mean_cross_entropy(logits, targets[s])",
           "mean_cross_entropy(logits[:, -10:], targets[s][:, -10:])")


def one_symbol_never_drawn(monkeypatch, module):
    # randint's upper end is exclusive: symbols 1 to K - 1, an easier task than the one scored.
    mutate(monkeypatch, module, "copy_batch", "torch.randint(1, symbols + 1,",
           "torch.randint(1, symbols,")


def symbols_repeated_on_the_copy_steps(monkeypatch, module):
    # A teacher-forcing leak: the copy steps' inputs hold the very symbols they must output.
    mutate(monkeypatch, module, "copy_batch", "targets[:, T + length:] = drawn",
           "targets[:, T + length:] = inputs[:, T + length:] = drawn")


MUTATIONS = {
    "loss averaged over the last N outputs only": loss_over_the_copy_steps_only,
    "symbols drawn from 1 to K - 1": one_symbol_never_drawn,
    "the symbols leak into the copy steps' inputs": symbols_repeated_on_the_copy_steps,
}


def symbols_due_a_step_early(monkeypatch, module):
    mutate(monkeypatch, module, "copy_batch", "targets[:, T + length:] = drawn",
           "targets[:, T + length - 1:-1] = drawn")


def loss_summed_over_the_steps(monkeypatch, module):
    # Each sequence's total instead of the mean over its T + 2N outputs.
    mutate(monkeypatch, module, "mean_cross_entropy", LOSS,
           'F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")'
           " / logits.shape[0]")


def delimiter_over_the_last_symbol(monkeypatch, module):
    # An index off by T. Not caught by the evidence claim at every seed: every sequence has
    # the same length, so the LSTM can count its way to the copy steps instead (1.02 to 1.20
    # of the baseline at the quick profile, seeds 0 to 11).
    mutate(monkeypatch, module, "copy_batch", "inputs[:, T + length - 1] = symbols + 1",
           "inputs[:, length - 1] = symbols + 1")


def delimiter_a_step_late(monkeypatch, module):
    mutate(monkeypatch, module, "copy_batch", "inputs[:, T + length - 1] = symbols + 1",
           "inputs[:, T + length] = symbols + 1")


def symbols_never_written_into_the_inputs(monkeypatch, module):
    mutate(monkeypatch, module, "copy_batch", "inputs[:, :length] = drawn",
           "inputs[:, :length] = BLANK")


def targets_drawn_apart_from_the_inputs(monkeypatch, module):
    mutate(monkeypatch, module, "copy_batch", "targets[:, T + length:] = drawn",
           "targets[:, T + length:] = torch.randint(1, symbols + 1, (batch, length), "
           "generator=gen, device=device)")


def symbols_due_in_reverse(monkeypatch, module):
    mutate(monkeypatch, module, "copy_batch", "targets[:, T + length:] = drawn",
           "targets[:, T + length:] = drawn.flip(1)")


# Each leaves a task with nothing to remember, or the wrong thing: a model that learns no
# memory sits on the baseline whatever the data hold, so only the predictor that reads the
# symbols back (which must score exactly 0) tells.
SANITY_MUTATIONS = {
    "symbols due a step early, at the delimiter": symbols_due_a_step_early,
    "loss summed over the steps of a sequence": loss_summed_over_the_steps,
    "delimiter written over the last symbol": delimiter_over_the_last_symbol,
    "delimiter a step late": delimiter_a_step_late,
    "symbols never written into the inputs": symbols_never_written_into_the_inputs,
    "targets drawn apart from the inputs": targets_drawn_apart_from_the_inputs,
    "symbols due in reverse order": symbols_due_in_reverse,
}


def symbols_hidden_from_the_model(monkeypatch, module):
    # The model is fed blanks where the symbols are: it learns the timing as well as ever and
    # sits on the baseline, so the plateau claim holds; only the positive control, which
    # must go below the line, tells that nothing could ever be copied.
    mutate(monkeypatch, module, "seed_losses", "F.one_hot(inputs[s], symbols + 2)",
           "F.one_hot(inputs[s].where(inputs[s] > symbols, 0), symbols + 2)")


@pytest.mark.planted_bug("topic4", "copy-memory", "evidence")
def test_a_model_that_cannot_see_the_symbols_fails_the_positive_control(monkeypatch):
    symbols_hidden_from_the_model(monkeypatch, cm)
    result = run_experiment("copy-memory", "quick", control_delay=5, control_steps=1500)
    assert evidence_failed(result) == ["copies-at-short-delay"], [
        (c.id, c.verdict, c.measured) for c in result.claims]


@pytest.mark.planted_bug("topic4", "copy-memory", "evidence")
@pytest.mark.parametrize("plant", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_planted_bug_fails_an_evidence_claim(monkeypatch, plant):
    plant(monkeypatch, cm)
    result = run_experiment("copy-memory", "quick")
    assert evidence_failed(result), [(c.id, c.verdict, c.measured) for c in result.claims]


@pytest.mark.planted_bug("topic4", "copy-memory", "sanity")
@pytest.mark.parametrize("plant", SANITY_MUTATIONS.values(), ids=SANITY_MUTATIONS.keys())
def test_planted_bug_fails_a_sanity_claim(monkeypatch, plant):
    plant(monkeypatch, cm)
    result = run_experiment("copy-memory", "quick", steps=2)
    caught = [c.id for c in result.claims if c.passed is False and c.kind == "sanity"]
    assert caught, [(c.id, c.verdict, c.measured) for c in result.claims]
